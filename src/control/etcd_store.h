// Store on etcd (store: etcd://...): every edge of a fleet reads and writes the same objects.
// Keys: /rampart/apps/<zone>/<id> and /rampart/access_rules/<zone>/<id>; the value is the
// object's JSON (as the API returns it) with its created_on and modified_on, so an operator can
// write one with etcdctl (docs/fleet.md). put_if/remove_if are etcd transactions comparing the
// key's mod_revision, so two edges writing the same object cannot both win.
// Honest outcomes: every put carries its request id in the value ("request_id"). When etcd does
// not answer a write in time (kUnknown: it may still apply it), or a compare fails after the
// client sent the write to a second member, the store reads the key back on any member: our
// request id there means the write applied (kOk); the key as it was before means it did not,
// and the same compare-and-swap is sent again, so that whichever copy reaches etcd first wins and
// every later copy fails its compare (no late write can then apply unseen); anything else is
// someone else's write (kConflict). Only when no member answers within kResolveBudgetMs is the
// answer kUnknown. Thread-safe (the client is). Does not own the client.
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
  static constexpr int kResolveBudgetMs = 4000;  // one write, read-backs and resends included

  explicit EtcdStore(EtcdClient* client) : client_(client) {}

  bool load(Kind kind, std::vector<StoredObject>* out, std::string* error) override;
  bool put(Kind kind, const StoredObject& obj, std::string* error) override;
  bool remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
              std::string* error) override;
  WriteStatus put_if(Kind kind, const StoredObject& obj, int64_t expected, int64_t* revision,
                     std::string* error, StoredObject* stored = nullptr) override;
  WriteStatus remove_if(Kind kind, const std::string& zone, const std::string& id, int64_t expected,
                        int64_t* revision, std::string* error) override;

  static std::string key(Kind kind, const std::string& zone, const std::string& id);
  // The kind, zone and id of an object key; nullopt for other keys.
  struct KeyParts {
    Kind kind;
    std::string zone, id;
  };
  static std::optional<KeyParts> parse_key(const std::string& key);
  // A fresh request id (128 random bits, hex) for a write that came without one.
  static std::string new_request_id();
  // Value <-> StoredObject (zone and id come from the key; revision from the kv).
  static std::string encode(const StoredObject& obj);
  static std::optional<StoredObject> decode(const KeyParts& parts, const EtcdKv& kv,
                                            std::string* error);

 private:
  EtcdClient* client_;
};

}  // namespace rampart::control
