#include <iterator>

#include "guard/declarations.h"
#include "xdp/loader.h"
#include "xdp/shared_types.h"

namespace rampart::xdp {

namespace {

// The guard reason of each drop counter slot of the XDP program: its twin.
struct Twin {
  rxdp_counter slot;
  guard::Reason reason;
};
constexpr Twin kTwins[] = {
    {RXDP_DROP_BANNED, guard::Reason::kBanned},
    {RXDP_DROP_BLOCK_IP, guard::Reason::kBlockIp},
    {RXDP_DROP_REFLECTION, guard::Reason::kReflection},
    {RXDP_DROP_SYN_RATE, guard::Reason::kRateLimit},
    {RXDP_DROP_UDP_RATE, guard::Reason::kUdpRateLimit},
};

consteval bool twins_are_declared() {
  for (const Twin& t : kTwins)
    if (!guard::reason_has_xdp_twin(t.reason)) return false;
  for (size_t i = 0; i < std::size(kTwins); ++i)
    for (size_t j = i + 1; j < std::size(kTwins); ++j)
      if (kTwins[i].slot == kTwins[j].slot || kTwins[i].reason == kTwins[j].reason) return false;
  return true;
}
// The guard's declarations say which reasons have an XDP twin (ReasonDecl::xdp_twin); the
// program has exactly one drop counter for each, and two more (pass, whitelisted).
static_assert(twins_are_declared(), "an XDP drop counter for a reason not declared as a twin");
static_assert(std::size(kTwins) == guard::xdp_twin_count(),
              "a guard reason declared with an XDP twin has no counter slot here");
static_assert(RXDP_COUNTER_MAX == guard::xdp_twin_count() + 2,
              "rxdp_counter: pass, whitelisted and one drop slot per twin");

uint64_t slot_value(const Counters& c, rxdp_counter slot) {
  switch (slot) {
    case RXDP_DROP_BANNED:
      return c.banned;
    case RXDP_DROP_BLOCK_IP:
      return c.block_ip;
    case RXDP_DROP_REFLECTION:
      return c.reflection;
    case RXDP_DROP_SYN_RATE:
      return c.syn_rate;
    case RXDP_DROP_UDP_RATE:
      return c.udp_rate;
    case RXDP_PASS:
      return c.passed;
    case RXDP_WHITELISTED:
      return c.whitelisted;
    case RXDP_COUNTER_MAX:
      break;
  }
  return 0;
}

}  // namespace

uint64_t Counters::drops(guard::Reason r) const {
  for (const Twin& t : kTwins)
    if (t.reason == r) return slot_value(*this, t.slot);
  return 0;
}

uint64_t Counters::total_drops() const {
  uint64_t n = 0;
  for (const Twin& t : kTwins) n += slot_value(*this, t.slot);
  return n;
}

}  // namespace rampart::xdp
