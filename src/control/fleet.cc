// Fleet: watch, registry lease and ban publishing on etcd.
#include "control/fleet.h"

#include <unistd.h>

#include <chrono>

#include "control/etcd_store.h"
#include "core/log.h"
#include "version.h"

namespace rampart::control {

using nlohmann::json;

namespace {

// A backstop only: a hung member is found by the watch's keepalive (EtcdClient::watch).
constexpr int kWatchIdleTimeoutS = 300;
constexpr auto kRetryDelay = std::chrono::milliseconds(200);

int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

EdgeIdentity EdgeIdentity::current(const config::Config& cfg, const std::string& store) {
  EdgeIdentity me;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  me.colo = cfg.edge.colo;
  me.hostname = host;
  me.pid = static_cast<int>(getpid());
  me.name = me.colo + "-" + me.hostname + "-" + std::to_string(me.pid);
  for (const auto& ip : cfg.edge.listen) me.addresses.push_back(ip.to_string());
  for (const auto& ip : cfg.edge.egress_ips) me.addresses.push_back(ip);
  me.api = cfg.api.listen;
  me.api_tls = !cfg.api.tls_certificate.empty();
  me.version = RAMPART_VERSION;
  me.started_on = rfc3339_now();
  me.store = store;
  return me;
}

json EdgeIdentity::to_json(const std::string& health) const {
  return {{"name", name},           {"colo", colo},
          {"hostname", hostname},   {"pid", pid},
          {"addresses", addresses}, {"api", api},
          {"api_tls", api_tls},     {"version", version},
          {"health", health},       {"started_on", started_on},
          {"store", store}};
}

Fleet::Fleet(EtcdClient* client, ConfigApplier* applier, EdgeIdentity me, BanApply apply_ban)
    : client_(client), applier_(applier), me_(std::move(me)), apply_ban_(std::move(apply_ban)) {}

Fleet::~Fleet() {
  stop();
}

bool Fleet::start(std::string* error) {
  if (!resync(error)) return false;
  // The registry key before the threads: `rampart edges` lists this edge once start() returns.
  std::string why;
  if (!register_self(&why)) RLOG_WARN("fleet registry: ", why, "; retrying in the background");
  watch_thread_ = std::thread([this] { watch_loop(); });
  writer_thread_ = std::thread([this] { writer_loop(); });
  RLOG_INFO("fleet: edge ", me_.name, " on etcd ", client_->endpoints_text(), ", watching from ",
            "revision ", next_revision_);
  return true;
}

void Fleet::stop() {
  if (stopping_.exchange(true)) return;
  client_->stop_watch();
  writer_cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (writer_thread_.joinable()) writer_thread_.join();
  if (lease_ != 0) {
    std::string error;
    if (client_->revoke_lease(lease_, &error) != EtcdStatus::kOk)
      RLOG_WARN("fleet registry: could not revoke the lease (", error,
                "); the edge leaves the registry when it expires");
    lease_ = 0;
  }
}

bool Fleet::resync(std::string* error) {
  std::vector<EtcdKv> kvs;
  int64_t revision = 0;
  if (client_->range_prefix(kEtcdPrefix, &kvs, &revision, error) != EtcdStatus::kOk) return false;
  std::vector<StoredObject> apps, rules;
  std::map<std::string, json> edges;
  for (const auto& kv : kvs) {
    if (auto parts = EtcdStore::parse_key(kv.key)) {
      std::string why;
      auto obj = EtcdStore::decode(*parts, kv, &why);
      if (!obj) {
        RLOG_ERROR("fleet store: ", why);
        continue;
      }
      (parts->kind == Kind::kApp ? apps : rules).push_back(std::move(*obj));
    } else if (starts_with(kv.key, kEtcdEdgesPrefix)) {
      json j = json::parse(kv.value, nullptr, false);
      if (j.is_object()) edges[kv.key.substr(strlen(kEtcdEdgesPrefix))] = std::move(j);
    } else if (starts_with(kv.key, kEtcdBansPrefix)) {
      on_ban_value(kv.value);
    }
  }
  auto by_creation = [](const StoredObject& a, const StoredObject& b) {
    return std::tie(a.created_on, a.id) < std::tie(b.created_on, b.id);
  };
  std::stable_sort(apps.begin(), apps.end(), by_creation);
  std::stable_sort(rules.begin(), rules.end(), by_creation);
  applier_->reset_remote(apps, rules, revision);
  {
    std::lock_guard lock(edges_mu_);
    edges_ = std::move(edges);
  }
  next_revision_ = revision + 1;
  return true;
}

void Fleet::on_ban_value(const std::string& value) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return;
  // An address ("192.0.2.7") or a prefix ("2001:db8:1:2::/64", an IPv6 source).
  auto source = net::Cidr::parse(j.value("ip", ""));
  int64_t until = j.value("until_ms", int64_t{0});
  int64_t left = until - epoch_ms();
  if (!source || left <= 0) return;
  left = std::min(left, j.value("duration_ms", left));
  apply_ban_(*source, left);
}

void Fleet::handle(const std::vector<EtcdEvent>& events) {
  if (events.empty()) {  // the watch is (re-)established
    if (!watching_.exchange(true)) RLOG_INFO("fleet: watching etcd from revision ", next_revision_);
    return;
  }
  std::vector<ConfigApplier::RemoteChange> changes;
  for (const auto& e : events) {
    next_revision_ = std::max(next_revision_, e.kv.mod_revision + 1);
    const std::string& key = e.kv.key;
    if (auto parts = EtcdStore::parse_key(key)) {
      ConfigApplier::RemoteChange c;
      c.kind = parts->kind;
      c.removed = e.deleted;
      if (e.deleted) {
        c.obj.zone = parts->zone;
        c.obj.id = parts->id;
        c.obj.revision = e.kv.mod_revision;
      } else {
        std::string why;
        auto obj = EtcdStore::decode(*parts, e.kv, &why);
        if (!obj) {
          RLOG_ERROR("fleet store: ", why);
          continue;
        }
        c.obj = std::move(*obj);
      }
      changes.push_back(std::move(c));
    } else if (starts_with(key, kEtcdEdgesPrefix)) {
      std::string name = key.substr(strlen(kEtcdEdgesPrefix));
      std::lock_guard lock(edges_mu_);
      if (e.deleted) {
        if (edges_.erase(name)) RLOG_INFO("fleet: edge ", name, " left");
      } else if (json j = json::parse(e.kv.value, nullptr, false); j.is_object()) {
        if (!edges_.count(name)) RLOG_INFO("fleet: edge ", name, " joined");
        edges_[name] = std::move(j);
      }
    } else if (starts_with(key, kEtcdBansPrefix) && !e.deleted) {
      on_ban_value(e.kv.value);
    } else if (starts_with(key, kEtcdUnbansPrefix) && !e.deleted && apply_unban_) {
      if (auto s = net::Cidr::parse(key.substr(strlen(kEtcdUnbansPrefix)))) apply_unban_(s->base());
    }
  }
  if (!changes.empty()) applier_->apply_remote(changes);
}

void Fleet::watch_loop() {
  bool reported = false;
  while (!stopping_) {
    bool compacted = false;
    std::string error;
    EtcdStatus st = client_->watch(
        kEtcdPrefix, next_revision_, kWatchIdleTimeoutS,
        [this](const std::vector<EtcdEvent>& events) { handle(events); }, &compacted, &error);
    if (stopping_) break;
    if (compacted) {
      RLOG_WARN("fleet: etcd compacted revision ", next_revision_,
                " away; reloading everything from the store");
      std::string why;
      if (!resync(&why)) RLOG_WARN("fleet: reload failed: ", why);
      continue;
    }
    if (st != EtcdStatus::kOk) {
      bool was = watching_.exchange(false);
      if (was || !reported)
        RLOG_WARN("fleet: watch lost (", error,
                  "); the edge keeps serving its configuration and retries from revision ",
                  next_revision_);
      reported = true;
    }
    std::unique_lock lock(writer_mu_);
    writer_cv_.wait_for(lock, kRetryDelay, [this] { return stopping_.load(); });
  }
}

bool Fleet::register_self(std::string* error) {
  if (lease_ == 0 && client_->grant_lease(kLeaseTtlS, &lease_, error) != EtcdStatus::kOk) {
    lease_ = 0;
    return false;
  }
  json record = me_.to_json(watching_ || lease_ != 0 ? "ok" : "degraded");
  record["apps"] = applier_->api_app_count();
  std::string value = record.dump();
  if (client_->put(kEtcdEdgesPrefix + me_.name, value, lease_, error) != EtcdStatus::kOk)
    return false;
  registered_ = value;
  return true;
}

void Fleet::publish_ban(const PendingBan& ban) {
  int64_t left = ban.until_ms - epoch_ms();
  if (left <= 0) return;
  int64_t lease = 0;
  std::string error;
  const std::string source = guard::source_text(ban.source);
  json value = {{"ip", source},
                {"duration_ms", ban.duration_ms},
                {"until_ms", ban.until_ms},
                {"edge", me_.name}};
  if (client_->grant_lease((left + 999) / 1000, &lease, &error) != EtcdStatus::kOk ||
      client_->put(kEtcdBansPrefix + source, value.dump(), lease, &error) != EtcdStatus::kOk) {
    RLOG_WARN("fleet: ban of ", source,
              " not shared with the fleet (it holds on this edge): ", error);
    return;
  }
  RLOG_INFO("fleet: ban of ", source, " shared for ", left / 1000, " s");
}

EtcdStatus Fleet::unban(const net::Cidr& source, std::string* error) {
  const std::string addr = guard::source_text(source);
  int64_t lease = 0;
  EtcdStatus st = client_->remove(kEtcdBansPrefix + addr, error);
  if (st == EtcdStatus::kOk) st = client_->grant_lease(kUnbanLeaseS, &lease, error);
  if (st == EtcdStatus::kOk)
    st = client_->put(kEtcdUnbansPrefix + addr, std::to_string(epoch_ms()), lease, error);
  return st;
}

void Fleet::banned(const net::Cidr& source, int64_t duration_ms) {
  {
    std::lock_guard lock(writer_mu_);
    if (bans_.size() >= 10000) return;  // etcd far behind: the local ban still holds
    bans_.push_back({source, duration_ms, epoch_ms() + duration_ms});
  }
  writer_cv_.notify_all();
}

void Fleet::writer_loop() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(kLeaseTtlS * 1000 / 3);
  auto next_keepalive = Clock::now() + period;
  bool failing = false;
  while (!stopping_) {
    std::deque<PendingBan> bans;
    {
      std::unique_lock lock(writer_mu_);
      writer_cv_.wait_until(lock, next_keepalive,
                            [this] { return stopping_.load() || !bans_.empty(); });
      if (stopping_) break;
      bans.swap(bans_);
    }
    for (const auto& b : bans) publish_ban(b);
    if (Clock::now() < next_keepalive) continue;
    std::string error;
    bool ok;
    if (lease_ == 0) {
      ok = register_self(&error);
    } else {
      int64_t ttl = 0;
      ok = client_->keepalive(lease_, &ttl, &error) == EtcdStatus::kOk;
      if (ok && ttl <= 0) {  // expired while etcd was away: a new lease and key
        lease_ = 0;
        ok = register_self(&error);
      }
    }
    if (ok && failing) RLOG_INFO("fleet registry: lease renewed");
    if (!ok && !failing) RLOG_WARN("fleet registry: cannot renew the lease: ", error);
    failing = !ok;
    // Retry sooner while etcd is away, so the edge is back in the registry quickly.
    next_keepalive = Clock::now() + (ok ? period : std::chrono::milliseconds(1000));
  }
}

json Fleet::edges() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t confirmed = client_->watch_confirmed_ms();
  const bool stale = confirmed == 0 || now - confirmed > kRegistryStaleMs;
  json out = json::array();
  std::lock_guard lock(edges_mu_);
  for (const auto& [name, record] : edges_) {
    json r = record;
    r["self"] = name == me_.name;
    r["stale"] = stale;
    if (stale) {
      // Not refreshed: the edge may have left (its key gone) without this edge hearing of it.
      r["health"] = "stale";
      r["stale_for_s"] = confirmed == 0 ? -1 : (now - confirmed) / 1000;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace rampart::control
