// SessionStore: random ids from OpenSSL's CSPRNG, keyed by their SHA-256.
#include "control/session_store.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace rampart::control {

SessionStore::SessionStore(std::chrono::seconds ttl, size_t max_sessions)
    : ttl_(ttl), max_sessions_(max_sessions == 0 ? 1 : max_sessions) {}

std::string SessionStore::key_of(std::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string SessionStore::create() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(2 * sizeof raw);
  for (unsigned char b : raw) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 0xf]);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Clock::time_point now = now_();
  if (expiry_.size() >= max_sessions_) evict_locked(now);
  expiry_[key_of(id)] = now + ttl_;
  return id;
}

void SessionStore::evict_locked(Clock::time_point now) {
  for (auto it = expiry_.begin(); it != expiry_.end();) {
    it = it->second <= now ? expiry_.erase(it) : std::next(it);
  }
  while (expiry_.size() >= max_sessions_) {
    auto oldest = expiry_.begin();
    for (auto it = expiry_.begin(); it != expiry_.end(); ++it)
      if (it->second < oldest->second) oldest = it;
    expiry_.erase(oldest);
  }
}

bool SessionStore::valid(std::string_view id) {
  return expires_in(id) > 0;
}

long long SessionStore::expires_in(std::string_view id) {
  if (id.empty()) return 0;
  std::string key = key_of(id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = expiry_.find(key);
  if (it == expiry_.end()) return 0;
  Clock::time_point now = now_();
  if (it->second <= now) {
    expiry_.erase(it);
    return 0;
  }
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second - now).count();
  return left > 0 ? left : 1;
}

void SessionStore::remove(std::string_view id) {
  std::string key = key_of(id);
  std::lock_guard<std::mutex> lock(mu_);
  expiry_.erase(key);
}

void SessionStore::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  expiry_.clear();
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return expiry_.size();
}

}  // namespace rampart::control
