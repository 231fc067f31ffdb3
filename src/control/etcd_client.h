// A small client for etcd's v3 JSON gateway (grpc-gateway, /v3/...): ranges, compare-and-swap
// transactions, leases and the streaming watch, over cpp-httplib (docs/adr/0005-etcd.md says
// why not gRPC). Keys and values travel base64-encoded; 64-bit numbers arrive as strings.
// Talks to a list of endpoints: a request goes to the last one that answered and moves on to the
// next when it cannot connect, so a cluster that loses a member keeps working. Every method may
// be called from any thread (each request opens its own connection); one watch at a time.
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
};

class EtcdClient {
 public:
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
  // (*compacted = true). `idle_timeout_s` without any byte from etcd ends the watch too (the caller
  // reconnects; this catches silent partitions).
  EtcdStatus watch(const std::string& prefix, int64_t start_revision, int idle_timeout_s,
                   const std::function<void(const std::vector<EtcdEvent>&)>& on_events,
                   bool* compacted, std::string* error);
  // Any thread: ends a watch() in progress (and every later one).
  void stop_watch();

  // The endpoints, for messages ("127.0.0.1:2379,127.0.0.1:22379").
  std::string endpoints_text() const;

 private:
  std::unique_ptr<httplib::Client> make_client(size_t endpoint, int read_timeout_s) const;
  // POSTs `request` to `path` on the endpoints in turn; *response is the parsed answer.
  EtcdStatus call(const char* path, const nlohmann::json& request, nlohmann::json* response,
                  std::string* error);

  std::vector<std::string> endpoints_;
  EtcdTls tls_;
  std::atomic<size_t> preferred_{0};
  std::atomic<bool> stopping_{false};
  std::mutex watch_mu_;
  httplib::Client* watch_client_ = nullptr;  // the watch in progress, for stop_watch()
};

// Base64 (standard alphabet, padded) as the gateway wants it.
std::string base64_encode(const std::string& in);
std::optional<std::string> base64_decode(const std::string& in);

}  // namespace rampart::control
