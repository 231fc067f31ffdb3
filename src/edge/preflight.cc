// Edge::prepare / abandon: the pre-flight of a config change. Every listener the change adds is
// opened before the change is saved or applied, so that a port another process holds refuses
// the change as a whole (HAProxy's rule) instead of leaving it half applied.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/log.h"
#include "core/socket_util.h"
#include "edge/edge.h"

namespace rampart::edge {
namespace {

// Whether this edge already listens on `addr` or on a wildcard covering it (same protocol and
// port): the new socket then joins our own SO_REUSEPORT sockets, which is expected.
bool ours(config::Proto proto, const net::SockAddr& addr, const Snapshot* running) {
  if (running == nullptr) return false;
  for (const Bind& b : running->binds) {
    if (b.proto != proto || b.addr.port() != addr.port() || b.addr.family() != addr.family())
      continue;
    if (b.addr.ip() == addr.ip() || b.addr.ip().is_unspecified() || addr.ip().is_unspecified())
      return true;
  }
  return false;
}

// Binds `addr` once without SO_REUSEPORT: success means no other socket holds it (with
// SO_REUSEPORT, a socket of another process running as the same user would share the port
// and take part of its connections). TCP sets SO_REUSEADDR so that TIME_WAIT leftovers of
// earlier connections do not count as holders.
bool unheld(config::Proto proto, const net::SockAddr& addr, const Snapshot* running,
            std::string* why) {
  const bool tcp = proto == config::Proto::kTcp;
  core::UniqueFd fd(::socket(addr.family(), (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *why = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  if (tcp) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), addr.get(), addr.len()) == 0) return true;
  const int err = errno;
  if (err == EADDRINUSE && ours(proto, addr, running)) return true;
  *why = "bind " + addr.to_string() + ": " + std::strerror(err);
  if (err == EADDRINUSE) *why += " (another process holds this port)";
  return false;
}

}  // namespace

bool Edge::prepare(const config::Config& cfg, std::string* error) {
  control_.assert_in_loop_thread("Edge::prepare");
  const std::shared_ptr<const Snapshot> running = snapshot();
  std::set<std::string> open_now;
  if (running)
    for (const Bind& b : running->binds) open_now.insert(b.key());
  const size_t workers = workers_.empty() ? 1 : workers_.size();
  // Listeners come out of the same descriptors as connections and flows: a change whose
  // listeners would take more than their share is refused before any is opened.
  const FdLimit limit = fd_limit_.soft != 0 ? fd_limit_ : current_fd_limit();
  if (std::string why = listeners_overflow(budget_inputs(cfg, workers, limit)); !why.empty()) {
    *error = why;
    return false;
  }
  // First what is missing, so that a failure leaves prepared_ as it was (the fleet's changes
  // are prepared one after the other: each opens only what the one before did not).
  std::vector<std::pair<config::Proto, net::SockAddr>> wanted;
  std::map<std::string, std::vector<core::UniqueFd>> fresh;
  for (const auto& [proto, addr] : listen_addresses(cfg)) {
    const std::string key = bind_key(proto, addr);
    if (open_now.count(key) != 0) continue;
    wanted.emplace_back(proto, addr);
    if (prepared_.count(key) != 0) continue;
    std::string why;
    if (!unheld(proto, addr, running.get(), &why)) {
      *error = "cannot listen on " + key + ": " + why;
      return false;  // `fresh` closes what was opened so far
    }
    std::vector<core::UniqueFd> fds;
    const auto type =
        proto == config::Proto::kTcp ? core::SockType::kStream : core::SockType::kDgram;
    for (size_t w = 0; w < workers; ++w) {
      core::UniqueFd fd = core::open_listener(addr, type, SOMAXCONN, &why);
      if (!fd.valid()) {
        *error = "cannot listen on " + key + ": " + why;
        return false;
      }
      fds.push_back(std::move(fd));
    }
    fresh.emplace(key, std::move(fds));
  }
  std::map<std::string, std::vector<core::UniqueFd>> next;
  for (const auto& [proto, addr] : wanted) {
    const std::string key = bind_key(proto, addr);
    auto& from = fresh.count(key) != 0 ? fresh : prepared_;
    next[key] = std::move(from[key]);
  }
  if (!fresh.empty()) RLOG_DEBUG("pre-flight: opened ", fresh.size(), " new listeners");
  prepared_ = std::move(next);  // what the change no longer needs is closed
  return true;
}

void Edge::abandon() {
  control_.assert_in_loop_thread("Edge::abandon");
  prepared_.clear();
}

}  // namespace rampart::edge
