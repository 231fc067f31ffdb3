// AuthThrottle and RateLimitedLog.
#include "control/api_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "control/http_message.h"
#include "core/log.h"

namespace rampart::control {

std::string short_hash(std::string_view secret) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 0xf]);
  }
  return out;
}

namespace {
std::array<uint8_t, 32> digest_of(std::string_view s) {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  std::array<uint8_t, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}
}  // namespace

void ApiSecrets::set(const config::Credentials& c) {
  auto s = std::make_shared<Set>();
  auto add = [&](std::string_view token, Match match, config::TokenScope scope, std::string who) {
    if (token.empty()) return;
    s->entries.push_back({digest_of(token), match, scope, std::move(who)});
  };
  add(c.api_token, Match::kApi, config::TokenScope::kWrite, "token:" + short_hash(c.api_token));
  for (const auto& t : c.tokens)
    add(t.token, Match::kApi, t.scope, "token:" + t.name + ":" + short_hash(t.token));
  add(c.fleet_token, Match::kFleet, config::TokenScope::kRead,
      "fleet:" + short_hash(c.fleet_token));
  std::lock_guard lock(mu_);
  set_ = std::move(s);
}

ApiSecrets::Identity ApiSecrets::identify(std::string_view given) const {
  std::shared_ptr<const Set> s;
  {
    std::lock_guard lock(mu_);
    s = set_;
  }
  const Digest d = digest_of(given);
  // Every entry is compared (no early exit): the time taken does not say which one matched.
  const Entry* found = nullptr;
  for (const Entry& e : s->entries)
    if (CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0 && found == nullptr) found = &e;
  if (found == nullptr) return {};
  return {found->match, found->scope, found->who};
}

bool ApiSecrets::holds(std::string_view who, config::TokenScope scope) const {
  std::shared_ptr<const Set> s;
  {
    std::lock_guard lock(mu_);
    s = set_;
  }
  for (const Entry& e : s->entries)
    if (e.match == Match::kApi && e.who == who && e.scope == scope) return true;
  return false;
}

AuthThrottle::Key AuthThrottle::key_of(const net::IpAddr& source) {
  net::IpAddr ip = source.unmapped();
  Key k{};
  k[0] = ip.is_v4() ? 4 : 6;
  std::memcpy(k.data() + 1, ip.bytes(), ip.is_v4() ? 4 : 8);  // IPv6: the /64
  return k;
}

int64_t AuthThrottle::wait_ms(const net::IpAddr& source, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(source));
  const Entry& e = it != entries_.end() ? it->second : overflow_;
  if (it == entries_.end() && (entries_.size() < opt_.max_sources || order_.empty() ||
                               std::get<0>(*order_.begin()) <= now_ms))
    return 0;  // room for it in the table: the overflow's block is not its own
  return std::max<int64_t>(0, e.blocked_until_ms - now_ms);
}

int64_t AuthThrottle::fail(Entry& e, int64_t now_ms) const {
  if (e.failures > 0 && now_ms - e.last_failure_ms >= opt_.forget_ms) e.failures = 0;
  e.failures = e.failures < 1000 ? e.failures + 1 : e.failures;
  e.last_failure_ms = now_ms;
  if (e.failures <= opt_.free_failures) return 0;
  int64_t wait = opt_.first_wait_ms;
  for (uint32_t i = opt_.free_failures + 1; i < e.failures && wait < opt_.max_wait_ms; ++i)
    wait *= 2;
  wait = std::min(wait, opt_.max_wait_ms);
  e.blocked_until_ms = now_ms + wait;
  return wait;
}

int64_t AuthThrottle::failed(const net::IpAddr& source, int64_t now_ms) {
  const Key key = key_of(source);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= opt_.max_sources && !order_.empty()) {
      // Only an unblocked source makes room: forgetting a blocked one would lift its block.
      if (std::get<0>(*order_.begin()) > now_ms) {
        ++overflow_failures_;
        return fail(overflow_, now_ms);
      }
      entries_.erase(std::get<2>(*order_.begin()));
      order_.erase(order_.begin());
    }
    it = entries_.emplace(key, Entry{}).first;
  } else {
    order_.erase(rank_of(key, it->second));
  }
  const int64_t wait = fail(it->second, now_ms);
  order_.insert(rank_of(key, it->second));
  return wait;
}

void AuthThrottle::succeeded(const net::IpAddr& source) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(source));
  if (it == entries_.end()) return;
  order_.erase(rank_of(it->first, it->second));
  entries_.erase(it);
}

size_t AuthThrottle::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t AuthThrottle::overflow_failures() const {
  std::lock_guard lock(mu_);
  return overflow_failures_;
}

void audit_write(const HttpRequest& req, int status, std::string_view object,
                 std::string_view who) {
  nlohmann::json line = {
      {"method", req.method},
      {"path", req.path},
      {"object", std::string(object)},
      {"status", status},
      {"who", who.empty() ? req.who : std::string(who)},
      {"from", (req.remote_addr.find(':') != std::string::npos ? "[" + req.remote_addr + "]"
                                                               : req.remote_addr) +
                   ":" + std::to_string(req.remote_port)}};
  RLOG_INFO("audit ", line.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
}

void RateLimitedLog::warn(const std::string& line, int64_t now_ms) {
  uint64_t left_out = 0;
  {
    std::lock_guard lock(mu_);
    const int64_t second = now_ms / 1000;
    if (second != second_) {
      second_ = second;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++suppressed_;
      return;
    }
    ++used_;
    left_out = suppressed_;
    suppressed_ = 0;
  }
  if (left_out > 0)
    RLOG_WARN(line, " (", left_out, " similar lines left out before this one)");
  else
    RLOG_WARN(line);
}

}  // namespace rampart::control
