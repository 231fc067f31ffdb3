// The XDP fast path of the guard (protection.xdp): loads guard.bpf.c (embedded in the binary),
// attaches it to one interface in native or generic mode through a bpf_link (so the kernel
// detaches it when the process ends, even on a crash), writes the config into its maps, mirrors
// the guard's bans, and reads its counters. When it cannot load (a build without libbpf, no
// CAP_BPF / CAP_NET_ADMIN, no such interface, a driver without native XDP) it logs one line and
// the guard runs in userspace only; nothing else changes.
//
// Threads: attach(), sync() and detach() on the control thread; banned() and unban() from any
// thread (a map update on a descriptor that lives as long as the Loader); counters() from any
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "core/unique_fd.h"
#include "guard/guard.h"
#include "guard/reasons.h"
#include "net/ip_addr.h"
#include "xdp/map_plan.h"

namespace rampart::xdp {

// Packets the program judged since it was loaded, summed over CPUs. Which guard reason each drop
// counter stands for is checked against the guard's declarations (counters.cc).
struct Counters {
  uint64_t passed = 0;       // handed to the stack (all traffic on the interface that passed)
  uint64_t whitelisted = 0;  // of which passed by a whitelist rule
  uint64_t banned = 0;       // guard::Reason::kBanned
  uint64_t block_ip = 0;     // guard::Reason::kBlockIp
  uint64_t reflection = 0;   // guard::Reason::kReflection
  uint64_t syn_rate = 0;     // guard::Reason::kRateLimit (SYNs over the per-source rate)
  uint64_t udp_rate = 0;     // guard::Reason::kUdpRateLimit
  // Drops for a guard reason (0 for reasons the kernel does not judge), for /metrics.
  uint64_t drops(guard::Reason r) const;
  uint64_t total_drops() const;
};

class Loader : public guard::BanSink {
 public:
  Loader();
  ~Loader() override;  // detaches
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // True when this build can load BPF programs at all (it was built with libbpf).
  static bool supported();

  // Loads the program and its maps without attaching them (tests run it with
  // BPF_PROG_TEST_RUN). False with `error` set when the kernel refuses.
  bool load(std::string* error);
  // Loads (if needed) and attaches to x.interface in x.mode. On failure logs the one line
  // "xdp: ... ; the guard runs in userspace only" and returns false.
  bool attach(const config::XdpConfig& x);
  // Detaches from the interface (the maps and counters stay readable). Idempotent.
  void detach();
  bool loaded() const;
  bool attached() const;
  // The interface and mode it is attached with ("" / kOff when not attached).
  const config::XdpConfig& attachment() const { return attached_cfg_; }

  // Writes the plan's app ports, profiles and ip access rules into the maps (the plan is
  // compiled once per change: edge::CompiledConfig::map_plan) and logs its warnings; bans and
  // token buckets are kept. False (logged) when a map update failed.
  bool sync(const MapPlan& plan);

  // guard::BanSink: the guard banned `source` (an IPv4 address or an IPv6 prefix); the kernel
  // drops it for duration_ms too. The program masks IPv6 sources to the profile's ban prefix
  // (the zone's ipv6_prefix) before looking them up, so `source` must be at that length.
  void banned(const net::Cidr& source, int64_t duration_ms) override;
  // Lifts the ban of `source` (at the ban prefix, like banned()): the API's unban.
  void unban(const net::Cidr& source);

  Counters counters() const;

  // Upgrade (docs/upgrade.md): the old process's attachment travels to the new one, so the fast
  // path has no gap and keeps its bans and counters. handover_state() is JSON (interface, mode,
  // the embedded program's hash, the ports written); handover_fds() are borrowed, in the order
  // adopt() takes them. Both empty when not attached.
  std::string handover_state() const;
  std::vector<int> handover_fds() const;
  // The new process, instead of attach(want): the same program (same hash) is kept as it is (no
  // capability needed); a different program is loaded when this process can (root) and takes
  // the old one's place on its link at the first sync(), without a gap; otherwise it logs why
  // and returns false. A changed interface or mode takes effect at the next restart, as on a
  // reload: the running attachment is kept.
  bool adopt(const std::string& state, std::vector<core::UniqueFd> fds,
             const config::XdpConfig& want);
  // It holds the old process's link (adopt() kept the program, or will replace it on that link).
  bool took_over() const;
  // The old process while an upgrade starts: sync() writes nothing, so the plan the new process
  // writes into the shared maps is not overwritten.
  void freeze();
  // After a successful upgrade: closes this process's link without detaching the program (the
  // new process holds the link), and syncs no more; bans still reach the maps while it drains.
  void release();
  // After a failed upgrade: puts this process's program back on its link (a new process may have
  // replaced it), clears every port the maps hold that `plan` has not (the new process may have
  // written its own) and syncs `plan` again.
  void reclaim(const MapPlan& plan);
  // The embedded program's identity: FNV-1a of the object file, hex.
  static std::string object_hash();

  // For tests: the program's descriptor (-1 when not loaded).
  int prog_fd() const;
  // The ban map's descriptor (-1 when not loaded): the UDP kernel relay shares it.
  int bans_fd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  config::XdpConfig attached_cfg_;
};

}  // namespace rampart::xdp
