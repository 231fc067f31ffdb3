#include "guard/geoip.h"

#include <netinet/in.h>

#include <cstring>

namespace rampart::guard {

std::unique_ptr<GeoDb> GeoDb::open(const std::string& path, std::string* error) {
  std::unique_ptr<GeoDb> db(new GeoDb());
  int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->db_);
  if (rc != MMDB_SUCCESS) {
    *error = path + ": " + MMDB_strerror(rc);
    if (rc == MMDB_IO_ERROR) *error += std::string(" (") + std::strerror(errno) + ")";
    return nullptr;
  }
  db->path_ = path;
  return db;
}

GeoDb::~GeoDb() {
  if (!path_.empty()) MMDB_close(&db_);
}

void GeoDb::lookup(const net::IpAddr& addr, GeoInfo* out) const {
  const net::IpAddr ip = addr.unmapped();
  sockaddr_storage ss{};
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, ip.bytes(), 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, ip.bytes(), 16);
  }
  int mmdb_error = 0;
  MMDB_lookup_result_s res =
      MMDB_lookup_sockaddr(&db_, reinterpret_cast<const sockaddr*>(&ss), &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !res.found_entry) return;
  MMDB_entry_data_s data;
  if (MMDB_get_value(&res.entry, &data, "country", "iso_code", nullptr) == MMDB_SUCCESS &&
      data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size == 2) {
    std::memcpy(out->country, data.utf8_string, 2);
    out->country[2] = '\0';
  }
  if (MMDB_get_value(&res.entry, &data, "autonomous_system_number", nullptr) == MMDB_SUCCESS &&
      data.has_data) {
    if (data.type == MMDB_DATA_TYPE_UINT32)
      out->asn = data.uint32;
    else if (data.type == MMDB_DATA_TYPE_UINT16)
      out->asn = data.uint16;
    else if (data.type == MMDB_DATA_TYPE_UINT64)
      out->asn = static_cast<uint32_t>(data.uint64);
  }
}

}  // namespace rampart::guard
