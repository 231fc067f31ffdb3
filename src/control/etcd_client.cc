// EtcdClient: JSON gateway requests over cpp-httplib, endpoint failover, the streaming watch.
#include "control/etcd_client.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "core/clock.h"

namespace rampart::control {

using nlohmann::json;

namespace {

constexpr int kConnectTimeoutMs = 500;
constexpr int kRetryPauseMs = 100;

int64_t num(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }
  return 0;
}

EtcdKv kv_of(const json& j) {
  EtcdKv kv;
  kv.key = base64_decode(j.value("key", "")).value_or("");
  kv.value = base64_decode(j.value("value", "")).value_or("");
  kv.mod_revision = num(j, "mod_revision");
  kv.lease = num(j, "lease");
  return kv;
}

// gRPC codes the gateway returns when the cluster cannot serve: UNAVAILABLE, DEADLINE_EXCEEDED.
bool unavailable_answer(int status, const json& body) {
  int64_t code = num(body, "code");
  return status == 503 || status == 504 || code == 14 || code == 4;
}

}  // namespace

const char* to_string(EtcdStatus st) {
  switch (st) {
    case EtcdStatus::kOk:
      return "ok";
    case EtcdStatus::kCompareFailed:
      return "compare failed";
    case EtcdStatus::kUnavailable:
      return "unavailable";
    case EtcdStatus::kError:
      return "error";
    case EtcdStatus::kUnknown:
      return "outcome unknown";
  }
  return "?";
}

std::string base64_encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(const std::string& in) {
  if (in.empty()) return std::string();
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, EtcdTls tls)
    : endpoints_(std::move(endpoints)),
      tls_(std::move(tls)),
      demoted_until_(std::make_unique<std::atomic<int64_t>[]>(endpoints_.size())) {
  for (size_t i = 0; i < endpoints_.size(); ++i) demoted_until_[i] = 0;
}

EtcdClient::~EtcdClient() = default;

std::optional<std::vector<std::string>> EtcdClient::parse_url(const std::string& url,
                                                              std::string* error) {
  static constexpr std::string_view kScheme = "etcd://";
  if (url.rfind(kScheme, 0) != 0) {
    *error = "\"" + url + "\" is not etcd://HOST:PORT[,HOST:PORT...]";
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::string rest = url.substr(kScheme.size());
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    std::string ep = rest.substr(start, comma - start);
    size_t colon = ep.rfind(':');
    int port = 0;
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < ep.size();
    if (ok) {
      auto [p, ec] = std::from_chars(ep.data() + colon + 1, ep.data() + ep.size(), port);
      ok = ec == std::errc() && p == ep.data() + ep.size() && port > 0 && port < 65536 &&
           ep.find('/') == std::string::npos;
    }
    if (!ok) {
      *error = "\"" + ep + "\" in " + url + " is not HOST:PORT (e.g. 127.0.0.1:2379)";
      return std::nullopt;
    }
    out.push_back(ep);
    start = comma + 1;
  }
  return out;
}

std::string EtcdClient::prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string EtcdClient::endpoints_text() const {
  std::string out;
  for (const auto& e : endpoints_) out += (out.empty() ? "" : ",") + e;
  return out;
}

std::unique_ptr<httplib::Client> EtcdClient::make_client(size_t endpoint,
                                                         int read_timeout_ms) const {
  const std::string& ep = endpoints_[endpoint];
  std::unique_ptr<httplib::Client> c;
  if (tls_.enabled()) {
    c = std::make_unique<httplib::Client>("https://" + ep, tls_.certificate, tls_.private_key);
    if (!tls_.ca.empty()) c->set_ca_cert_path(tls_.ca.c_str());
    c->enable_server_certificate_verification(true);
  } else {
    c = std::make_unique<httplib::Client>("http://" + ep);
  }
  c->set_connection_timeout(0, kConnectTimeoutMs * 1000);
  c->set_read_timeout(read_timeout_ms / 1000, (read_timeout_ms % 1000) * 1000);
  c->set_write_timeout(0, kRequestTimeoutMs * 1000);
  c->set_keep_alive(false);
  return c;
}

bool EtcdClient::demoted(size_t i) const {
  return demoted_until_[i].load(std::memory_order_relaxed) > core::monotonic_ms();
}

