#include "guard/reflection/reflection.h"

#include "guard/policy.h"

namespace rampart::guard::reflection {

bool ReflectionFilter::configured(const AppPolicy& p) const {
  return p.proto == config::Proto::kUdp && p.has_reflection_ports;
}

Verdict ReflectionFilter::on_datagram(Call& c) const {
  if (!c.p.reflection_ports.test(c.src_port)) return Verdict::kContinue;
  c.reason = Reason::kReflection;
  return Verdict::kDrop;
}

}  // namespace rampart::guard::reflection
