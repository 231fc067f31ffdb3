#include "guard/reuseport.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rampart::guard {

namespace {

constexpr uint32_t kMix = 0x45d9f3b;

sock_filter stmt(uint16_t code, uint32_t k) {
  return BPF_STMT(code, k);
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

uint32_t mix(uint32_t a) {
  a ^= a >> 16;
  a *= kMix;
  a ^= a >> 16;
  return a;
}

// The masks of the first two 32-bit words of an IPv6 source: the steering key is at most its
// /64 (a longer source prefix still lands whole on one worker), shorter when v6_prefix is.
uint32_t word_mask(int v6_prefix, int word) {
  const int bits = std::clamp(std::min(v6_prefix, 64) - 32 * word, 0, 32);
  return bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
}

}  // namespace

std::vector<sock_filter> steering_program(unsigned workers, int v6_prefix) {
  const uint32_t net = static_cast<uint32_t>(SKF_NET_OFF);
  std::vector<sock_filter> p;
  p.push_back(stmt(BPF_LD | BPF_B | BPF_ABS, net + 0));                   // 0: version / IHL
  p.push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, 4));                        // 1
  p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 2));                  // 2: IPv4? else 5
  p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, net + 12));                  // 3: saddr
  p.push_back(stmt(BPF_JMP | BPF_JA, 6));                                 // 4: -> 11
  p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, net + 8));                   // 5: saddr[0]
  p.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, word_mask(v6_prefix, 0)));  // 6
  p.push_back(stmt(BPF_MISC | BPF_TAX, 0));                               // 7
  p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, net + 12));                  // 8: saddr[1]
  p.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, word_mask(v6_prefix, 1)));  // 9
  p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));                        // 10
  // 11: A ^= A >> 16; A *= kMix; A ^= A >> 16; A %= workers
  p.push_back(stmt(BPF_MISC | BPF_TAX, 0));
  p.push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, 16));
  p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
  p.push_back(stmt(BPF_ALU | BPF_MUL | BPF_K, kMix));
  p.push_back(stmt(BPF_MISC | BPF_TAX, 0));
  p.push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, 16));
  p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
  p.push_back(stmt(BPF_ALU | BPF_MOD | BPF_K, workers > 0 ? workers : 1));
  p.push_back(stmt(BPF_RET | BPF_A, 0));
  return p;
}

unsigned steering_index(const unsigned char* addr, size_t len, unsigned workers, int v6_prefix) {
  auto word = [&](size_t off) {
    return uint32_t{addr[off]} << 24 | uint32_t{addr[off + 1]} << 16 |
           uint32_t{addr[off + 2]} << 8 | addr[off + 3];
  };
  uint32_t a = len == 4 ? word(0)
                        : (word(0) & word_mask(v6_prefix, 0)) ^ (word(4) & word_mask(v6_prefix, 1));
  return mix(a) % (workers > 0 ? workers : 1);
}

bool attach_steering(int fd, unsigned workers, std::string* error, int v6_prefix) {
  std::vector<sock_filter> prog = steering_program(workers, v6_prefix);
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) != 0) {
    *error = std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void detach_steering(int fd) {
  int unused = 0;
  setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &unused, sizeof unused);
}

}  // namespace rampart::guard