void EtcdClient::demote(size_t i) {
  demoted_until_[i].store(core::monotonic_ms() + kDemoteMs, std::memory_order_relaxed);
  // The next request (and the next watch) starts on another member.
  size_t expected = i;
  preferred_.compare_exchange_strong(expected, (i + 1) % endpoints_.size());
}

void EtcdClient::promote(size_t i) {
  demoted_until_[i].store(0, std::memory_order_relaxed);
  if (!demoted(preferred_.load(std::memory_order_relaxed) % endpoints_.size()))
    return;  // keep a healthy preference
  preferred_.store(i, std::memory_order_relaxed);
}

std::vector<size_t> EtcdClient::member_order() const {
  const size_t n = endpoints_.size();
  const size_t first = preferred_.load(std::memory_order_relaxed) % n;
  std::vector<size_t> order;
  size_t oldest = first;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (first + k) % n;
    if (!demoted(i))
      order.push_back(i);
    else if (demoted_until_[i].load() < demoted_until_[oldest].load())
      oldest = i;
  }
  if (order.empty()) order.push_back(oldest);  // every member demoted: try one
  return order;
}

EtcdStatus EtcdClient::call(const char* path, const json& request, json* response,
                            std::string* error) {
  const std::string body = request.dump();
  const int64_t deadline = core::monotonic_ms() + kCallBudgetMs;
  std::string last_error;
  bool sent = false;        // some member may have received it without answering
  bool leaderless = false;  // some member answered that it has no leader
  while (true) {
    for (size_t i : member_order()) {
      const int64_t left = deadline - core::monotonic_ms();
      if (left <= 0) break;
      auto client = make_client(i, static_cast<int>(std::min<int64_t>(left, kRequestTimeoutMs)));
      auto res = client->Post(path, body, "application/json");
      if (!res) {
        const httplib::Error e = res.error();
        last_error = endpoints_[i] + ": " + httplib::to_string(e);
        // Not connected: the request never left. Anything else (a read timeout: the member is
        // hung or partitioned) may have reached the member. Either way the member is demoted
        // and the request goes to the next one: every request this client sends is safe to
        // send twice (see the class comment), and the caller learns the outcome was uncertain.
        if (e != httplib::Error::Connection && e != httplib::Error::ConnectionTimeout &&
            e != httplib::Error::SSLConnection)
          sent = true;
        demote(i);
        continue;
      }
      json j = json::parse(res->body, nullptr, false);
      if (res->status == 200 && j.is_object()) {
        promote(i);
        *response = std::move(j);
        return EtcdStatus::kOk;
      }
      std::string msg = j.is_object() ? j.value("error", j.value("message", res->body)) : res->body;
      last_error = endpoints_[i] + ": HTTP " + std::to_string(res->status) + " " + msg;
      if (unavailable_answer(res->status, j)) {
        // A member without a leader (an election): another member, or this one a moment later,
        // may have one. A timeout inside etcd (DEADLINE_EXCEEDED) may come after the request was
        // proposed: its outcome is not known, and the member is slow: demoted.
        if (num(j, "code") == 4 || res->status == 504) {
          sent = true;
          demote(i);
        } else {
          leaderless = true;
        }
        continue;
      }
      if (error) *error = "etcd " + last_error;
      return EtcdStatus::kError;
    }
    // Every member tried: again after a pause while the budget lasts, when an election may
    // end soon (a member without a leader) or a hung member may wake (a timeout).
    if ((!leaderless && !sent) || deadline - core::monotonic_ms() <= kRetryPauseMs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryPauseMs));
  }
  if (error)
    *error = std::string(sent ? "etcd did not answer in time, so whether the request was applied "
                                "is unknown ("
                              : "etcd unavailable (") +
             last_error + ")" +
             (tls_.enabled() ? "; over TLS: check store_tls (the CA of etcd's certificate, and a "
                               "client certificate if etcd requires one)"
                             : "");
  return sent ? EtcdStatus::kUnknown : EtcdStatus::kUnavailable;
}

EtcdStatus EtcdClient::get(const std::string& key, EtcdKv* kv, bool* found, int64_t* revision,
                           std::string* error) {
  json resp;
  EtcdStatus st = call("/v3/kv/range", {{"key", base64_encode(key)}}, &resp, error);
  if (st != EtcdStatus::kOk) return st == EtcdStatus::kUnknown ? EtcdStatus::kUnavailable : st;
  *found = false;
  if (auto it = resp.find("kvs"); it != resp.end() && it->is_array() && !it->empty()) {
    *kv = kv_of(it->front());
    *found = true;
  }
  *revision = num(resp.value("header", json::object()), "revision");
  return EtcdStatus::kOk;
}

