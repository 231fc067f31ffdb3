// Fuzzes decode_spp: it must never crash, and decode -> encode -> decode must be the identity.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/proxy_protocol.h"

using rampart::net::kSppHeaderLen;
using rampart::net::SppHeader;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> copy(data, data + size);
  SppHeader h;
  if (!rampart::net::decode_spp(copy.data(), copy.size(), &h)) {
    check(size < kSppHeaderLen || data[0] != 0x56 || data[1] != 0xEC);
    return 0;
  }
  check(size >= kSppHeaderLen);
  // IPv4-mapped addresses come back as IPv4.
  check(!(h.client.family() == AF_INET6 && h.client.ip().unmapped().is_v4()));
  check(!(h.edge.family() == AF_INET6 && h.edge.ip().unmapped().is_v4()));
  uint8_t buf[kSppHeaderLen];
  rampart::net::encode_spp(h.client, h.edge, buf);
  // The encoding is canonical, so the bytes themselves round-trip.
  check(std::memcmp(buf, data, kSppHeaderLen) == 0);
  SppHeader again;
  check(rampart::net::decode_spp(buf, sizeof buf, &again));
  check(again.client == h.client && again.edge == h.edge);
  check(again.client.family() == h.client.family() && again.edge.family() == h.edge.family());
  return 0;
}
