// The UDP kernel relay's loader (docs/kernel-relay-udp.md): loads relay_udp.bpf.c (embedded),
// attaches it at the tc ingress of interfaces through tcx links (the kernel detaches them when
// the process ends, even on a crash; kernels before 6.6 get a clsact filter instead, removed by
// the destructor), and holds its maps: the flows (one entry per direction), the bans (the XDP
// guard's map when it is loaded, else its own, fed as a guard::BanSink) and the counters.
// When it cannot load (a build without libbpf, no CAP_BPF / CAP_NET_ADMIN) every flow stays in
// user space.
//
// Threads: load() and attach() on the control thread before the workers start (attaching needs
// CAP_NET_ADMIN, which a privilege drop takes away); everything else from any thread (map
// updates are syscalls on descriptors that live as long as the relay).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "guard/guard.h"
#include "net/ip_addr.h"
#include "xdp/relay_types.h"

namespace rampart::xdp {

struct RelayCounters {
  uint64_t relayed = 0;
  uint64_t drop_banned = 0;
  uint64_t drop_udp_rate = 0;
  uint64_t failed = 0;
};

class UdpRelay : public guard::BanSink {
 public:
  UdpRelay();
  ~UdpRelay() override;  // detaches
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // True when this build can load BPF programs (it was built with libbpf).
  static bool supported();

  // Loads the program with room for `max_flows` flows (two entries each). `bans_fd` >= 0: the
  // XDP guard's ban map, shared (bans then reach the relay without banned()). False with
  // *error when the kernel refuses.
  bool load(uint32_t max_flows, int bans_fd, std::string* error);
  bool loaded() const;
  // Attaches to the ingress of `ifindex`. False with *error.
  bool attach(int ifindex, std::string* error);
  // Attaches to every interface that is up (the default of edge.kernel_relay_interfaces) or to
  // the named ones; logs what failed. Returns how many are attached.
  size_t attach_all(const std::vector<std::string>& names);
  // The relay sees packets arriving on `ifindex`. Any thread (fixed after the workers start).
  bool covers(int ifindex) const { return ifindexes_.count(ifindex) != 0; }
  int loopback_ifindex() const { return lo_ifindex_; }
  size_t attached_count() const { return ifindexes_.size(); }
  uint32_t max_flows() const { return max_flows_; }

  // Adds both directions of a flow; false (nothing added) when the map is full or refuses.
  bool add(const rrelay_key& fwd_key, const rrelay_flow& fwd, const rrelay_key& rev_key,
           const rrelay_flow& rev);
  // Removes both directions.
  void remove(const rrelay_key& fwd_key, const rrelay_key& rev_key);
  // The program's current view of one direction; false when absent.
  bool read(const rrelay_key& key, rrelay_flow* out) const;
  // Reads and deletes one direction at once (its final counters); false when absent.
  bool take(const rrelay_key& key, rrelay_flow* out);

  // A small number for each app id (the rate buckets' key). Any thread.
  // A hash of the id, not a counter: every process numbers an app alike, so the rate buckets of
  // two processes sharing the maps during an upgrade never mix two apps. Static, any thread.
  static uint32_t app_no(const std::string& app);

  // guard::BanSink (when the ban map is the relay's own): drop `source` for duration_ms.
  void banned(const net::Cidr& source, int64_t duration_ms) override;
  void unban(const net::Cidr& source);

  RelayCounters counters() const;

  // Upgrade (docs/upgrade.md): the program, its maps (flows included: the old process's flows
  // keep being relayed in the kernel while it drains) and its tcx links travel to the new process,
  // which needs no capability to use them. handover_state() is JSON (the embedded program's hash,
  // the map size, the interfaces); "" when it cannot travel (not loaded, or
  // attached with clsact filters on an old kernel). handover_fds() are borrowed: program, flows,
  // bans, counters, then one per link.
  std::string handover_state() const;
  std::vector<int> handover_fds() const;
  // The new process, instead of load() and attach_all(): false with *why when the state is
  // unreadable or from another program (the caller then loads its own, which needs root).
  bool adopt(const std::string& state, std::vector<core::UniqueFd> fds, std::string* why);
  // The old process once the new one serves: closes its links (the program stays attached while
  // the new process holds them); its flows stay in the shared maps until they end.
  void release();
  // The ban map is the map behind `map_fd` (the XDP guard's): bans then need no banned() here.
  bool shares_bans_with(int map_fd) const;
  static std::string object_hash();

  int prog_fd() const;
  int flows_fd() const;
  int bans_fd() const;

  // Key and address helpers (IPv4 as ::ffff:a.b.c.d, as the program reads them).
  static void put_addr(const net::SockAddr& a, uint8_t out[16], uint16_t* port_be);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::set<int> ifindexes_;
  int lo_ifindex_ = 1;
  uint32_t max_flows_ = 0;
};

}  // namespace rampart::xdp
