#include "xdp/loader.h"

namespace rampart::xdp {

uint64_t Counters::drops(guard::Reason r) const {
  switch (r) {
    case guard::Reason::kBanned:
      return banned;
    case guard::Reason::kBlockIp:
      return block_ip;
    case guard::Reason::kReflection:
      return reflection;
    case guard::Reason::kRateLimit:
      return syn_rate;
    case guard::Reason::kUdpRateLimit:
      return udp_rate;
    default:
      return 0;
  }
}

}  // namespace rampart::xdp
