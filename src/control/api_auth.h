// Brute-force defence of the API's credentials (docs/hardening.md, "API"): a per-source
// exponential backoff of failed sign-ins and bearer attempts, and a rate-limited log of the
// failures. Sources are IPv4 addresses and IPv6 /64 prefixes: a host is usually given a whole /64
// (SLAAC, RFC 6177's delegations) and can pick any of its 2^64 addresses per attempt, so keying by
// address would give each guess a fresh budget. Fixed at /64, not a knob: a shorter prefix would
// put unrelated customers of one provider under one backoff, a longer one is free to rotate.
// The table is bounded; a blocked source is never forgotten to make room while an unblocked one
// can go, and when every entry is blocked, failing sources not in the table share one global
// backoff entry (the overflow) instead of going unthrottled.
// Pure apart from the mutex: the clock is an argument, so tests need no sleeps. Any thread (the
// API's I/O thread checks bearer tokens, handler threads check sign-ins).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/credentials.h"
#include "net/ip_addr.h"

namespace rampart::control {

// The first 8 hex characters of SHA-256(secret): names a token or a session in logs and audit
// lines without giving it away.
std::string short_hash(std::string_view secret);

// The API's credentials (api.token, the api.tokens with their scopes, the fleet token), kept as
// SHA-256 digests and compared in constant time (both sides hashed first, so the length leaks
// neither). The one check of a presented token: bearer headers (ApiServer) and the dashboard's
// sign-in form use it, so a reload changes both at once. set() from any thread (a SIGHUP reload),
// check() from any thread.
class ApiSecrets {
 public:
  enum class Match : uint8_t { kNone, kApi, kFleet };
  // What a presented token is.
  struct Identity {
    Match match = Match::kNone;
    config::TokenScope scope = config::TokenScope::kRead;  // kApi: what it may do
    std::string who;  // "token:1a2b3c4d" (api.token), "token:viewer:1a2b3c4d" (api.tokens),
                      // "fleet:1a2b3c4d"
  };
  // An empty token matches nothing (an empty fleet token: no fleet credential).
  void set(const config::Credentials& credentials);
  void set(std::string_view api_token, std::string_view fleet_token) {
    set(config::Credentials{std::string(api_token), {}, std::string(fleet_token)});
  }
  Identity identify(std::string_view given) const;
  // Which credential `given` is; *who (may be null) names it for logs.
  Match check(std::string_view given, std::string* who = nullptr) const {
    Identity id = identify(given);
    if (who != nullptr) *who = std::move(id.who);
    return id.match;
  }
  // Whether an API token named `who` (Identity::who) with `scope` is still accepted.
  bool holds(std::string_view who, config::TokenScope scope) const;

 private:
  using Digest = std::array<uint8_t, 32>;
  struct Entry {
    Digest digest{};
    Match match = Match::kApi;
    config::TokenScope scope = config::TokenScope::kWrite;
    std::string who;
  };
  struct Set {
    std::vector<Entry> entries;  // every non-empty token
  };
  mutable std::mutex mu_;
  std::shared_ptr<const Set> set_ = std::make_shared<Set>();  // the pointer guarded by mu_
};

class AuthThrottle {
 public:
  struct Options {
    uint32_t free_failures = 5;           // failures before the first wait
    int64_t first_wait_ms = 1000;         // then doubled at every further failure ...
    int64_t max_wait_ms = 5 * 60 * 1000;  // ... up to this
    int64_t forget_ms = 15 * 60 * 1000;   // no failure for this long: the source starts over
    size_t max_sources = 4096;            // table size; an unblocked source makes room (overflow)
  };
  using Key = std::array<uint8_t, 17>;  // family byte + address (IPv6: the /64, rest zero)

  AuthThrottle() : AuthThrottle(Options{}) {}
  explicit AuthThrottle(Options options) : opt_(options) {}

  // How long `source` must still wait before its credentials are looked at again (0: now). A
  // source not in the table waits the overflow's wait while the table is full of blocked sources.
  int64_t wait_ms(const net::IpAddr& source, int64_t now_ms);
  // Records a failed attempt; returns the wait it now has (0 while within free_failures).
  int64_t failed(const net::IpAddr& source, int64_t now_ms);
  // A right credential: the source's failures are forgotten.
  void succeeded(const net::IpAddr& source);
  size_t size();
  // Failures that went to the overflow entry (the table was full of blocked sources).
  uint64_t overflow_failures() const;

  static Key key_of(const net::IpAddr& source);

 private:
  struct Entry {
    uint32_t failures = 0;
    int64_t last_failure_ms = 0;
    int64_t blocked_until_ms = 0;
  };
  // Eviction order: the block that ends first, then the stalest failure. Its first element is
  // unblocked whenever any entry is.
  using Rank = std::tuple<int64_t, int64_t, Key>;
  static Rank rank_of(const Key& key, const Entry& e) {
    return {e.blocked_until_ms, e.last_failure_ms, key};
  }
  // Counts one failure in `e`; returns its wait.
  int64_t fail(Entry& e, int64_t now_ms) const;

  Options opt_;
  mutable std::mutex mu_;
  std::map<Key, Entry> entries_;  // ordered: no hash an attacker could collide
  std::set<Rank> order_;          // every entry of entries_, eviction order
  Entry overflow_;                // failing sources that found the table full of blocked ones
  uint64_t overflow_failures_ = 0;
};

struct HttpRequest;

// The audit line of one API write (docs/hardening.md, "Audit"): to the edge log as
//   audit {"method":"PATCH","path":"...","object":"ID","status":200,"who":"token:1a2b3c4d",
//          "from":"127.0.0.1:51234"}
// `object`: the app, rule or ban the write named or created ("" when none); `who` defaults to
// req.who. Every client-supplied byte is JSON-escaped (invalid UTF-8 replaced).
void audit_write(const HttpRequest& req, int status, std::string_view object,
                 std::string_view who = {});

// At most `per_second` lines a second; the next line after a quiet spell says how many were left
// out. Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(int per_second) : per_second_(per_second) {}
  // Logs `line` (WARN) unless this second's budget is spent.
  void warn(const std::string& line, int64_t now_ms);

 private:
  int per_second_;
  std::mutex mu_;
  int64_t second_ = -1;
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace rampart::control
