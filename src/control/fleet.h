// The fleet side of an edge whose store is etcd (docs/fleet.md):
//  - a watch on /rampart/ that feeds other edges' (and etcdctl's) changes of apps and access
//    rules to the ConfigApplier, keeps the registry of live edges, and turns the fleet's bans into
//    bans on this edge's workers; it reconnects from the last revision it saw, and reloads
//    everything when etcd compacted that revision away;
//  - the edge's own registry key, /rampart/edges/<colo>-<hostname>-<pid>, on a lease renewed
//    every TTL/3 (a dead edge disappears when its lease ends);
//  - the publisher of this edge's autobans: /rampart/bans/<source> on a lease of the ban's
//    duration (<source>: an IPv4 address, or an IPv6 prefix such as 2001:db8:1:2::/64).
// Owns two threads (watch, lease/ban writer). The data plane never waits for it: workers only
// enqueue bans (banned()), and an etcd outage leaves the running configuration in place.
// start()/stop() from the owning thread; banned() from worker threads; edges() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "control/config_applier.h"
#include "control/etcd_client.h"
#include "guard/guard.h"

namespace rampart::control {

// Who this edge is, for the registry (and the single-box answer of GET .../rampart/edges).
struct EdgeIdentity {
  std::string name;  // <colo>-<hostname>-<pid>
  std::string colo;
  std::string hostname;
  int pid = 0;
  std::vector<std::string> addresses;  // edge.listen, then edge.egress_ips
  std::string api;                     // api.listen
  bool api_tls = false;                // the API is HTTPS (api.tls)
  std::string version;
  std::string started_on;  // RFC 3339
  std::string store;       // "sqlite" | "etcd"
  static EdgeIdentity current(const config::Config& cfg, const std::string& store);
  nlohmann::json to_json(const std::string& health) const;
};

class Fleet : public guard::BanSink {
 public:
  // Makes this edge refuse `source` for duration_ms (Edge::ban).
  using BanApply = std::function<void(const net::Cidr& source, int64_t duration_ms)>;
  static constexpr int64_t kLeaseTtlS = 10;
  // The registry view is only as true as the watch that feeds it: when the watch has not been
  // confirmed live (EtcdClient::watch_confirmed_ms) for this long, every entry is shown stale.
  static constexpr int64_t kRegistryStaleMs = 3000;

  Fleet(EtcdClient* client, ConfigApplier* applier, EdgeIdentity me, BanApply apply_ban);
  ~Fleet() override;

  // Reads everything under /rampart/ once (apps, rules, edges, bans), then starts the threads.
  // False with *error when etcd cannot be read.
  bool start(std::string* error);
  // Stops the threads and revokes the registry lease (the edge leaves the registry at once).
  void stop();

  // guard::BanSink, on a worker thread: queues the ban for the writer thread.
  void banned(const net::Cidr& source, int64_t duration_ms) override;

  // The live edges of the fleet (the registry), sorted by name; any thread. Each has "stale":
  // true (and health "stale", "stale_for_s") when this edge cannot currently refresh its view.
  nlohmann::json edges() const;
  // Called (watch thread) when a ban key leaves etcd: lifted through the API of some edge, or
  // its lease ended. Set before start().
  void set_unban(std::function<void(const net::IpAddr&)> fn) { apply_unban_ = std::move(fn); }
  // Lifts the fleet's ban of `source` (deletes its key, writes the unban key): kOk, or
  // kUnavailable (not made) / kUnknown (sent, no answer: it may have been made) with *error.
  // Both writes are idempotent, so a retry is always safe.
  EtcdStatus unban(const net::Cidr& source, std::string* error);
  // The watch is established (false while etcd is unreachable).
  bool watching() const { return watching_.load(); }

 private:
  struct PendingBan {
    net::Cidr source;
    int64_t duration_ms;
    int64_t until_ms;  // Unix epoch
  };
  void watch_loop();
  void writer_loop();
  // Full read of /rampart/ -> applier, registry, bans; sets next_revision_.
  bool resync(std::string* error);
  void handle(const std::vector<EtcdEvent>& events);
  void on_ban_value(const std::string& value);
  bool register_self(std::string* error);
  void publish_ban(const PendingBan& ban);

  EtcdClient* client_;
  ConfigApplier* applier_;
  EdgeIdentity me_;
  BanApply apply_ban_;
  std::function<void(const net::IpAddr&)> apply_unban_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> watching_{false};
  int64_t next_revision_ = 0;  // watch thread (and start) only

  mutable std::mutex edges_mu_;
  std::map<std::string, nlohmann::json> edges_;  // registry key suffix -> record

  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  std::deque<PendingBan> bans_;  // guarded by writer_mu_
  int64_t lease_ = 0;            // writer thread only
  std::string registered_;       // writer thread: the record last written

  std::thread watch_thread_;
  std::thread writer_thread_;
};

}  // namespace rampart::control
