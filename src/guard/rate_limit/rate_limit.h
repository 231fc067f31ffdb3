// Per-source rates: new TCP connections (per_ip.new_connections_per_second / burst) and UDP
// datagrams (per_ip.udp_packets_per_second / udp_burst), token buckets in the source's
// SourceTable entry. A refusal is an autoban violation. Stateless; any worker thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::rate_limit {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kRateLimit, "rate_limit", "RATE_LIMIT", true},
    {Reason::kUdpRateLimit, "udp_rate_limit", "UDP_RATE_LIMIT", true},
};
inline constexpr FilterDecl kDecl{FilterId::kRateLimit, kReasons, kOnAccept | kOnDatagram, true,
                                  false};

class RateLimitFilter final : public Filter {
 public:
  constexpr RateLimitFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy& p) const override;
  bool keeps_source_state(const AppPolicy& p) const override { return configured(p); }
  Verdict on_accept(Call& c) const override;
  Verdict on_datagram(Call& c) const override;
};

}  // namespace rampart::guard::rate_limit
