// Privilege drop (edge.user / edge.group, docs/operations.md): after the listeners are open, XDP
// is attached and the keys are read, the edge switches user and keeps only the capabilities it
// still needs (kept_capabilities()). Linux credentials are per thread: setuid() is broadcast to
// every thread by glibc (each one that was root loses every capability unless it set
// PR_SET_KEEPCAPS), but capset(), the bounding set, the ambient set and no_new_privs are the
// calling thread's. So the drop runs in three steps on each thread that must keep a
// capability (the main thread, which spawns upgrades, and the edge's applier thread, which opens
// listeners for later apps): prepare_thread() on each, switch_user() once, restrict_thread() on
// each. Every other thread (workers, API, analytics) ends with no capability at all.
// Stateless; the caller picks the threads.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::server {

struct UserTarget {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The user and group of edge.user / edge.group (the group defaults to the user's primary one).
// False with *error when a name is unknown.
bool resolve_user(const config::EdgeConfig& edge, UserTarget* out, std::string* error);

// CAP_NET_BIND_SERVICE: apps added later on ports below 1024 still bind. Nothing for XDP: on
// this kernel (>= 6.5) map updates and lookups through a descriptor already held need no
// capability, and detaching closes the link descriptor (docs/operations.md).
std::vector<int> kept_capabilities();
// A capability mask as /proc/PID/status shows it (CapEff etc.).
uint64_t capability_mask(const std::vector<int>& caps);

// On the calling thread, before switch_user(): keep the permitted set across the uid change and
// drop every capability outside `keep` from the bounding set.
bool prepare_thread(const std::vector<int>& keep, std::string* error);
// Process-wide (glibc broadcasts it to every thread): supplementary groups = {gid}, gid, uid.
// A process already running as the target (an upgraded edge) changes nothing.
bool switch_user(const UserTarget& target, std::string* error);
// On the calling thread, after switch_user(): effective, permitted and inheritable = `keep`
// (what the thread still has of it), ambient = the same (a binary this thread starts, an
// upgrade, inherits them), then PR_SET_NO_NEW_PRIVS.
bool restrict_thread(const std::vector<int>& keep, std::string* error);

// Hands `dir` and everything in it (one level deep) to uid:gid, so that the databases, event
// logs and rollups the edge keeps writing stay writable after the drop. Logs what it cannot
// change.
void chown_data(const std::string& dir, const UserTarget& target);

void warn_running_as_root();
void log_dropped(const UserTarget& target, const std::vector<int>& keep);

// The whole drop for `edge` (edge.user set): chown_data(), then the three steps on the calling
// thread and on `other` (a loop whose call() runs work on the thread that opens listeners).
// Without edge.user, logs a warning when running as root. False with *error on a failure.
template <typename Loop>
bool drop_privileges(const config::EdgeConfig& edge, Loop& other, std::string* error);

}  // namespace rampart::server

namespace rampart::server {

template <typename Loop>
bool drop_privileges(const config::EdgeConfig& edge, Loop& other, std::string* error) {
  if (edge.user.empty()) {
    if (::geteuid() == 0) warn_running_as_root();
    return true;
  }
  UserTarget target;
  if (!resolve_user(edge, &target, error)) return false;
  chown_data(edge.data_dir, target);
  const std::vector<int> keep = kept_capabilities();
  if (!other.call([&] { return prepare_thread(keep, error); }) || !prepare_thread(keep, error) ||
      !switch_user(target, error) || !restrict_thread(keep, error) ||
      !other.call([&] { return restrict_thread(keep, error); }))
    return false;
  log_dropped(target, keep);
  return true;
}

}  // namespace rampart::server
