// The flows of one worker: client address -> Flow, with two least-recently-used orders (all
// flows, and each app's flows) so that a full table evicts the idlest flow and idle expiry
// walks only expired flows. Pure bookkeeping, no I/O and no clock of its own (callers pass
// `now`), so it is testable in isolation. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "core/keyed_hash.h"
#include "net/ip_addr.h"

namespace rampart::udp {

// A flow is identified by the socket it arrived on, the client's address and port, and the edge
// address the client sent to (a wildcard socket receives for every address of the host, and
// replies must leave from the one each client chose).
struct FlowKey {
  const void* listener = nullptr;
  net::IpAddr ip;
  uint16_t port = 0;
  net::IpAddr edge_ip;
  bool operator==(const FlowKey& o) const {
    return listener == o.listener && port == o.port && ip == o.ip && edge_ip == o.edge_ip;
  }
};

// Keyed (SipHash-1-3 under the process's random key): the client address and port are the
// sender's choice, and with a known hash a spoofer could pile every flow into one bucket.
struct FlowKeyHash {
  core::HashKey key = core::process_hash_key();
  size_t operator()(const FlowKey& k) const;
};

// The table's part of a flow: embed it (FlowTable never allocates or frees flows).
struct FlowNode {
  FlowKey key;
  std::string app;          // app id: flows are counted and expired per app
  int64_t idle_ms = 60000;  // this flow's idle timeout
  int64_t last_ms = 0;      // last datagram either way
  FlowNode* all_prev = nullptr;
  FlowNode* all_next = nullptr;
  FlowNode* app_prev = nullptr;
  FlowNode* app_next = nullptr;
};

class FlowTable {
 public:
  FlowNode* find(const FlowKey& key) const;
  // Adds a new flow as most recently used. The caller made room first (victim()).
  void insert(FlowNode* f, int64_t now_ms);
  // Marks a flow as just used.
  void touch(FlowNode* f, int64_t now_ms);
  void remove(FlowNode* f);
  // The least recently used flow of `app` (or of all apps when app is empty); nullptr if none.
  FlowNode* victim(const std::string& app) const;
  size_t size() const { return index_.size(); }
  size_t app_size(const std::string& app) const;
  // Removes and hands to `fn` every flow idle for at least its idle_ms, each app's oldest first.
  void expire(int64_t now_ms, const std::function<void(FlowNode*)>& fn);
  // Calls fn for every flow (fn must not modify the table).
  void for_each(const std::function<void(FlowNode*)>& fn) const;

 private:
  struct List {
    FlowNode* head = nullptr;  // most recent
    FlowNode* tail = nullptr;  // least recent
    size_t size = 0;
  };
  void link_front(List& l, FlowNode* f, bool all);
  void unlink(List& l, FlowNode* f, bool all);

  std::unordered_map<FlowKey, FlowNode*, FlowKeyHash> index_;
  List all_;
  std::unordered_map<std::string, List> apps_;
};

}  // namespace rampart::udp
