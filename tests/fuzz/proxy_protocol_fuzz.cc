// Fuzzes decode_proxy_header: it must never crash or read past `size`, a kOk header must fit in
// the input, and re-encoding a decoded PROXY header must decode to the same addresses.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/proxy_protocol.h"

using rampart::net::decode_proxy_header;
using rampart::net::DecodeStatus;
using rampart::net::ProxyHeader;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void round_trip(const ProxyHeader& h) {
  uint8_t buf[rampart::net::kProxyV2MaxLen];
  size_t n = h.version == 1 ? rampart::net::encode_proxy_v1(
                                  h.src, h.dst, reinterpret_cast<char*>(buf), sizeof buf)
                            : rampart::net::encode_proxy_v2(h.src, h.dst, h.dgram, buf, sizeof buf);
  check(n > 0);
  ProxyHeader again;
  check(decode_proxy_header(buf, n, &again) == DecodeStatus::kOk);
  check(again.version == h.version && again.local == h.local && again.dgram == h.dgram);
  check(again.src == h.src && again.dst == h.dst);
  check(again.src.family() == h.src.family() && again.dst.family() == h.dst.family());
  check(again.length == n);
  // Every strict prefix of a valid header is incomplete, never invalid.
  for (size_t i = 0; i < n; ++i)
    check(decode_proxy_header(buf, i, &again) == DecodeStatus::kIncomplete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into an exact-size heap buffer so ASan catches any over-read.
  std::vector<uint8_t> copy(data, data + size);
  ProxyHeader h;
  DecodeStatus st = decode_proxy_header(copy.data(), copy.size(), &h);
  if (st != DecodeStatus::kOk) return 0;
  check(h.length > 0 && h.length <= size);
  check(h.version == 1 || h.version == 2);
  // The header alone decodes the same way.
  ProxyHeader alone;
  check(decode_proxy_header(copy.data(), h.length, &alone) == DecodeStatus::kOk);
  check(alone.length == h.length && alone.local == h.local && alone.src == h.src &&
        alone.dst == h.dst);
  if (!h.local) round_trip(h);
  return 0;
}
