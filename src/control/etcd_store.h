// Store on etcd (store: etcd://...): every edge of a fleet reads and writes the same objects.
// Keys: /rampart/apps/<zone>/<id> and /rampart/access_rules/<zone>/<id>; the value is the
// object's JSON (as the API returns it) with its created_on and modified_on, so an operator can
// write one with etcdctl (docs/fleet.md). put_if/remove_if are etcd transactions comparing the
// key's mod_revision, so two edges writing the same object cannot both win. Thread-safe (the
// client is). Does not own the client.
#pragma once

#include <optional>
#include <string>

#include "control/etcd_client.h"
#include "control/store.h"

namespace rampart::control {

inline constexpr const char* kEtcdPrefix = "/rampart/";
inline constexpr const char* kEtcdAppsPrefix = "/rampart/apps/";
inline constexpr const char* kEtcdRulesPrefix = "/rampart/access_rules/";
inline constexpr const char* kEtcdEdgesPrefix = "/rampart/edges/";
inline constexpr const char* kEtcdBansPrefix = "/rampart/bans/";
// An operator's unban (DELETE .../rampart/bans/IP), on a short lease: a ban key that merely
// expires (its lease ended, maybe one edge's shorter ban over a longer one) lifts nothing.
inline constexpr const char* kEtcdUnbansPrefix = "/rampart/unbans/";
inline constexpr int64_t kUnbanLeaseS = 30;

class EtcdStore : public Store {
 public:
  explicit EtcdStore(EtcdClient* client) : client_(client) {}

  bool load(Kind kind, std::vector<StoredObject>* out, std::string* error) override;
  bool put(Kind kind, const StoredObject& obj, std::string* error) override;
  bool remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
              std::string* error) override;
  WriteStatus put_if(Kind kind, const StoredObject& obj, int64_t expected, int64_t* revision,
                     std::string* error) override;
  WriteStatus remove_if(Kind kind, const std::string& zone, const std::string& id, int64_t expected,
                        int64_t* revision, std::string* error) override;

  static std::string key(Kind kind, const std::string& zone, const std::string& id);
  // The kind, zone and id of an object key; nullopt for other keys.
  struct KeyParts {
    Kind kind;
    std::string zone, id;
  };
  static std::optional<KeyParts> parse_key(const std::string& key);
  // Value <-> StoredObject (zone and id come from the key; revision from the kv).
  static std::string encode(const StoredObject& obj);
  static std::optional<StoredObject> decode(const KeyParts& parts, const EtcdKv& kv,
                                            std::string* error);

 private:
  EtcdClient* client_;
};

}  // namespace rampart::control
