#include "server/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace rampart::server {

namespace {

bool get_caps(__user_cap_data_struct data[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &hdr, data) == 0;
}

bool has(const __user_cap_data_struct data[2], int cap, __u32 __user_cap_data_struct::*set) {
  return (data[cap / 32].*set & (1u << (cap % 32))) != 0;
}

}  // namespace

bool resolve_user(const config::EdgeConfig& edge, UserTarget* out, std::string* error) {
  const passwd* pw = ::getpwnam(edge.user.c_str());
  if (pw == nullptr) {
    *error = "edge.user: no user \"" + edge.user + "\" on this host";
    return false;
  }
  out->user = edge.user;
  out->uid = pw->pw_uid;
  out->gid = pw->pw_gid;
  if (!edge.group.empty()) {
    const group* gr = ::getgrnam(edge.group.c_str());
    if (gr == nullptr) {
      *error = "edge.group: no group \"" + edge.group + "\" on this host";
      return false;
    }
    out->gid = gr->gr_gid;
  }
  return true;
}

std::vector<int> kept_capabilities() {
  return {CAP_NET_BIND_SERVICE};
}

uint64_t capability_mask(const std::vector<int>& caps) {
  uint64_t m = 0;
  for (int c : caps) m |= uint64_t{1} << c;
  return m;
}

bool prepare_thread(const std::vector<int>& keep, std::string* error) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    *error = core::errno_text("prctl(PR_SET_KEEPCAPS)");
    return false;
  }
  const uint64_t kept = capability_mask(keep);
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if ((kept >> cap & 1) != 0) continue;
    // Without CAP_SETPCAP (an upgraded edge) the bounding set is already what the first drop
    // left; EPERM then changes nothing.
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
      *error = core::errno_text("prctl(PR_CAPBSET_DROP)");
      return false;
    }
  }
  return true;
}

bool switch_user(const UserTarget& target, std::string* error) {
  if (::getuid() == target.uid && ::geteuid() == target.uid && ::getgid() == target.gid)
    return true;
  if (::setgroups(1, &target.gid) != 0) {
    *error = core::errno_text("setgroups");
    return false;
  }
  if (::setresgid(target.gid, target.gid, target.gid) != 0) {
    *error = core::errno_text("setresgid");
    return false;
  }
  if (::setresuid(target.uid, target.uid, target.uid) != 0) {
    *error = core::errno_text("setresuid");
    return false;
  }
  return true;
}

bool restrict_thread(const std::vector<int>& keep, std::string* error) {
  __user_cap_data_struct now[2]{};
  if (!get_caps(now)) {
    *error = core::errno_text("capget");
    return false;
  }
  __user_cap_data_struct data[2]{};
  std::vector<int> held;
  for (int cap : keep) {
    if (!has(now, cap, &__user_cap_data_struct::permitted)) continue;
    held.push_back(cap);
    for (auto set : {&__user_cap_data_struct::effective, &__user_cap_data_struct::permitted,
                     &__user_cap_data_struct::inheritable})
      data[cap / 32].*set |= 1u << (cap % 32);
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capset, &hdr, data) != 0) {
    *error = core::errno_text("capset");
    return false;
  }
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap : held)
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      *error = core::errno_text("prctl(PR_CAP_AMBIENT_RAISE)");
      return false;
    }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *error = core::errno_text("prctl(PR_SET_NO_NEW_PRIVS)");
    return false;
  }
  return true;
}

void chown_data(const std::string& dir, const UserTarget& target) {
  auto give = [&](const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    if (st.st_uid == target.uid && st.st_gid == target.gid) return;
    if (::lchown(path.c_str(), target.uid, target.gid) != 0)
      RLOG_WARN("edge.user: cannot hand ", path, " to ", target.user, ": ", std::strerror(errno));
  };
  give(dir);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    give(entry.path().string());
}

void warn_running_as_root() {
  RLOG_WARN(
      "running as root with every capability: set edge.user (and edge.group) so that the edge "
      "parses untrusted traffic as an unprivileged user (docs/operations.md)");
}

void log_dropped(const UserTarget& target, const std::vector<int>& keep) {
  char mask[32];
  snprintf(mask, sizeof mask, "%016llx", static_cast<unsigned long long>(capability_mask(keep)));
  RLOG_INFO("privileges: running as ", target.user, " (uid ", target.uid, ", gid ", target.gid,
            "), capabilities ", mask, " (CAP_NET_BIND_SERVICE), no_new_privs");
}

}  // namespace rampart::server
