#include "server/upgrade.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/log.h"

extern char** environ;

namespace rampart::server {

namespace {

constexpr const char* kEnv = "RAMPART_UPGRADE_FD";
constexpr size_t kFdsPerMessage = 200;  // SCM_MAX_FD is 253
constexpr size_t kMaxMessage = 4 << 20;

// One message, with up to kFdsPerMessage descriptors.
bool send_msg(int fd, const std::string& payload, const int* fds, size_t n) {
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (n > 0 ? n : 1)));
  if (n > 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  ssize_t r;
  do r = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == static_cast<ssize_t>(payload.size());
}

// One message and the descriptors it carried (owned). False on EOF or error.
bool recv_msg(int fd, std::string* payload, std::vector<core::UniqueFd>* fds) {
  std::vector<char> buf(kMaxMessage);
  iovec iov{buf.data(), buf.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kFdsPerMessage));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t r;
  do r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int one;
      std::memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof one);
      fds->emplace_back(one);
    }
  }
  payload->assign(buf.data(), static_cast<size_t>(r));
  return (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0;
}

// Waits for one message for up to `ms`; false on timeout, EOF or error.
bool recv_within(int fd, int ms, std::string* payload, std::vector<core::UniqueFd>* fds) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, ms);
  while (r < 0 && errno == EINTR);
  return r > 0 && recv_msg(fd, payload, fds);
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "ended";
}

sockaddr_un abstract_name(pid_t pid, socklen_t* len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string name = "rampart-upgrade-" + std::to_string(pid);
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

}  // namespace

SelfCommand self_command() {
  SelfCommand out;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t pos = 0; pos < all.size();) {
    const size_t end = all.find('\0', pos);
    out.argv.push_back(all.substr(pos, end == std::string::npos ? end : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (out.argv.empty()) return out;
  const std::string& a0 = out.argv[0];
  if (a0.find('/') != std::string::npos) {
    char cwd[4096];
    out.path =
        a0[0] == '/' || ::getcwd(cwd, sizeof cwd) == nullptr ? a0 : std::string(cwd) + "/" + a0;
    return out;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(pos, end - pos) + "/" + a0;
    if (::access(candidate.c_str(), X_OK) == 0) {
      out.path = candidate;
      break;
    }
    pos = end + 1;
  }
  if (out.path.empty()) out.path = "/proc/self/exe";
  return out;
}

bool Upgrader::start(const SelfCommand& cmd, const Handover& h, std::string* why) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    *why = core::errno_text("socketpair");
    return false;
  }
  channel_ = core::UniqueFd(pair[0]);
  core::UniqueFd child_end(pair[1]);
  const int sndbuf = static_cast<int>(kMaxMessage);
  ::setsockopt(channel_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
  ::setsockopt(channel_.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // The child's end is the one descriptor it inherits (every other one is close-on-exec).
  ::fcntl(child_end.get(), F_SETFD, 0);
  std::vector<std::string> env_strings;
  // Without WATCHDOG_PID (it names this process): the new one becomes the service's main
  // process (MAINPID=) and keeps the watchdog going under its own pid.
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, kEnv, std::strlen(kEnv)) != 0 &&
        std::strncmp(*e, "WATCHDOG_PID=", 13) != 0)
      env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kEnv) + "=" + std::to_string(child_end.get()));
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = cmd.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGUSR2, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cmd.path.c_str(), nullptr, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  child_end.reset();
  if (rc != 0) {
    *why = "cannot start " + cmd.path + ": " + std::strerror(rc);
    return false;
  }
  pid_ = pid;
  RLOG_INFO("upgrade: started ", cmd.path, " (pid ", pid, "); handing over ", h.listeners.size(),
            " listeners");
  auto give_up = [&](const std::string& reason) {
    *why = reason;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    channel_.reset();
    return false;
  };
  // The header, then the descriptors in its order.
  nlohmann::json head;
  head["old_pid"] = ::getpid();
  head["listeners"] = nlohmann::json::array();
  std::vector<int> fds;
  for (const auto& [key, list] : h.listeners) {
    head["listeners"].push_back({{"key", key}, {"count", list.size()}});
    for (const auto& fd : list) fds.push_back(fd.get());
  }
  head["api"] = h.api_fd >= 0;
  if (h.api_fd >= 0) fds.push_back(h.api_fd);
  head["pid_file"] = h.pid_file_fd >= 0;
  if (h.pid_file_fd >= 0) fds.push_back(h.pid_file_fd);
  head["extra"] = h.extra;
  head["extra_fds"] = h.extra_fds.size();
  fds.insert(fds.end(), h.extra_fds.begin(), h.extra_fds.end());
  // Last, so that a binary that does not know it takes everything before and closes these.
  head["kernel"] = h.kernel;
  head["kernel_fds"] = h.kernel_fds.size();
  fds.insert(fds.end(), h.kernel_fds.begin(), h.kernel_fds.end());
  head["fds"] = fds.size();
  bool sent = send_msg(channel_.get(), "H" + head.dump(), nullptr, 0);
  for (size_t i = 0; sent && i < fds.size(); i += kFdsPerMessage)
    sent = send_msg(channel_.get(), "F", fds.data() + i, std::min(kFdsPerMessage, fds.size() - i));
  // Waits for "R" even when sending failed: a binary that is not Rampart exits or stays silent,
  // and its status is the better reason.
  std::string msg;
  std::vector<core::UniqueFd> none_fds;
  const int ms = static_cast<int>(std::chrono::milliseconds(kReadyTimeout).count());
  if (!recv_within(channel_.get(), ms, &msg, &none_fds)) {
    int status = 0;
    for (int i = 0; i < 20 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(10000);
    if (::waitpid(pid_, &status, WNOHANG) == pid_ || ::kill(pid_, 0) != 0) {
      pid_ = -1;
      channel_.reset();
      *why = "the new process " + exit_text(status) + " before it was ready";
      return false;
    }
    return give_up("the new process was not ready within " + std::to_string(kReadyTimeout.count()) +
                   " s (killed)");
  }
  // "K": the kernel parts the new process took over (sent before "R", and only to an old
  // process that offered some, so an older binary never sees it).
  while (msg.rfind("K", 0) == 0) {
    const nlohmann::json k = nlohmann::json::parse(msg.substr(1), nullptr, false);
    if (k.is_array())
      for (const auto& name : k)
        if (name.is_string()) kept_.insert(name.get<std::string>());
    if (!recv_within(channel_.get(), ms, &msg, &none_fds))
      return give_up("the new process went silent before it was ready");
  }
  if (msg.rfind("X", 0) == 0) return give_up("the new process cannot serve: " + msg.substr(1));
  if (msg != "R") return give_up("the new process answered \"" + msg.substr(0, 40) + "\"");
  return true;
}

