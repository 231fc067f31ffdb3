// A MaxMind DB file (GeoLite2-Country / GeoLite2-ASN or any DB with the same fields), opened
// read-only with mmap. Lookups are const and thread-safe (libmaxminddb keeps no lookup state),
// so one instance is shared by every worker through the snapshot's guard policy.
#pragma once

#include <maxminddb.h>

#include <memory>
#include <string>

#include "net/ip_addr.h"

namespace rampart::guard {

struct GeoInfo {
  char country[3] = {};  // ISO 3166-1 alpha-2, empty when unknown
  uint32_t asn = 0;      // 0 when unknown
};

class GeoDb {
 public:
  // nullptr and *error set when the file cannot be opened as a MaxMind DB.
  static std::unique_ptr<GeoDb> open(const std::string& path, std::string* error);
  ~GeoDb();
  GeoDb(const GeoDb&) = delete;
  GeoDb& operator=(const GeoDb&) = delete;

  // Fills the fields this DB has (country.iso_code, autonomous_system_number); leaves the others.
  void lookup(const net::IpAddr& ip, GeoInfo* out) const;
  const std::string& path() const { return path_; }

 private:
  GeoDb() = default;
  mutable MMDB_s db_{};
  std::string path_;
};

}  // namespace rampart::guard
