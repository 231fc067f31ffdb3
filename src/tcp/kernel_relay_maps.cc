#include "tcp/kernel_relay_maps.h"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rampart::tcp {

namespace {

long bpf_call(int cmd, bpf_attr* attr) {
  return ::syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

int map_update(int map, const void* key, const void* value, uint64_t flags) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = static_cast<uint32_t>(map);
  a.key = reinterpret_cast<uint64_t>(key);
  a.value = reinterpret_cast<uint64_t>(value);
  a.flags = flags;
  return bpf_call(BPF_MAP_UPDATE_ELEM, &a) == 0 ? 0 : errno;
}

void map_delete(int map, const void* key) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = static_cast<uint32_t>(map);
  a.key = reinterpret_cast<uint64_t>(key);
  bpf_call(BPF_MAP_DELETE_ELEM, &a);
}

}  // namespace

uint64_t KernelRelayMaps::cookie_of(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return 0;
  return cookie;
}

KernelRelayMaps::Refusal KernelRelayMaps::add(int client_fd, int origin_fd, uint32_t worker,
                                              uint64_t* client_cookie, uint64_t* origin_cookie,
                                              int* err) {
  *err = 0;
  if (!valid()) return Refusal::kError;
  // Reserve the connection first: the kernel's own E2BIG would come after half of it is in.
  uint32_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used >= capacity_) {
      *err = E2BIG;
      return Refusal::kFull;
    }
  } while (!used_.compare_exchange_weak(used, used + 1, std::memory_order_relaxed));
  const uint64_t c = cookie_of(client_fd);
  const uint64_t o = cookie_of(origin_fd);
  const uint64_t cfd = static_cast<uint64_t>(client_fd);
  const uint64_t ofd = static_cast<uint64_t>(origin_fd);
  ktr_dir cd{};
  cd.peer = o;
  cd.worker = worker < KTR_MAX_WORKERS ? worker : 0;
  ktr_dir od = cd;
  od.peer = c;
  int e = c == 0 || o == 0 ? errno : 0;
  // Nothing redirects before the verdict map holds a socket, so until then every step can be
  // undone without losing a byte (a socket leaves a map with empty psock queues).
  int step = 0;
  if (e == 0 && (e = map_update(targets_, &c, &cfd, BPF_NOEXIST)) == 0) ++step;
  if (e == 0 && (e = map_update(targets_, &o, &ofd, BPF_NOEXIST)) == 0) ++step;
  if (e == 0 && (e = map_update(dirs_, &c, &cd, BPF_NOEXIST)) == 0) ++step;
  if (e == 0 && (e = map_update(dirs_, &o, &od, BPF_NOEXIST)) == 0) ++step;
  if (e == 0 && (e = map_update(socks_, &o, &ofd, BPF_NOEXIST)) == 0) ++step;
  if (e == 0 && (e = map_update(socks_, &c, &cfd, BPF_NOEXIST)) == 0) ++step;
  if (step == 5) {
    // The origin is relaying already: its bytes may sit in the client's psock, and taking it
    // out now could reorder them. The connection holds its entries; the caller resets both.
    *err = e;
    *client_cookie = c;
    *origin_cookie = o;
    return Refusal::kBroken;
  }
  if (e != 0) {
    if (step > 4) map_delete(socks_, &o);
    if (step > 3) map_delete(dirs_, &o);
    if (step > 2) map_delete(dirs_, &c);
    if (step > 1) map_delete(targets_, &o);
    if (step > 0) map_delete(targets_, &c);
    used_.fetch_sub(1, std::memory_order_relaxed);
    *err = e;
    // A socket that is no longer established (a FIN or RST came in) cannot enter a sockmap.
    return e == EOPNOTSUPP || e == ENOTCONN ? Refusal::kState
           : e == E2BIG || e == ENOMEM      ? Refusal::kFull
                                            : Refusal::kError;
  }
  *client_cookie = c;
  *origin_cookie = o;
  // Bytes that reached a socket before its insertion wait in its receive queue; the verdict
  // runs on data_ready only, which setting SO_RCVLOWAT calls (tcp_set_rcvlowat).
  const int one = 1;
  ::setsockopt(origin_fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  ::setsockopt(client_fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  return Refusal::kNone;
}

bool KernelRelayMaps::read(uint64_t cookie, ktr_dir* out) const {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = static_cast<uint32_t>(dirs_);
  a.key = reinterpret_cast<uint64_t>(&cookie);
  a.value = reinterpret_cast<uint64_t>(out);
  return bpf_call(BPF_MAP_LOOKUP_ELEM, &a) == 0;
}

void KernelRelayMaps::release(uint64_t client_cookie, uint64_t origin_cookie) {
  map_delete(dirs_, &client_cookie);
  map_delete(dirs_, &origin_cookie);
  used_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace rampart::tcp
