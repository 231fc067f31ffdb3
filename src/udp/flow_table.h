// The flows of one worker: client address -> Flow, with least-recently-used orders (all flows,
// and each app's flows) kept apart for three kinds of flow, so that a full table evicts the flow
// that matters least and idle expiry walks only expired flows:
//   answered:  unconfirmed, the origin has replied: its exchange is over as far as the edge can
//              tell (a one-shot query, or a spoofed source that never sees the reply);
//   awaiting:  unconfirmed, no reply yet: evicting it would lose the reply on its way;
//   confirmed: the client spoke again after a reply. A spoofed source never sees the reply, so a
//              flood of spoofed sources (one datagram each) stays unconfirmed however eagerly
//              the origin answers.
// Eviction takes the idlest answered flow, then the idlest awaiting one, and a confirmed flow
// only where the caller allows it (docs/architecture.md, "UDP"). Pure bookkeeping, no I/O and no
// clock of its own (callers pass `now`), so it is testable in isolation. Worker thread only.
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
  bool replied = false;     // the origin answered at least once: FlowTable::answered()
  bool confirmed = false;   // the client spoke after a reply: FlowTable::confirm()
  bool in_table = false;    // between FlowTable::insert() and remove() (or expire())
  FlowNode* all_prev = nullptr;
  FlowNode* all_next = nullptr;
  FlowNode* app_prev = nullptr;
  FlowNode* app_next = nullptr;
};

class FlowTable {
 public:
  FlowNode* find(const FlowKey& key) const;
  // Adds a new flow as the most recently used of its class (f->confirmed). The caller made room
  // first (victim()).
  void insert(FlowNode* f, int64_t now_ms);
  // Marks a flow as just used.
  void touch(FlowNode* f, int64_t now_ms);
  // The origin replied to an awaiting flow: it joins the answered ones (most recent first).
  void answered(FlowNode* f);
  // Moves an unconfirmed flow among the confirmed ones (most recently used first).
  void confirm(FlowNode* f);
  // Takes a flow out of the table (it must be in it: f->in_table).
  void remove(FlowNode* f);
  // The flow of `app` (of all apps when app is empty) to evict first: the idlest answered flow,
  // else the idlest awaiting one, else the idlest confirmed one; nullptr if none.
  FlowNode* victim(const std::string& app) const;
  // The same among unconfirmed flows only: confirmed flows are never returned.
  FlowNode* unconfirmed_victim(const std::string& app) const;
  size_t size() const { return index_.size(); }
  size_t app_size(const std::string& app) const;
  size_t unconfirmed_size() const { return all_[kAwaiting].size + all_[kAnswered].size; }
  // Removes and hands to `fn` every flow idle for at least its idle_ms, each app's oldest first.
  void expire(int64_t now_ms, const std::function<void(FlowNode*)>& fn);
  // Calls fn for every flow: awaiting, answered, then confirmed flows, each most recently used
  // first (fn must not modify the table).
  void for_each(const std::function<void(FlowNode*)>& fn) const;

 private:
  enum Class : size_t { kAwaiting, kAnswered, kConfirmed, kClasses };
  struct List {
    FlowNode* head = nullptr;  // most recent
    FlowNode* tail = nullptr;  // least recent
    size_t size = 0;
  };
  struct AppLists {
    List by_class[kClasses];
    size_t size() const { return by_class[0].size + by_class[1].size + by_class[2].size; }
  };
  static Class class_of(const FlowNode* f) {
    return f->confirmed ? kConfirmed : f->replied ? kAnswered : kAwaiting;
  }
  // Moves f to the class its flags now say, from `from`.
  void reclass(FlowNode* f, Class from);
  void link_front(List& l, FlowNode* f, bool all);
  void unlink(List& l, FlowNode* f, bool all);

  std::unordered_map<FlowKey, FlowNode*, FlowKeyHash> index_;
  List all_[kClasses];
  std::unordered_map<std::string, AppLists> apps_;
};

}  // namespace rampart::udp