EtcdStatus EtcdClient::range_prefix(const std::string& prefix, std::vector<EtcdKv>* out,
                                    int64_t* revision, std::string* error) {
  json resp;
  EtcdStatus st =
      call("/v3/kv/range",
           {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}},
           &resp, error);
  if (st != EtcdStatus::kOk) return st == EtcdStatus::kUnknown ? EtcdStatus::kUnavailable : st;
  out->clear();
  if (auto it = resp.find("kvs"); it != resp.end() && it->is_array())
    for (const auto& kv : *it) out->push_back(kv_of(kv));
  *revision = num(resp.value("header", json::object()), "revision");
  return EtcdStatus::kOk;
}

namespace {

json compare_revision(const std::string& key, int64_t expected) {
  // A missing key has version 0; an existing one is matched by its last modification.
  if (expected == 0)
    return {
        {"key", base64_encode(key)}, {"target", "VERSION"}, {"result", "EQUAL"}, {"version", "0"}};
  return {{"key", base64_encode(key)},
          {"target", "MOD"},
          {"result", "EQUAL"},
          {"mod_revision", std::to_string(expected)}};
}

}  // namespace

EtcdStatus EtcdClient::put_if(const std::string& key, const std::string& value, int64_t expected,
                              int64_t* revision, std::string* error) {
  json req = {{"compare", json::array({compare_revision(key, expected)})},
              {"success",
               json::array({{{"request_put",
                              {{"key", base64_encode(key)}, {"value", base64_encode(value)}}}}})}};
  json resp;
  EtcdStatus st = call("/v3/kv/txn", req, &resp, error);
  if (st != EtcdStatus::kOk) return st;
  if (!resp.value("succeeded", false)) return EtcdStatus::kCompareFailed;
  *revision = num(resp.value("header", json::object()), "revision");
  return EtcdStatus::kOk;
}

EtcdStatus EtcdClient::delete_if(const std::string& key, int64_t expected, int64_t* revision,
                                 std::string* error) {
  json req = {
      {"compare", json::array({compare_revision(key, expected)})},
      {"success", json::array({{{"request_delete_range", {{"key", base64_encode(key)}}}}})}};
  json resp;
  EtcdStatus st = call("/v3/kv/txn", req, &resp, error);
  if (st != EtcdStatus::kOk) return st;
  if (!resp.value("succeeded", false)) return EtcdStatus::kCompareFailed;
  *revision = num(resp.value("header", json::object()), "revision");
  return EtcdStatus::kOk;
}

EtcdStatus EtcdClient::put(const std::string& key, const std::string& value, int64_t lease,
                           std::string* error) {
  json req = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) req["lease"] = std::to_string(lease);
  json resp;
  return call("/v3/kv/put", req, &resp, error);
}

EtcdStatus EtcdClient::remove(const std::string& key, std::string* error) {
  json resp;
  return call("/v3/kv/deleterange", {{"key", base64_encode(key)}}, &resp, error);
}

EtcdStatus EtcdClient::grant_lease(int64_t ttl_s, int64_t* id, std::string* error) {
  json resp;
  EtcdStatus st = call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}}, &resp, error);
  if (st != EtcdStatus::kOk) return st;
  *id = num(resp, "ID");
  if (*id == 0) {
    if (error) *error = "etcd granted no lease: " + resp.dump();
    return EtcdStatus::kError;
  }
  return EtcdStatus::kOk;
}

EtcdStatus EtcdClient::keepalive(int64_t id, int64_t* ttl_s, std::string* error) {
  json resp;
  EtcdStatus st = call("/v3/lease/keepalive", {{"ID", std::to_string(id)}}, &resp, error);
  if (st != EtcdStatus::kOk) return st;
  *ttl_s = num(resp.value("result", json::object()), "TTL");
  return EtcdStatus::kOk;
}

EtcdStatus EtcdClient::revoke_lease(int64_t id, std::string* error) {
  json resp;
  return call("/v3/lease/revoke", {{"ID", std::to_string(id)}}, &resp, error);
}

