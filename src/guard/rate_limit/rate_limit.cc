#include "guard/rate_limit/rate_limit.h"

#include "guard/guard.h"
#include "guard/policy.h"

namespace rampart::guard::rate_limit {

namespace {

Verdict take(Call& c, TokenBucket SourceEntry::*bucket, uint32_t rate, uint32_t burst, Reason r) {
  SourceEntry* e = nullptr;
  if (Verdict v = c.source(&e); v != Verdict::kContinue || e == nullptr) return v;
  if ((e->*bucket).take(rate, burst, c.now_ms)) return Verdict::kContinue;
  c.violation(r);
  c.reason = r;
  return Verdict::kDrop;
}

}  // namespace

bool RateLimitFilter::configured(const AppPolicy& p) const {
  return p.proto == config::Proto::kTcp ? p.per_ip.new_connections_per_second > 0
                                        : p.per_ip.udp_packets_per_second > 0;
}

Verdict RateLimitFilter::on_accept(Call& c) const {
  const config::PerIpLimits& l = c.p.per_ip;
  return take(c, &SourceEntry::new_conns, l.new_connections_per_second, l.burst,
              Reason::kRateLimit);
}

Verdict RateLimitFilter::on_datagram(Call& c) const {
  const config::PerIpLimits& l = c.p.per_ip;
  return take(c, &SourceEntry::datagrams, l.udp_packets_per_second, l.udp_burst,
              Reason::kUdpRateLimit);
}

}  // namespace rampart::guard::rate_limit
