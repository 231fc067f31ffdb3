// Persistent storage of the objects created through the API (apps and IP access rules), behind
// an interface so that an etcd store can follow the SQLite one. Objects are stored as the JSON
// the API returns (app_json.h), with their timestamps. Every write is atomic and durable when it
// returns true. Implementations are thread-safe; the Controller serializes writes anyway.
#pragma once

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
  bool operator==(const StoredObject&) const = default;
};

enum class Kind { kApp, kAccessRule };

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
};

}  // namespace rampart::control
