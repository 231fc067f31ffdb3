// Spectrum's analytics `filters` grammar (events/summary, events/bytime): terms
// DIMENSION OPERATOR VALUE combined with AND (`;` or the keyword ` AND `) and OR (`,` or
// ` OR `), AND taking precedence over OR (developers.cloudflare.com/spectrum/reference/
// analytics). No parentheses: the result is an OR of ANDs. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::control {

// kStatus is Rampart's: the event's Spectrum status (0 on connect rows).
enum class Dimension { kEvent, kAppId, kColoName, kIpVersion, kStatus };
enum class FilterOp { kEq, kNe, kGt, kLt, kGe, kLe };

// Spectrum's dimension names ("event", "appID", "coloName", "ipVersion") and Rampart's "status",
// defined in
// analytics_query.cc with the rest of the query's vocabulary.
std::optional<Dimension> dimension_of(std::string_view name);
std::string dimension_names();  // "event, appID, coloName, ipVersion, status"

struct FilterTerm {
  Dimension dim;
  FilterOp op;
  std::string value;
  bool operator==(const FilterTerm&) const = default;
};

// OR of ANDs: the row passes when every term of at least one inner list matches.
using FilterExpr = std::vector<std::vector<FilterTerm>>;

// Parses `text`; false with *error (a sentence starting "filters: ") on a grammar error: an
// empty term, a term that is not DIMENSION OPERATOR VALUE, an unknown dimension, a value with
// spaces (a keyword in the wrong case, or a missing operator), ipVersion other than 4 or 6,
// status other than a number 0..999.
bool parse_filter_expr(std::string_view text, FilterExpr* out, std::string* error);

}  // namespace rampart::control