void Upgrader::done() {
  send_msg(channel_.get(), "D", nullptr, 0);
  channel_.reset();
}

std::unique_ptr<UpgradeChild> UpgradeChild::from_environment(std::string* error) {
  const char* v = std::getenv(kEnv);
  if (v == nullptr) return nullptr;
  const int fd = std::atoi(v);
  ::unsetenv(kEnv);
  auto c = std::make_unique<UpgradeChild>();
  c->channel_ = core::UniqueFd(fd);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  std::string msg;
  std::vector<core::UniqueFd> fds;
  if (!recv_within(fd, 10000, &msg, &fds) || msg.empty() || msg[0] != 'H') {
    *error = "upgrade: no handover from the old process";
    return nullptr;
  }
  nlohmann::json head = nlohmann::json::parse(msg.substr(1), nullptr, false);
  if (head.is_discarded() || !head.contains("fds")) {
    *error = "upgrade: the old process sent an unreadable header";
    return nullptr;
  }
  const size_t want = head["fds"].get<size_t>();
  while (fds.size() < want) {
    std::string batch;
    if (!recv_within(fd, 10000, &batch, &fds) || batch != "F") {
      *error = "upgrade: descriptors missing (" + std::to_string(fds.size()) + " of " +
               std::to_string(want) + ")";
      return nullptr;
    }
  }
  size_t i = 0;
  for (const auto& l : head["listeners"]) {
    auto& list = c->listeners[l["key"].get<std::string>()];
    for (size_t k = 0; k < l["count"].get<size_t>(); ++k) list.push_back(std::move(fds[i++]));
  }
  if (head["api"].get<bool>()) c->api_fd = std::move(fds[i++]);
  if (head["pid_file"].get<bool>()) c->pid_file_fd = std::move(fds[i++]);
  c->extra = head["extra"].get<std::string>();
  for (size_t k = 0; k < head["extra_fds"].get<size_t>(); ++k)
    c->extra_fds.push_back(std::move(fds[i++]));
  if (head.contains("kernel") && head["kernel"].is_string() && head.contains("kernel_fds") &&
      head["kernel_fds"].is_number_unsigned() &&
      head["kernel_fds"].get<size_t>() == fds.size() - i) {
    c->kernel = head["kernel"].get<std::string>();
    while (i < fds.size()) c->kernel_fds.push_back(std::move(fds[i++]));
  }
  c->old_pid = head["old_pid"].get<pid_t>();
  RLOG_INFO("upgrade: took over ", c->listeners.size(), " listeners from pid ", c->old_pid);
  return c;
}

