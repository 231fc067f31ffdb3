#include "guard/conn_limit/conn_limit.h"

#include "guard/guard.h"
#include "guard/policy.h"

namespace rampart::guard::conn_limit {

bool take_slot(std::atomic<int64_t>& count, uint64_t cap) {
  int64_t n = count.load(std::memory_order_relaxed);
  do {
    if (n >= static_cast<int64_t>(cap)) return false;
  } while (!count.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

bool ConnLimitFilter::configured(const AppPolicy& p) const {
  return p.proto == config::Proto::kTcp && (p.max_connections > 0 || p.per_ip.max_connections > 0);
}

bool ConnLimitFilter::keeps_source_state(const AppPolicy& p) const {
  return p.per_ip.max_connections > 0;
}

Verdict ConnLimitFilter::on_accept(Call& c) const {
  const AppPolicy& p = c.p;
  if (p.max_connections > 0) {
    if (!take_slot(*p.connections, p.max_connections)) {
      c.reason = Reason::kAppConnLimit;
      return Verdict::kDrop;
    }
    c.admission->tracked_app = true;  // Guard::admit gives it back if a later filter drops
  }
  if (c.allowed_rest || p.per_ip.max_connections == 0) return Verdict::kContinue;
  SourceEntry* e = nullptr;
  if (Verdict v = c.source(&e); v != Verdict::kContinue || e == nullptr) return v;
  if (e->conns < p.per_ip.max_connections) return Verdict::kContinue;
  c.violation(Reason::kConnLimit);
  c.reason = Reason::kConnLimit;
  return Verdict::kDrop;
}

}  // namespace rampart::guard::conn_limit
