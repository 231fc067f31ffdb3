// A small client for etcd's v3 JSON gateway (grpc-gateway, /v3/...): ranges, compare-and-swap
// transactions, leases and the streaming watch, over cpp-httplib (docs/adr/0005-etcd.md says
// why not gRPC). Keys and values travel base64-encoded; 64-bit numbers arrive as strings.
// Talks to a list of endpoints (members). Every request has a deadline (kRequestTimeoutMs per
// member, kCallBudgetMs in all): a member that does not answer in time, or cannot be reached, is
// demoted for kDemoteMs and the request moves on to the next healthy member at once, so one hung
// member (a paused VM, a disk stall) costs one request one timeout and no more. Every request is
// one that may be sent twice: reads, unconditional puts and deletes, and compare-and-swap
// transactions (the second copy of a CAS fails its compare; EtcdStore reads back which copy won).
// A request that was sent and got no answer anywhere is kUnknown: it may still be applied.
// The watch checks its member with its own keepalive (a small request every kProbeIntervalMs);
// a member that does not answer ends the watch within about a second, and the caller resumes on
// another member from its last revision. Every method may be called from any thread (each
// request opens its own connection); one watch at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace httplib {
class Client;
}

namespace rampart::control {

struct EtcdTls {
  std::string ca;           // CA bundle that signed the etcd servers' certificates
  std::string certificate;  // client certificate (PEM) and its key, when etcd asks for one
  std::string private_key;
  bool enabled() const { return !ca.empty() || !certificate.empty(); }
};

struct EtcdKv {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

struct EtcdEvent {
  bool deleted = false;
  EtcdKv kv;  // for a delete: the key and the revision of the delete
};

enum class EtcdStatus {
  kOk,
  kCompareFailed,  // a transaction's compare did not hold
  kUnavailable,    // no endpoint answered, or the cluster has no leader
  kError,          // an answer, but an error (bad request, ...)
  kUnknown,        // sent, and no member answered in time: it may have been (or be) applied
};

const char* to_string(EtcdStatus st);

class EtcdClient {
 public:
  static constexpr int kRequestTimeoutMs = 1000;  // one member's answer to one request
  static constexpr int kCallBudgetMs = 2500;      // one request, over every member tried
  static constexpr int kDemoteMs = 5000;          // a member that timed out is tried last
  static constexpr int kProbeIntervalMs = 500;    // the watch's keepalive on its member

  // `endpoints`: "host:port" each. TLS (https) when tls.enabled().
  EtcdClient(std::vector<std::string> endpoints, EtcdTls tls);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // "etcd://h1:2379,h2:2379" -> {"h1:2379", "h2:2379"}; nullopt with *error when malformed.
  static std::optional<std::vector<std::string>> parse_url(const std::string& url,
                                                           std::string* error);
  // The end of the range of keys that start with `prefix` (prefix with its last byte + 1).
  static std::string prefix_end(const std::string& prefix);

  // One key: *found and *kv when it exists; *revision is the store revision it was read at.
  EtcdStatus get(const std::string& key, EtcdKv* kv, bool* found, int64_t* revision,
                 std::string* error);
  // Every key under `prefix`, and the store revision they were read at.
  EtcdStatus range_prefix(const std::string& prefix, std::vector<EtcdKv>* out, int64_t* revision,
                          std::string* error);
  // Writes `value` if `key`'s mod revision is `expected` (0: the key must not exist); *revision
  // is the new revision on success. kCompareFailed otherwise.
  EtcdStatus put_if(const std::string& key, const std::string& value, int64_t expected,
                    int64_t* revision, std::string* error);
  // Deletes `key` if its mod revision is `expected`; *revision is the delete's revision.
  EtcdStatus delete_if(const std::string& key, int64_t expected, int64_t* revision,
                       std::string* error);
  // Unconditional put, attached to `lease` when it is not 0.
  EtcdStatus put(const std::string& key, const std::string& value, int64_t lease,
                 std::string* error);
  EtcdStatus remove(const std::string& key, std::string* error);
  EtcdStatus grant_lease(int64_t ttl_s, int64_t* id, std::string* error);
  // Renews `id`; *ttl_s is what is left (0 or less: the lease is gone, grant a new one).
  EtcdStatus keepalive(int64_t id, int64_t* ttl_s, std::string* error);
  EtcdStatus revoke_lease(int64_t id, std::string* error);

  // Watches every key under `prefix` from `start_revision` and calls `on_events` once with no
  // events when the watch is in place, then with each batch, in revision order, until the stream
  // ends or fails (kUnavailable), stop_watch() is called (kOk), or the start revision was compacted
  // (*compacted = true). `idle_timeout_s` without any byte from etcd ends the watch too, and so
  // does a member that stops answering the watch's keepalive (kProbeIntervalMs): it is demoted
  // and the caller's next watch() goes to another member.
  EtcdStatus watch(const std::string& prefix, int64_t start_revision, int idle_timeout_s,
                   const std::function<void(const std::vector<EtcdEvent>&)>& on_events,
                   bool* compacted, std::string* error);
  // Any thread: ends a watch() in progress (and every later one).
  void stop_watch();

  // The endpoints, for messages ("127.0.0.1:2379,127.0.0.1:22379").
  std::string endpoints_text() const;
  // Steady-clock ms of the last sign that a watch was live (bytes from its member after it was
  // established, or an answered keepalive); 0 before the first watch is established.
  int64_t watch_confirmed_ms() const { return watch_confirmed_ms_.load(); }
  // Whether member `i` is demoted now (tests, metrics).
  bool demoted(size_t i) const;

 private:
  std::unique_ptr<httplib::Client> make_client(size_t endpoint, int read_timeout_ms) const;
  // POSTs `request` to `path` on the healthy members in turn, then the demoted ones, within
  // kCallBudgetMs; *response is the parsed answer.
  EtcdStatus call(const char* path, const nlohmann::json& request, nlohmann::json* response,
                  std::string* error);
  // The order to try the members in: healthy ones from preferred_ on, then at most one demoted
  // one (the longest demoted) when no member is healthy.
  std::vector<size_t> member_order() const;
  void demote(size_t i);
  void promote(size_t i);

  std::vector<std::string> endpoints_;
  EtcdTls tls_;
  std::atomic<size_t> preferred_{0};
  std::unique_ptr<std::atomic<int64_t>[]> demoted_until_;  // steady ms, per member
  std::atomic<int64_t> watch_confirmed_ms_{0};
  std::atomic<bool> stopping_{false};
  std::mutex watch_mu_;
  httplib::Client* watch_client_ = nullptr;  // the watch in progress, for stop_watch()
};

// Base64 (standard alphabet, padded) as the gateway wants it.
std::string base64_encode(const std::string& in);
std::optional<std::string> base64_decode(const std::string& in);

}  // namespace rampart::control
