// `rampart upgrade --pid-file FILE`: asks the running edge (the pid in FILE) for a zero-loss
// upgrade (SIGUSR2, server/upgrade.h) and reports the outcome: exit 0 once the new process
// serves, the old one no longer accepts and FILE names the new pid; 3 with the reason when the
// new binary could not start or become ready (the old one still serves). The edge answers on
// the abstract unix socket "rampart-upgrade-<this pid>", bound before the signal is sent.
#include "server/upgrade.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/unique_fd.h"

namespace rampart::cli {

namespace {

constexpr const char* kUsage =
    "usage: rampart upgrade --pid-file FILE\n\n"
    "Replaces the running edge (the pid in FILE, edge.pid_file) with the binary at the path it\n"
    "was started from, without losing a connection or a UDP flow. Exit 0 once the new process\n"
    "serves; 3 with the reason when it could not (the running edge keeps serving).\n"
    "\n  --pid-file FILE  the edge's pid file (edge.pid_file)\n";

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return 0;
  return static_cast<pid_t>(pid);
}

int fail(const std::string& why) {
  fprintf(stderr, "rampart upgrade: %s\n", why.c_str());
  return kExitRuntime;
}

}  // namespace

int cmd_upgrade(const Args& args) {
  std::string pid_file;
  Flags flags("upgrade");
  flags.app().add_option("--pid-file", pid_file);
  if (auto rc = flags.parse(args, kUsage)) return *rc;
  if (pid_file.empty()) {
    fprintf(stderr, "rampart upgrade: missing --pid-file FILE\n\n%s", kUsage);
    return kExitUsage;
  }
  const pid_t old_pid = read_pid(pid_file);
  if (old_pid == 0)
    return fail("no pid in " + pid_file + "; is the edge running with edge.pid_file?");
  std::string error;
  core::UniqueFd answer(server::listen_for_answer(&error));
  if (!answer.valid()) return fail(error);
  if (::kill(old_pid, SIGUSR2) != 0)
    return fail("cannot signal pid " + std::to_string(old_pid) + ": " + std::strerror(errno));
  // The edge waits up to 30 s for the new process, then answers.
  pollfd p{answer.get(), POLLIN, 0};
  const int timeout_ms = static_cast<int>(
      std::chrono::milliseconds(server::Upgrader::kReadyTimeout + std::chrono::seconds(15))
          .count());
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return fail("no answer from pid " + std::to_string(old_pid) +
                " (is it a rampart edge? its log says more)");
  char buf[4096];
  const ssize_t n = ::recv(answer.get(), buf, sizeof buf, 0);
  const std::string msg(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (msg.rfind("ok ", 0) != 0) {
    return fail("the edge (pid " + std::to_string(old_pid) +
                ") keeps serving: " + (msg.rfind("fail ", 0) == 0 ? msg.substr(5) : msg));
  }
  const pid_t new_pid = static_cast<pid_t>(std::atol(msg.c_str() + 3));
  if (read_pid(pid_file) != new_pid)
    return fail("the new process (pid " + std::to_string(new_pid) + ") serves, but " + pid_file +
                " does not name it");
  printf("upgraded: pid %d serves; pid %d drains and exits\n", new_pid, old_pid);
  return kExitOk;
}

}  // namespace rampart::cli
