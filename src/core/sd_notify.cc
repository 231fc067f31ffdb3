#include "core/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace rampart::core {

namespace {

uint64_t parse_u64(const char* s) {
  if (!s || !*s) return 0;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return 0;
  return v;
}

}  // namespace

SdNotify SdNotify::from_env() {
  const char* socket = getenv("NOTIFY_SOCKET");
  uint64_t watchdog = parse_u64(getenv("WATCHDOG_USEC"));
  // WATCHDOG_PID names the process the watchdog is meant for; another one (a child that
  // inherited the environment) must not ping on its behalf.
  if (const char* pid = getenv("WATCHDOG_PID"); pid && *pid) {
    if (parse_u64(pid) != static_cast<uint64_t>(getpid())) watchdog = 0;
  }
  return SdNotify(socket ? socket : "", watchdog);
}

SdNotify::SdNotify(std::string socket, uint64_t watchdog_usec)
    : socket_(std::move(socket)), watchdog_usec_(watchdog_usec) {
  // Only AF_UNIX addresses: a path or '@' (abstract). Anything else (systemd's vsock:) is
  // not spoken here, so the notifier stays off rather than half-working.
  if (!socket_.empty() && socket_[0] != '/' && socket_[0] != '@') socket_.clear();
  if (socket_.size() >= sizeof(sockaddr_un::sun_path)) socket_.clear();
  if (socket_.empty()) {
    watchdog_usec_ = 0;
    return;
  }
  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

bool SdNotify::send(std::string_view message, std::string* error) const {
  if (!enabled()) return true;
  if (!fd_.valid()) {
    if (error) *error = "NOTIFY_SOCKET: cannot open an AF_UNIX datagram socket";
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';  // abstract: no terminating NUL counted
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() +
                                               (socket_[0] == '@' ? 0 : 1));
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (error) *error = "NOTIFY_SOCKET " + socket_ + ": " + strerror(errno);
    return false;
  }
  return true;
}

uint64_t SdNotify::monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

std::string SdNotify::reloading_message() {
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec());
}

std::string SdNotify::status_message(std::string_view status) {
  std::string out = "STATUS=";
  out.reserve(out.size() + status.size());
  for (char c : status) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return out;
}

}  // namespace rampart::core