EtcdStatus EtcdClient::watch(const std::string& prefix, int64_t start_revision, int idle_timeout_s,
                             const std::function<void(const std::vector<EtcdEvent>&)>& on_events,
                             bool* compacted, std::string* error) {
  *compacted = false;
  if (stopping_) return EtcdStatus::kOk;
  json create = {{"key", base64_encode(prefix)},
                 {"range_end", base64_encode(prefix_end(prefix))},
                 {"start_revision", std::to_string(start_revision)}};
  create["progress_notify"] = true;
  const size_t i = member_order().front();
  auto client = make_client(i, idle_timeout_s * 1000);
  {
    std::lock_guard lock(watch_mu_);
    if (stopping_) return EtcdStatus::kOk;
    watch_client_ = client.get();
  }
  // The watch's own keepalive: a stream that carries no change carries no byte either, so a hung
  // member is found by asking it something small (a linearizable count, which also needs the
  // member to be in touch with a leader) every kProbeIntervalMs. No answer in time: the member
  // is demoted and the stream ended; the caller resumes on another member.
  std::mutex probe_mu;
  std::condition_variable probe_cv;
  bool done = false;
  std::atomic<bool> created{false};
  std::string probe_error;
  std::thread probe([&] {
    const std::string req = json{{"key", base64_encode(prefix)}, {"count_only", true}}.dump();
    std::unique_lock lock(probe_mu);
    while (!probe_cv.wait_for(lock, std::chrono::milliseconds(kProbeIntervalMs),
                              [&] { return done; })) {
      lock.unlock();
      auto probe_client = make_client(i, kRequestTimeoutMs);
      auto res = probe_client->Post("/v3/kv/range", req, "application/json");
      lock.lock();
      if (done) break;
      if (res && res->status == 200) {
        if (created) watch_confirmed_ms_ = core::monotonic_ms();
        continue;
      }
      probe_error = res ? "keepalive answered HTTP " + std::to_string(res->status)
                        : "keepalive got no answer (" + httplib::to_string(res.error()) + ")";
      demote(i);
      std::lock_guard wl(watch_mu_);
      if (watch_client_ != nullptr) watch_client_->stop();
      break;
    }
  });
  std::string buffer;
  std::string stream_error;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v3/watch";
  req.body = json{{"create_request", create}}.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (created) watch_confirmed_ms_ = core::monotonic_ms();
    buffer.append(data, len);
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      json j = json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      if (j.contains("error")) {
        stream_error = j["error"].dump();
        return false;
      }
      const json& r = j.value("result", json::object());
      if (num(r, "compact_revision") != 0) {
        *compacted = true;
        return false;
      }
      if (r.value("canceled", false)) {
        stream_error = "watch canceled: " + r.value("cancel_reason", std::string("?"));
        return false;
      }
      if (r.value("created", false)) {
        created = true;
        watch_confirmed_ms_ = core::monotonic_ms();
        on_events({});  // the watch is in place
      }
      if (auto ev = r.find("events"); ev != r.end() && ev->is_array()) {
        std::vector<EtcdEvent> batch;
        for (const auto& e : *ev) {
          EtcdEvent out;
          out.deleted = e.value("type", "PUT") == "DELETE";
          out.kv = kv_of(e.value("kv", json::object()));
          batch.push_back(std::move(out));
        }
        if (!batch.empty()) on_events(batch);
      }
    }
    return !stopping_.load();
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool sent = client->send(req, res, err);
  {
    std::lock_guard lock(probe_mu);
    done = true;
  }
  probe_cv.notify_all();
  probe.join();
  {
    std::lock_guard lock(watch_mu_);
    watch_client_ = nullptr;
  }
  if (stopping_) return EtcdStatus::kOk;
  if (*compacted) return EtcdStatus::kOk;
  if (!created) demote(i);
  if (!probe_error.empty()) {
    if (error) *error = "etcd " + endpoints_[i] + ": " + probe_error + "; member demoted";
    return EtcdStatus::kUnavailable;
  }
  if (!stream_error.empty()) {
    if (error) *error = "etcd " + endpoints_[i] + ": " + stream_error;
    return EtcdStatus::kUnavailable;
  }
  if (error)
    *error = "etcd " + endpoints_[i] + ": watch ended (" +
             (sent ? "HTTP " + std::to_string(res.status) : httplib::to_string(err)) + ")";
  return EtcdStatus::kUnavailable;
}

void EtcdClient::stop_watch() {
  stopping_ = true;
  std::lock_guard lock(watch_mu_);
  if (watch_client_ != nullptr) watch_client_->stop();
}

}  // namespace rampart::control
