// EtcdStore: the key layout and the value format on top of EtcdClient.
#include "control/etcd_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

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
    case EtcdStatus::kError:
      break;
  }
  return WriteStatus::kError;
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

std::string EtcdStore::encode(const StoredObject& obj) {
  json j = json::parse(obj.body, nullptr, false);
  if (!j.is_object()) j = json::object();
  j["created_on"] = obj.created_on;
  j["modified_on"] = obj.modified_on;
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
                              int64_t* revision, std::string* error) {
  return write_status(
      client_->put_if(key(kind, obj.zone, obj.id), encode(obj), expected, revision, error));
}

WriteStatus EtcdStore::remove_if(Kind kind, const std::string& zone, const std::string& id,
                                 int64_t expected, int64_t* revision, std::string* error) {
  return write_status(client_->delete_if(key(kind, zone, id), expected, revision, error));
}

}  // namespace rampart::control
