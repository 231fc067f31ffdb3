// Table-full handling: when the worker's SourceTable cannot hold a new source (every entry has
// open connections, SourceTable::get), the filter that needed the entry drops for table_full
// (Call::source). It has no hook of its own: this is its declaration (dry-run key `table`).
#pragma once

#include "guard/filter.h"

namespace rampart::guard::table {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kTableFull, "table_full", "TABLE_FULL", false},
};
inline constexpr FilterDecl kDecl{FilterId::kTable, kReasons, 0, false, false};

}  // namespace rampart::guard::table
