// Wire codecs for telling an origin who the client is: PROXY protocol v1 (text) and v2 (binary),
// as specified by haproxy's proxy-protocol.txt, and Cloudflare's Simple Proxy Protocol (SPP)
// for UDP. Pure functions over caller-owned buffers: any thread may call them, nothing allocates
// on the encode path and nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/ip_addr.h"

namespace rampart::net {

constexpr size_t kProxyV1MaxLen = 108;           // 107 bytes per the spec, plus room for a NUL
constexpr size_t kProxyV2MaxLen = 16 + 36 + 64;  // enough for addresses + a few TLVs
constexpr size_t kSppHeaderLen = 38;
constexpr uint16_t kSppMagic = 0x56EC;

// Writes "PROXY TCP4 src dst sport dport\r\n" (TCP6 for IPv6; if the families differ, IPv4 is
// written as ::ffff:a.b.c.d and TCP6 is used). An address that is neither IPv4 nor IPv6 yields
// "PROXY UNKNOWN\r\n". Returns bytes written, 0 if cap is too small.
size_t encode_proxy_v1(const SockAddr& client, const SockAddr& edge, char* out, size_t cap);

// v2 header, ver/cmd 0x21 (PROXY), family 0x11/0x21 for stream, 0x12/0x22 for dgram; mixed
// families are both written as IPv6 (v4-mapped). An address that is neither IPv4 nor IPv6
// yields a PROXY header with family UNSPEC and no address block. No TLVs are written.
// Returns bytes written, 0 if cap is too small.
size_t encode_proxy_v2(const SockAddr& client, const SockAddr& edge, bool dgram, uint8_t* out,
                       size_t cap);

enum class DecodeStatus { kOk, kIncomplete, kInvalid };

struct ProxyHeader {
  int version = 0;     // 1 or 2
  bool local = false;  // no addresses: v1 UNKNOWN, v2 LOCAL, or v2 PROXY with UNSPEC/UNIX family
  bool dgram = false;  // v2 transport DGRAM
  SockAddr src, dst;   // only meaningful when !local; addresses are as on the wire (not unmapped)
  size_t length = 0;   // bytes the header occupies, TLVs included
};

// Detects v1 or v2 from the first bytes and decodes one header at data[0]. kIncomplete when more
// bytes could still make it valid; kInvalid as soon as they cannot. *out is written only on kOk.
DecodeStatus decode_proxy_header(const uint8_t* data, size_t len, ProxyHeader* out);

// SPP: magic 0x56EC, client address (16 bytes, IPv4 as ::ffff:a.b.c.d), edge address (16),
// client port (2), edge port (2), all in network byte order: kSppHeaderLen bytes.
void encode_spp(const SockAddr& client, const SockAddr& edge, uint8_t* out /* kSppHeaderLen */);

struct SppHeader {
  SockAddr client, edge;
};

// False if len < kSppHeaderLen or the magic is wrong. IPv4-mapped addresses decode as IPv4.
bool decode_spp(const uint8_t* data, size_t len, SppHeader* out);

}  // namespace rampart::net
