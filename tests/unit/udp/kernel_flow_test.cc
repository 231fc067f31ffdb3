// kernel_relay's choice per path (udp/kernel_flow.h): off never, on always, auto where the
// kernel path measured faster (docs/kernel-relay-udp.md: over veth and on loopback).
#include "udp/kernel_flow.h"

#include <gtest/gtest.h>

namespace rampart::udp {
namespace {

TEST(KernelRelayChoice, OffNeverOnAlwaysAutoWhereMeasuredFaster) {
  for (bool client_lo : {false, true}) {
    for (bool origin_lo : {false, true}) {
      EXPECT_FALSE(relay_wanted(config::KernelRelay::kOff, client_lo, origin_lo));
      EXPECT_TRUE(relay_wanted(config::KernelRelay::kOn, client_lo, origin_lo));
      EXPECT_TRUE(relay_wanted(config::KernelRelay::kAuto, client_lo, origin_lo))
          << "measured faster: client on lo " << client_lo << ", origin on lo " << origin_lo;
    }
  }
}

}  // namespace
}  // namespace rampart::udp
