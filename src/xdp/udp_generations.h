// UDP flow ownership across a zero-loss upgrade (docs/upgrade.md): the SK_REUSEPORT program of
// reuseport.bpf.c and its maps, and the edge's UDP reuseport groups. Every UDP bind's group has
// two halves of one socket per worker; this process's workers read one half, the other stays
// open (unread, never selected) for the next process. An upgrade hands the program, the maps and
// every group's sockets to the new process, which reads the other half; the old one lists the
// flows it still relays in the flow map (Worker::own_flows) and flips each group's active half
// (flip()): its flows keep reaching it, new ones go to the new process. The program also keeps
// the guard's per-source steering (the classic program's hash). Owned by the Edge; open_group,
// close_group, set_steering, flip and the handover run on its control thread; slot() from any.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "net/ip_addr.h"

namespace rampart::xdp {

class UdpGenerations {
 public:
  UdpGenerations();
  ~UdpGenerations();
  UdpGenerations(const UdpGenerations&) = delete;
  UdpGenerations& operator=(const UdpGenerations&) = delete;

  // Loads the program and its maps (CAP_BPF, before the privilege drop). False with *error:
  // UDP groups then keep the classic steering and an upgrade hands UDP flows over unowned.
  bool load(std::string* error);
  // The program, maps and groups of the previous process (handover_state() / handover_fds()):
  // this process takes the other half of each group. False with *error.
  bool adopt(const std::string& state, std::vector<core::UniqueFd> fds, std::string* error);
  bool loaded() const { return prog_.valid(); }

  // This process's sockets of the group of `key` at `addr` (one per worker, in worker order):
  // adopted, or opened now (the program attached by the first, the group registered once this
  // half is complete, then the other half). `v6_prefix` 0 = not steered. Empty with *error.
  std::vector<core::UniqueFd> open_group(const std::string& key, const net::SockAddr& addr,
                                         size_t workers, int v6_prefix, std::string* error);
  void set_steering(const std::string& key, int v6_prefix);
  // The app is gone: the group's entry and slots are removed and its sockets closed (the
  // workers close theirs).
  void close_group(const std::string& key);
  // The socket-array slot of `worker`'s socket in the group of `key`; -1 when none. Any thread.
  int slot(const std::string& key, size_t worker) const;
  int flows_fd() const { return flows_.get(); }

  // Old side of an upgrade: what to send (state JSON, then descriptors in its order).
  std::string handover_state() const;
  std::vector<int> handover_fds() const;
  // Old side, once the flows are listed: every group's new flows go to the other half.
  void flip();

 private:
  struct Group {
    net::SockAddr addr;
    uint32_t base = 0;
    uint32_t workers = 0;
    uint32_t half = 0;  // the half this process reads
    uint32_t v6_prefix = 0;
    std::vector<core::UniqueFd> all;  // 2 x workers, slot order
  };
  bool write_group(const Group& g, uint32_t active);
  uint32_t allocate(uint32_t n);

  core::UniqueFd prog_, sockets_, groups_, flows_;
  std::map<std::string, Group> groups_by_key_;
  std::vector<bool> used_;  // socket-array slots
  mutable std::mutex mu_;   // groups_by_key_ for slot()
};

}  // namespace rampart::xdp
