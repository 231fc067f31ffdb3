// EtcdStore: the key layout and the value format on top of EtcdClient.
#include "control/etcd_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"

namespace rampart::control {

using nlohmann::json;

namespace {

WriteStatus write_status(EtcdStatus st) {
  switch (st) {
    case EtcdStatus::kOk:
      return WriteStatus::kOk;
    case EtcdStatus::kCompareFailed:
      return WriteStatus::kConflict;
    case EtcdStatus::kUnavailable:
      return WriteStatus::kUnavailable;
    case EtcdStatus::kUnknown:
      return WriteStatus::kUnknown;
    case EtcdStatus::kError:
      break;
  }
  return WriteStatus::kError;
}

// The request id stored in a value ("" when it has none, e.g. written with etcdctl).
std::string request_id_of(const std::string& value) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return "";
  auto it = j.find("request_id");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const char* prefix_of(Kind kind) {
  return kind == Kind::kApp ? kEtcdAppsPrefix : kEtcdRulesPrefix;
}

}  // namespace

std::string EtcdStore::key(Kind kind, const std::string& zone, const std::string& id) {
  return std::string(prefix_of(kind)) + zone + "/" + id;
}

std::optional<EtcdStore::KeyParts> EtcdStore::parse_key(const std::string& key) {
  for (Kind kind : {Kind::kApp, Kind::kAccessRule}) {
    const std::string prefix = prefix_of(kind);
    if (key.rfind(prefix, 0) != 0) continue;
    std::string rest = key.substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size() ||
        rest.find('/', slash + 1) != std::string::npos)
      return std::nullopt;
    return KeyParts{kind, rest.substr(0, slash), rest.substr(slash + 1)};
  }
  return std::nullopt;
}

std::string EtcdStore::new_request_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // No randomness: the time and a counter are unique enough on one edge.
    static std::atomic<uint64_t> counter{0};
    return "t" + std::to_string(core::monotonic_ms()) + "-" + std::to_string(++counter);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string EtcdStore::encode(const StoredObject& obj) {
  json j = json::parse(obj.body, nullptr, false);
  if (!j.is_object()) j = json::object();
  j["created_on"] = obj.created_on;
  j["modified_on"] = obj.modified_on;
  if (!obj.request_id.empty()) j["request_id"] = obj.request_id;
  return j.dump();
}

std::optional<StoredObject> EtcdStore::decode(const KeyParts& parts, const EtcdKv& kv,
                                              std::string* error) {
  json j = json::parse(kv.value, nullptr, false);
  if (!j.is_object()) {
    if (error) *error = kv.key + ": the value is not a JSON object";
    return std::nullopt;
  }
  StoredObject obj;
  obj.zone = parts.zone;
  obj.id = parts.id;
  obj.revision = kv.mod_revision;
  auto text = [&](const char* field) {
    auto it = j.find(field);
    std::string v = it != j.end() && it->is_string() ? it->get<std::string>() : "";
    if (it != j.end()) j.erase(it);
    return v;
  };
  obj.created_on = text("created_on");
  obj.modified_on = text("modified_on");
  obj.request_id = text("request_id");
  // An object written by hand may leave out the id; the key names it.
  if (!j.contains("id")) j["id"] = parts.id;
  obj.body = j.dump();
  return obj;
}

bool EtcdStore::load(Kind kind, std::vector<StoredObject>* out, std::string* error) {
  std::vector<EtcdKv> kvs;
  int64_t revision = 0;
  if (client_->range_prefix(prefix_of(kind), &kvs, &revision, error) != EtcdStatus::kOk)
    return false;
  out->clear();
  for (const auto& kv : kvs) {
    auto parts = parse_key(kv.key);
    if (!parts) continue;
    auto obj = decode(*parts, kv, error);
    if (!obj) return false;
    out->push_back(std::move(*obj));
  }
  std::stable_sort(out->begin(), out->end(), [](const StoredObject& a, const StoredObject& b) {
    return std::tie(a.created_on, a.id) < std::tie(b.created_on, b.id);
  });
  return true;
}

