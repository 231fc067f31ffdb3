// Zero-loss upgrade (SIGUSR2, `rampart upgrade --pid-file FILE`; SPEC §7, docs/upgrade.md).
// The old process starts the binary found at the path it was started from, with its own
// arguments (self_command(), read at startup), and hands over every listening socket through a
// SOCK_SEQPACKET socketpair (SCM_RIGHTS): the edge's listeners by bind key (one per worker),
// the API's, and the pid file's descriptor. The new process adopts them instead of binding,
// starts, and reports ready; only then does the old one stop accepting (the listening sockets
// live on in the new process: a connection waiting in a backlog is accepted by it) and drain.
// Messages on the channel: old -> new "H" + JSON header, then "F" batches of descriptors in the
// header's order; new -> old "R" (ready) or "X" + reason; old -> new "D" (done: the old one no
// longer accepts, the pid file names the new pid).
// Upgrader is used by serve's main thread (Server::run); UpgradeChild by the new process's
// main thread during Server::open. Neither starts a thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "core/unique_fd.h"
#include "edge/edge.h"

namespace rampart::server {

// What this process was started as: the path of its binary as started (made absolute against
// the working directory, or found in PATH, at startup) and its arguments (/proc/self/cmdline).
struct SelfCommand {
  std::string path;
  std::vector<std::string> argv;
};
SelfCommand self_command();

// Everything the old process hands over.
struct Handover {
  std::map<std::string, std::vector<core::UniqueFd>> listeners;  // Edge::dup_listeners()
  int api_fd = -1;              // borrowed: the API's listening socket
  int pid_file_fd = -1;         // borrowed
  std::string extra;            // opaque JSON for later parts of the protocol (UDP generations)
  std::vector<int> extra_fds;   // borrowed, sent after the rest
  std::string kernel;           // put_kernel_parts(): XDP and the UDP kernel relay
  std::vector<int> kernel_fds;  // borrowed, sent last
};

// The kernel programs' part of the handover (Handover::kernel and kernel_fds): the XDP attachment
// ("xdp") and the UDP kernel relay ("udp_relay"), each as {"state": ..., "fds": N} under its
// name, their descriptors in the order of the names. Kept apart from the UDP generation state
// (`extra`), so a binary from before this part ignores it (its descriptors arrive last and are
// closed) and a newer one reads an older one's handover as "no kernel part".
struct KernelPart {
  std::string state;     // "" leaves the part out
  std::vector<int> fds;  // borrowed
};
// The JSON and, appended to *fds, the descriptors; "" when every part is empty.
std::string put_kernel_parts(const std::map<std::string, KernelPart>& parts, std::vector<int>* fds);
struct AdoptedPart {
  std::string state;
  std::vector<core::UniqueFd> fds;
};
// The new process's side. A header that does not match the descriptors drops every part (each
// side then attaches its own, as at a start), never gives a part another's descriptors.
std::map<std::string, AdoptedPart> take_kernel_parts(const std::string& kernel,
                                                     std::vector<core::UniqueFd> fds);

// The old process's side of one upgrade.
class Upgrader {
 public:
  static constexpr std::chrono::seconds kReadyTimeout{30};
  // Starts `cmd` with the channel, sends `h` and waits up to kReadyTimeout for the new process
  // to report ready. True with the new pid; false with *why (the new process, if still alive,
  // is killed and reaped; this process has changed nothing and keeps serving).
  bool start(const SelfCommand& cmd, const Handover& h, std::string* why);
  pid_t pid() const { return pid_; }
  // After the old process stopped accepting: lets the new one go on. The channel closes.
  void done();
  // The kernel parts (put_kernel_parts names) the new process took over: the old one lets go of
  // those only; the others stay attached until it exits.
  const std::set<std::string>& kept() const { return kept_; }

 private:
  std::set<std::string> kept_;
  pid_t pid_ = -1;
  core::UniqueFd channel_;
};

// The new process's side: null when this process was not started by an upgrade
// (RAMPART_UPGRADE_FD unset); the variable is removed from the environment either way.
class UpgradeChild {
 public:
  static std::unique_ptr<UpgradeChild> from_environment(std::string* error);
  pid_t old_pid = 0;
  std::map<std::string, std::vector<core::UniqueFd>> listeners;
  core::UniqueFd api_fd, pid_file_fd;
  std::string extra;
  std::vector<core::UniqueFd> extra_fds;
  std::string kernel;  // "" from a binary that does not send it
  std::vector<core::UniqueFd> kernel_fds;
  // Ready: the old process stops accepting and answers; true once it has (false when it went
  // away or did not answer in time: this process serves either way). `kept`: the kernel parts
  // this process took over (told to an old process that offered some).
  bool ready(const std::vector<std::string>& kept = {});
  // This process cannot serve: the old one keeps serving and logs `why`.
  void failed(const std::string& why);

 private:
  core::UniqueFd channel_;
};

// The new process's checks before it adopts: the old one's groups have one socket per worker,
// and so must this one's (edge.workers takes effect at a restart, not an upgrade).
bool check_handover(const UpgradeChild& child, const config::Config& cfg, std::string* error);
// Opens edge.pid_file (created 0644) and writes this process's pid; kept open so that an upgrade
// can rewrite it after the privilege drop. Nothing when `path` is empty.
bool open_pid_file(const std::string& path, core::UniqueFd* out, std::string* error);
// Writes `pid` to the pid file behind `fd` (kept open from startup: writable after the
// privilege drop). False when it cannot.
bool write_pid(int fd, pid_t pid);
// The reply of SIGUSR2 to `rampart upgrade` (the signal's sender): "ok PID" or "fail REASON"
// on the abstract unix socket "rampart-upgrade-<requester>". Nothing when nobody listens.
void answer_requester(pid_t requester, bool ok, const std::string& text);
// The requester's side (`rampart upgrade`): binds "rampart-upgrade-<own pid>" before
// signalling. -1 with *error when it cannot.
int listen_for_answer(std::string* error);

}  // namespace rampart::server
