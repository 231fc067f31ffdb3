// EtcdClient: JSON gateway requests over cpp-httplib, endpoint failover, the streaming watch.
#include "control/etcd_client.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <charconv>

namespace rampart::control {

using nlohmann::json;

namespace {

constexpr int kConnectTimeoutS = 1;
constexpr int kRequestTimeoutS = 3;

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
    : endpoints_(std::move(endpoints)), tls_(std::move(tls)) {}

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
                                                         int read_timeout_s) const {
  const std::string& ep = endpoints_[endpoint];
  std::unique_ptr<httplib::Client> c;
  if (tls_.enabled()) {
    c = std::make_unique<httplib::Client>("https://" + ep, tls_.certificate, tls_.private_key);
    if (!tls_.ca.empty()) c->set_ca_cert_path(tls_.ca.c_str());
    c->enable_server_certificate_verification(true);
  } else {
    c = std::make_unique<httplib::Client>("http://" + ep);
  }
  c->set_connection_timeout(kConnectTimeoutS, 0);
  c->set_read_timeout(read_timeout_s, 0);
  c->set_write_timeout(kRequestTimeoutS, 0);
  c->set_keep_alive(false);
  return c;
}

EtcdStatus EtcdClient::call(const char* path, const json& request, json* response,
                            std::string* error) {
  const std::string body = request.dump();
  const size_t n = endpoints_.size();
  const size_t first = preferred_.load(std::memory_order_relaxed) % n;
  std::string last_error;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (first + k) % n;
    auto client = make_client(i, kRequestTimeoutS);
    auto res = client->Post(path, body, "application/json");
    if (!res) {
      last_error = endpoints_[i] + ": " + httplib::to_string(res.error());
      // Only a request that never left may go to another member: after a read or write error
      // it may have been applied, and a retried compare-and-swap would then fail as a conflict
      // (409) for a write that succeeded. The outcome is unknown: unavailable (503).
      const httplib::Error e = res.error();
      if (e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout ||
          e == httplib::Error::SSLConnection)
        continue;
      break;
    }
    json j = json::parse(res->body, nullptr, false);
    if (res->status == 200 && j.is_object()) {
      preferred_.store(i, std::memory_order_relaxed);
      *response = std::move(j);
      return EtcdStatus::kOk;
    }
    std::string msg = j.is_object() ? j.value("error", j.value("message", res->body)) : res->body;
    last_error = endpoints_[i] + ": HTTP " + std::to_string(res->status) + " " + msg;
    // A member without a leader: another member may have one.
    if (unavailable_answer(res->status, j)) continue;
    if (error) *error = "etcd " + last_error;
    return EtcdStatus::kError;
  }
  if (error)
    *error = "etcd unavailable (" + last_error + ")" +
             (tls_.enabled() ? "; over TLS: check store_tls (the CA of etcd's certificate, and a "
                               "client certificate if etcd requires one)"
                             : "");
  return EtcdStatus::kUnavailable;
}

EtcdStatus EtcdClient::range_prefix(const std::string& prefix, std::vector<EtcdKv>* out,
                                    int64_t* revision, std::string* error) {
  json resp;
  EtcdStatus st =
      call("/v3/kv/range",
           {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}},
           &resp, error);
  if (st != EtcdStatus::kOk) return st;
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
  const size_t n = endpoints_.size();
  const size_t i = preferred_.load(std::memory_order_relaxed) % n;
  auto client = make_client(i, idle_timeout_s);
  {
    std::lock_guard lock(watch_mu_);
    if (stopping_) return EtcdStatus::kOk;
    watch_client_ = client.get();
  }
  std::string buffer;
  bool created = false;
  std::string stream_error;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v3/watch";
  req.body = json{{"create_request", create}}.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
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
    std::lock_guard lock(watch_mu_);
    watch_client_ = nullptr;
  }
  if (stopping_) return EtcdStatus::kOk;
  if (*compacted) return EtcdStatus::kOk;
  if (!created) preferred_.store((i + 1) % n, std::memory_order_relaxed);
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
