#include "guard/validate.h"

namespace rampart::guard {

// Java Edition handshake (wiki.vg "Handshake"): varint packet length, varint packet id 0x00,
// varint protocol version, string server address (varint length, at most 255 UTF-16 units, so
// 1020 bytes of UTF-8 plus Forge's "\0FML\0" marker), unsigned short port, varint next state
// (1 status, 2 login, 3 transfer). The packet must end exactly where its length says. Clients
// before 1.7 send the legacy server list ping 0xFE 0x01 instead.
Validation validate_minecraft(const uint8_t* p, size_t n) {
  if (n == 0) return Validation::kNeedMore;
  if (p[0] == 0xFE) {
    if (n < 2) return Validation::kNeedMore;
    return p[1] == 0x01 ? Validation::kPass : Validation::kFail;
  }
  size_t off = 0;
  uint32_t packet_len = 0;
  Validation r = detail::read_varint(p, n, &off, 3, &packet_len);
  if (r != Validation::kPass) return r;
  if (packet_len < 7 || packet_len > 1050) return Validation::kFail;
  const size_t start = off;
  uint32_t id = 0;
  if ((r = detail::read_varint(p, n, &off, 1, &id)) != Validation::kPass) return r;
  if (id != 0) return Validation::kFail;
  uint32_t version = 0;
  if ((r = detail::read_varint(p, n, &off, 5, &version)) != Validation::kPass) return r;
  uint32_t addr_len = 0;
  if ((r = detail::read_varint(p, n, &off, 2, &addr_len)) != Validation::kPass) return r;
  if (addr_len == 0 || addr_len > 1030) return Validation::kFail;
  if (off - start + addr_len + 3 > packet_len) return Validation::kFail;
  for (uint32_t i = 0; i < addr_len; ++i) {
    if (off + i >= n) return Validation::kNeedMore;
    // Host names and IP literals; Forge/BungeeCord append \0-separated markers.
    if (p[off + i] < 0x20 && p[off + i] != 0) return Validation::kFail;
  }
  off += addr_len + 2;  // + port
  if (off > n) return Validation::kNeedMore;
  uint32_t next = 0;
  if ((r = detail::read_varint(p, n, &off, 1, &next)) != Validation::kPass) return r;
  if (next < 1 || next > 3) return Validation::kFail;
  return off - start == packet_len ? Validation::kPass : Validation::kFail;
}

}  // namespace rampart::guard
