// UDP reflection: drops datagrams from the source ports of amplification protocols
// (protection.udp_reflection_ports: DNS 53, NTP 123, memcached 11211, ...). First in the
// datagram chain, so a whitelisted source is no exception. Stateless; any worker thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::reflection {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kReflection, "reflection", "REFLECTION", true},
};
inline constexpr FilterDecl kDecl{FilterId::kReflection, kReasons, kOnDatagram, false, false};

class ReflectionFilter final : public Filter {
 public:
  constexpr ReflectionFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy& p) const override;
  Verdict on_datagram(Call& c) const override;
};

}  // namespace rampart::guard::reflection
