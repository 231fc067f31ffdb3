// Persistent storage of the objects created through the API (apps and IP access rules), behind
// an interface so that an etcd store can follow the SQLite one. Objects are stored as the JSON
// the API returns (app_json.h), with their timestamps. Every write is atomic and durable when it
// returns true. Implementations are thread-safe: the ConfigApplier writes from the API's threads,
// concurrently for different objects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rampart::control {

// One stored object: the zone it belongs to, its id, its JSON body and its RFC 3339 timestamps.
struct StoredObject {
  std::string zone;
  std::string id;
  std::string body;  // JSON text
  std::string created_on;
  std::string modified_on;
  // The store's version of the object (etcd's mod_revision); 0 where the store has none (SQLite).
  int64_t revision = 0;
  // The idempotency key of the write that stored this version (the API's Idempotency-Key, or a
  // request id the edge made up): a write whose outcome was unknown is found by it ("" if none).
  std::string request_id;
  bool operator==(const StoredObject&) const = default;
};

enum class Kind { kApp, kAccessRule };

// "app" / "access rule": how messages name a kind.
inline const char* kind_name(Kind kind) {
  return kind == Kind::kApp ? "app" : "access rule";
}

// The outcome of a conditional write (put_if / remove_if).
enum class WriteStatus {
  kOk,
  kConflict,     // the object's revision was not the expected one: someone else wrote it first
  kUnavailable,  // the store cannot be reached (etcd down) and nothing was written; retry later
  kError,        // any other failure
  kUnknown,      // sent, no answer, and no read-back could tell whether it was applied
};

class Store {
 public:
  virtual ~Store() = default;
  // Every object of `kind`, ordered by created_on then id.
  virtual bool load(Kind kind, std::vector<StoredObject>* out, std::string* error) = 0;
  // Inserts or replaces (zone, id) in one transaction.
  virtual bool put(Kind kind, const StoredObject& obj, std::string* error) = 0;
  // Removes (zone, id); *found says whether it existed.
  virtual bool remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
                      std::string* error) = 0;

  // Compare-and-swap forms, for stores shared by several edges (etcd). put_if writes only when
  // the stored revision of (zone, id) is `expected` (0: the object must not exist) and sets
  // *revision to the new one; remove_if likewise. A single-writer store (SQLite) has nothing to
  // compare with: the defaults write unconditionally and report revision 0. `stored`, when not
  // null, receives the version now stored when it is not `obj` itself (an earlier attempt of
  // the same request, found by obj.request_id, was applied instead: its times differ).
  virtual WriteStatus put_if(Kind kind, const StoredObject& obj, int64_t expected,
                             int64_t* revision, std::string* error,
                             StoredObject* stored = nullptr) {
    (void)expected;
    (void)stored;
    *revision = 0;
    return put(kind, obj, error) ? WriteStatus::kOk : WriteStatus::kError;
  }
  virtual WriteStatus remove_if(Kind kind, const std::string& zone, const std::string& id,
                                int64_t expected, int64_t* revision, std::string* error) {
    (void)expected;
    *revision = 0;
    bool found = false;
    return remove(kind, zone, id, &found, error) ? WriteStatus::kOk : WriteStatus::kError;
  }
};

}  // namespace rampart::control
