// SessionStore: random ids and CSRF tokens from OpenSSL's CSPRNG, sessions keyed by the SHA-256
// of their id.
#include "control/session_store.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace rampart::control {

SessionStore::SessionStore(Options options) : opt_(options) {
  if (opt_.max_sessions == 0) opt_.max_sessions = 1;
}

void SessionStore::set_timeouts(std::chrono::seconds lifetime, std::chrono::seconds idle) {
  std::lock_guard<std::mutex> lock(mu_);
  opt_.lifetime = lifetime;
  opt_.idle = idle;
}

std::chrono::seconds SessionStore::lifetime() const {
  std::lock_guard<std::mutex> lock(mu_);
  return opt_.lifetime;
}

std::string SessionStore::key_of(std::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string SessionStore::random_hex32() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof raw);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

SessionStore::Clock::time_point SessionStore::end_of(const Session& s) const {
  const Clock::time_point absolute = s.created + opt_.lifetime;
  if (opt_.idle.count() <= 0) return absolute;
  return std::min(absolute, s.last_used + opt_.idle);
}

std::string SessionStore::create(config::TokenScope scope, std::string credential) {
  std::string id = random_hex32();
  Session s;
  s.csrf_token = random_hex32();
  s.scope = scope;
  s.credential = std::move(credential);
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point now = now_();
  s.created = s.last_used = now;
  if (sessions_.size() >= opt_.max_sessions) evict_locked(now);
  sessions_[key_of(id)] = std::move(s);
  return id;
}

void SessionStore::evict_locked(Clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = end_of(it->second) <= now ? sessions_.erase(it) : std::next(it);
  while (sessions_.size() >= opt_.max_sessions) {
    auto first = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (end_of(it->second) < end_of(first->second)) first = it;
    sessions_.erase(first);
  }
}

std::optional<SessionStore::Info> SessionStore::find(std::string_view id, bool touch) {
  if (id.empty()) return std::nullopt;
  const std::string key = key_of(id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  const Clock::time_point now = now_();
  Session& s = it->second;
  if (end_of(s) <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (touch) s.last_used = now;
  auto secs = [](Clock::duration d) {
    return std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(d).count());
  };
  Info info;
  info.csrf_token = s.csrf_token;
  info.scope = s.scope;
  info.credential = s.credential;
  info.expires_in = secs(s.created + opt_.lifetime - now);
  info.idle_expires_in = secs(end_of(s) - now);
  return info;
}

long long SessionStore::expires_in(std::string_view id) {
  const auto info = find(id, false);
  return info ? info->idle_expires_in : 0;
}

void SessionStore::remove(std::string_view id) {
  const std::string key = key_of(id);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(key);
}

size_t SessionStore::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point now = now_();
  size_t live = 0;
  for (const auto& [key, s] : sessions_) live += end_of(s) > now ? 1 : 0;
  sessions_.clear();
  return live;
}

size_t SessionStore::retain(
    const std::function<bool(const std::string&, config::TokenScope)>& keep) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t ended = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (keep(it->second.credential, it->second.scope)) {
      ++it;
    } else {
      it = sessions_.erase(it);
      ++ended;
    }
  }
  return ended;
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace rampart::control