bool UpgradeChild::ready(const std::vector<std::string>& kept) {
  if (!kernel.empty() && !send_msg(channel_.get(), "K" + nlohmann::json(kept).dump(), nullptr, 0))
    return false;
  if (!send_msg(channel_.get(), "R", nullptr, 0)) return false;
  std::string msg;
  std::vector<core::UniqueFd> fds;
  const bool ok = recv_within(channel_.get(), 10000, &msg, &fds) && msg == "D";
  channel_.reset();
  return ok;
}

void UpgradeChild::failed(const std::string& why) {
  send_msg(channel_.get(), "X" + why, nullptr, 0);
  channel_.reset();
}

bool check_handover(const UpgradeChild& child, const config::Config& cfg, std::string* error) {
  const size_t n = static_cast<size_t>(edge::resolve_workers(cfg.edge.workers));
  for (const auto& [key, fds] : child.listeners)
    if (fds.size() != n) {
      *error = "upgrade: the old process has " + std::to_string(fds.size()) + " sockets for " +
               key + ", this one runs " + std::to_string(n) +
               " workers (edge.workers changes take a restart)";
      return false;
    }
  return true;
}

bool open_pid_file(const std::string& path, core::UniqueFd* out, std::string* error) {
  if (path.empty()) return true;
  // Its directory is made when missing (0755, as nginx's /run): under systemd RuntimeDirectory=
  // makes it, but an edge started by hand (or by another init) finds no /run/rampart.
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      *error = "edge.pid_file: cannot create " + dir.string() + ": " + ec.message();
      return false;
    }
  }
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid() || !write_pid(fd.get(), ::getpid())) {
    *error = "edge.pid_file: cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  *out = std::move(fd);
  return true;
}

bool write_pid(int fd, pid_t pid) {
  const std::string text = std::to_string(pid) + "\n";
  return ::ftruncate(fd, 0) == 0 &&
         ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

void answer_requester(pid_t requester, bool ok, const std::string& text) {
  if (requester <= 0) return;
  core::UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  socklen_t len;
  const sockaddr_un to = abstract_name(requester, &len);
  const std::string msg = (ok ? "ok " : "fail ") + text;
  ::sendto(s.get(), msg.data(), msg.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to),
           len);
}

int listen_for_answer(std::string* error) {
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  socklen_t len;
  const sockaddr_un me = abstract_name(::getpid(), &len);
  if (s < 0 || ::bind(s, reinterpret_cast<const sockaddr*>(&me), len) != 0) {
    *error = core::errno_text("cannot open the answer socket");
    if (s >= 0) ::close(s);
    return -1;
  }
  return s;
}

std::string put_kernel_parts(const std::map<std::string, KernelPart>& parts,
                             std::vector<int>* fds) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, part] : parts) {  // a std::map: in the order of the names
    if (part.state.empty()) continue;
    j[name] = {{"state", part.state}, {"fds", part.fds.size()}};
    fds->insert(fds->end(), part.fds.begin(), part.fds.end());
  }
  return j.empty() ? std::string() : j.dump();
}

std::map<std::string, AdoptedPart> take_kernel_parts(const std::string& kernel,
                                                     std::vector<core::UniqueFd> fds) {
  std::map<std::string, AdoptedPart> out;
  if (kernel.empty()) return out;
  const nlohmann::json j = nlohmann::json::parse(kernel, nullptr, false);
  if (!j.is_object()) return out;
  size_t at = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {  // sorted by name, as the sender's std::map
    const nlohmann::json& v = it.value();
    if (!v.is_object() || !v.contains("state") || !v["state"].is_string() || !v.contains("fds") ||
        !v["fds"].is_number_unsigned() || v["fds"].get<size_t>() > fds.size() - at)
      return {};
    AdoptedPart p;
    p.state = v["state"].get<std::string>();
    for (size_t n = v["fds"].get<size_t>(); n > 0; --n) p.fds.push_back(std::move(fds[at++]));
    out.emplace(it.key(), std::move(p));
  }
  if (at != fds.size()) return {};
  return out;
}

}  // namespace rampart::server
