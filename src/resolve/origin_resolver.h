// Origins by name (SPEC §2): keeps the addresses of every origin_dns app's name current with
// c-ares (docs/origin-dns.md). Owned by edge::Edge; one thread of its own runs the c-ares
// channel (the system's /etc/resolv.conf, or Options::servers), so a lookup never blocks a
// worker or the config applier. Every other method may be called from any thread.
//
// Per query (one per app, keyed by the app id): looked up at once, then again when the
// answer's TTL runs out (the app's `ttl` caps it; Options::min_ttl floors it so a TTL 0 record
// is not a busy loop). A failed lookup keeps the last good answer for the query's `hold`
// (timeouts.dns_hold) and retries with backoff (Options::retry_min doubling up to retry_max);
// the first failure of a streak is logged with the name and why, then at most once a minute.
// When a query's address list changes, on_change runs (on the resolver thread): the edge then
// republishes its snapshot with the new addresses.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/ip_addr.h"

struct ares_addrinfo;  // <ares.h>, included by the .cc only

namespace rampart::resolve {

enum class Family { kAny, kV4, kV6 };  // origin_dns.type "" (A and AAAA), "A", "AAAA"
Family family_of(const std::string& type);

// The outcome of one lookup, as counted in rampart_origin_dns_lookups_total{result}.
enum class Result { kOk, kNxdomain, kNoData, kServfail, kRefused, kTimeout, kError };
inline constexpr size_t kResultCount = 7;
const char* result_name(Result r);

struct Query {
  std::string key;   // the app id
  std::string name;  // origin_dns.name
  Family family = Family::kAny;
  uint32_t ttl_cap_s = 0;  // origin_dns.ttl; 0 = the record's TTL alone
  std::chrono::milliseconds hold{std::chrono::hours(1)};  // timeouts.dns_hold
};

// What /metrics and the dashboard show of one query.
struct Status {
  std::string key, name;
  Family family = Family::kAny;
  std::vector<net::IpAddr> addresses;  // in use (sorted); empty = nothing resolved (531)
  bool settled = false;                // a first lookup has ended (an answer or a failure)
  bool stale = false;      // the last lookup failed: `addresses` is the last good answer
  std::string last_error;  // "" after a success
  std::array<uint64_t, kResultCount> lookups{};  // by Result
  uint64_t shed = 0;                             // addresses dropped by max_addresses
  uint64_t refused = 0;                          // addresses dropped by Options::refuse
  int64_t next_lookup_ms = 0;                    // from now
};

struct Options {
  std::string servers;     // "127.0.0.1:5353,..." (tests); empty = /etc/resolv.conf
  bool hosts_file = true;  // /etc/hosts before DNS, like the system's resolver
  std::chrono::milliseconds min_ttl{1000};
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds query_timeout{2000};  // per try, per server (c-ares)
  int tries = 2;
  size_t max_addresses = 64;  // per name (origin::OriginSet::kMaxOrigins)
  size_t max_names = 1024;    // per edge
  // Answer addresses that can never be an origin (the edge passes config::origin_scope's
  // link-local, cloud metadata, multicast, broadcast, 0.0.0.0/8): returns why, or nullptr to
  // use the address. A DNS answer must not reach what an API write could not name.
  std::function<const char*(const net::IpAddr&)> refuse;
};

class OriginResolver {
 public:
  explicit OriginResolver(Options options = {});
  ~OriginResolver();
  OriginResolver(const OriginResolver&) = delete;
  OriginResolver& operator=(const OriginResolver&) = delete;

  // Before start(): runs on the resolver thread whenever a query's addresses change.
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }
  // Creates the c-ares channel (reads resolv.conf) and starts the thread. False with *error.
  bool start(std::string* error);
  void stop();

  // The queries to keep current. A key kept with the same name and family keeps its answer
  // (a new ttl cap or hold applies from the next lookup); new keys are looked up at once.
  // Queries beyond max_names are not resolved (counted in names_shed(), logged once).
  void set_queries(const std::vector<Query>& queries);
  // Waits up to `limit` until every key in `keys` has settled (first lookup ended).
  bool wait_settled(const std::vector<std::string>& keys, std::chrono::milliseconds limit) const;

  std::vector<net::IpAddr> addresses(const std::string& key) const;
  std::map<std::string, std::vector<net::IpAddr>> all_addresses() const;
  std::vector<Status> status() const;
  uint64_t names_shed() const;

 private:
  struct Entry;
  struct Pending;
  static void on_answer(void* arg, int status, int timeouts, ::ares_addrinfo* res);
  void answered(const Pending& p, int status, ::ares_addrinfo* res);
  void run();
  void wake();
  int64_t now_ms() const;

  const Options options_;
  std::function<void()> on_change_;
  void* channel_ = nullptr;  // ares_channel; resolver thread only after start()
  int wake_fd_ = -1;         // eventfd: set_queries() and stop() wake the thread
  std::thread thread_;
  bool stop_ = false;  // under mu_

  mutable std::mutex mu_;
  mutable std::condition_variable settled_cv_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // under mu_
  uint64_t generation_ = 0;                                // under mu_
  uint64_t names_shed_ = 0;                                // under mu_
  bool shed_logged_ = false;                               // under mu_
};

}  // namespace rampart::resolve
