// dns_publish (docs/dns_publish.md): keeps the operator's DNS zone listing this edge's addresses
// for every app's dns.name. Owns one thread ("rampart-dnspub") that plans the records of the
// config in force (plan_records), sends the difference from what the server last confirmed as
// one TSIG-signed RFC 2136 UPDATE (send_update), and on failure retries with exponential backoff
// (1 s doubling to 60 s), logging the failure once per kind and again at most once a minute.
// Every 5 minutes it sends its records again (adding a record the zone has is a no-op; a zone
// restored from a backup gets them back).
//
// Threads: applied() is called on the edge's control thread after each applied config
// (Edge::set_applied_listener) and only stores the config and wakes the thread: never blocks
// the applier. set_secret() from the main thread (start, SIGHUP); metrics() from the API's
// threads; start(), withdraw() and stop() by the owner (server::Server, main thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "config/model.h"
#include "edge/compiled_config.h"
#include "publish/dns_update.h"
#include "publish/plan.h"

namespace rampart::publish {

class DnsPublisher {
 public:
  static constexpr std::chrono::seconds kMaxBackoff{60};
  static constexpr std::chrono::seconds kResync{300};

  // `settings`: dns_publish as the edge started with it (validated); `secret` its base64 key.
  DnsPublisher(config::DnsPublishConfig settings, std::string secret);
  ~DnsPublisher();
  DnsPublisher(const DnsPublisher&) = delete;
  DnsPublisher& operator=(const DnsPublisher&) = delete;

  void applied(std::shared_ptr<const edge::CompiledConfig> compiled);
  void set_secret(std::string secret);
  void start();
  // SIGTERM, before the edge drains: stops the thread and deletes every record this edge
  // published (its own only). True when the server confirmed it (or nothing was published).
  bool withdraw(std::chrono::milliseconds timeout);
  // Stops the thread, leaving the records (an upgrade: the new process publishes the same ones).
  void stop();

  // rampart_dns_publish_updates_total{result}, rampart_dns_publish_records (confirmed),
  // rampart_dns_publish_desired_records, rampart_dns_publish_last_error{error} (1 while the last
  // update failed), rampart_dns_publish_last_success_timestamp_seconds.
  std::string metrics() const;

 private:
  void run();
  // One reconcile: plans, sends the difference (or a resync), books the result. Publisher
  // thread only.
  void reconcile(bool resync);
  UpdateTarget target() const;

  const config::DnsPublishConfig settings_;
  const config::DnsServer server_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const edge::CompiledConfig> latest_;  // under mu_
  bool changed_ = false;                                // under mu_
  std::string secret_;                                  // under mu_; never logged
  bool stop_ = false;                                   // under mu_
  bool retry_now_ = false;                              // under mu_: a new secret ends the backoff
  // What the server confirmed, and the outcome counters (under mu_: metrics() reads them).
  std::set<Record> published_;
  size_t desired_count_ = 0;
  std::map<std::string, uint64_t> results_;
  std::string last_error_;        // "" after a success
  std::string last_error_label_;  // the result label of last_error_
  int64_t last_success_s_ = 0;

  // Publisher thread only.
  std::chrono::seconds backoff_{0};
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::steady_clock::time_point last_sent_{};
  std::chrono::steady_clock::time_point last_logged_{};
  std::string last_logged_label_;
  std::set<std::string> outside_logged_;
  std::thread thread_;
};

}  // namespace rampart::publish