bool EtcdStore::put(Kind kind, const StoredObject& obj, std::string* error) {
  return client_->put(key(kind, obj.zone, obj.id), encode(obj), 0, error) == EtcdStatus::kOk;
}

bool EtcdStore::remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
                       std::string* error) {
  if (found) *found = true;
  return client_->remove(key(kind, zone, id), error) == EtcdStatus::kOk;
}

WriteStatus EtcdStore::put_if(Kind kind, const StoredObject& obj, int64_t expected,
                              int64_t* revision, std::string* error, StoredObject* stored) {
  StoredObject mine = obj;
  if (mine.request_id.empty()) mine.request_id = new_request_id();
  const std::string k = key(kind, obj.zone, obj.id);
  const std::string value = encode(mine);
  const int64_t deadline = core::monotonic_ms() + kResolveBudgetMs;
  EtcdStatus st = client_->put_if(k, value, expected, revision, error);
  // Sent at least once with no answer: until a read-back says otherwise, it may apply.
  bool uncertain = st == EtcdStatus::kUnknown;
  while (st == EtcdStatus::kUnknown || st == EtcdStatus::kCompareFailed) {
    EtcdKv kv;
    bool found = false;
    int64_t read_at = 0;
    std::string why;
    if (client_->get(k, &kv, &found, &read_at, &why) != EtcdStatus::kOk) {
      if (core::monotonic_ms() < deadline) {  // every member was tried; once more while in time
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (error) *error += "; reading it back failed too: " + why;
      return uncertain ? WriteStatus::kUnknown : WriteStatus::kConflict;
    }
    if (found && request_id_of(kv.value) == mine.request_id) {
      // Applied: by this attempt's first copy, or by an earlier attempt of the same request.
      *revision = kv.mod_revision;
      if (stored) {
        auto parts = parse_key(k);
        if (auto back = decode(*parts, kv, nullptr)) *stored = std::move(*back);
      }
      return WriteStatus::kOk;
    }
    const bool as_before = expected == 0 ? !found : found && kv.mod_revision == expected;
    if (!as_before) return WriteStatus::kConflict;  // someone else's write came first
    if (core::monotonic_ms() >= deadline) return WriteStatus::kUnknown;
    // Not applied yet, and a copy may still be on its way: send the same compare-and-swap again.
    st = client_->put_if(k, value, expected, revision, error);
    uncertain = uncertain || st == EtcdStatus::kUnknown;
  }
  if (st == EtcdStatus::kOk && stored) *stored = mine;
  return write_status(st);
}

WriteStatus EtcdStore::remove_if(Kind kind, const std::string& zone, const std::string& id,
                                 int64_t expected, int64_t* revision, std::string* error) {
  const std::string k = key(kind, zone, id);
  const int64_t deadline = core::monotonic_ms() + kResolveBudgetMs;
  EtcdStatus st = client_->delete_if(k, expected, revision, error);
  bool uncertain = st == EtcdStatus::kUnknown;
  while (st == EtcdStatus::kUnknown || st == EtcdStatus::kCompareFailed) {
    EtcdKv kv;
    bool found = false;
    int64_t read_at = 0;
    std::string why;
    if (client_->get(k, &kv, &found, &read_at, &why) != EtcdStatus::kOk) {
      if (core::monotonic_ms() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (error) *error += "; reading it back failed too: " + why;
      return uncertain ? WriteStatus::kUnknown : WriteStatus::kConflict;
    }
    if (!found) {  // gone: this delete (a copy of it), or another one; either way, done
      *revision = read_at;
      return WriteStatus::kOk;
    }
    if (kv.mod_revision != expected) return WriteStatus::kConflict;
    if (core::monotonic_ms() >= deadline) return WriteStatus::kUnknown;
    st = client_->delete_if(k, expected, revision, error);
    uncertain = uncertain || st == EtcdStatus::kUnknown;
  }
  return write_status(st);
}

}  // namespace rampart::control
