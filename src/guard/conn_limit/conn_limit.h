// Connection limits (TCP): the app's cap over every source and worker
// (protection.max_connections), taken with compare-and-swap so that N workers racing for the
// last slot never overshoot it (Envoy's connection_limit); and the per-source cap
// (per_ip.max_connections), exact per source because steering brings every connection of a
// source to one worker. The app cap still applies to whitelisted sources. Stateless; any worker
// thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::conn_limit {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kConnLimit, "conn_limit", "CONN_LIMIT", false},
    {Reason::kAppConnLimit, "app_conn_limit", "APP_CONN_LIMIT", false},
};
inline constexpr FilterDecl kDecl{FilterId::kConnLimit, kReasons, kOnAccept, true, true};

class ConnLimitFilter final : public Filter {
 public:
  constexpr ConnLimitFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy& p) const override;
  bool keeps_source_state(const AppPolicy& p) const override;
  Verdict on_accept(Call& c) const override;
};

// Takes one of `cap` slots of `count` (compare-and-swap); false when all are taken.
bool take_slot(std::atomic<int64_t>& count, uint64_t cap);

}  // namespace rampart::guard::conn_limit
