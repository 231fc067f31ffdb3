// Brute-force defence of the API's credentials (docs/hardening.md, "API"): a per-source
// exponential backoff of failed sign-ins and bearer attempts, and a rate-limited log of the
// failures. Sources are IPv4 addresses and IPv6 /64 prefixes (one host usually owns a whole /64).
// Pure apart from the mutex: the clock is an argument, so tests need no sleeps. Any thread (the
// API's I/O thread checks bearer tokens, handler threads check sign-ins).
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "net/ip_addr.h"

namespace rampart::control {

// The first 8 hex characters of SHA-256(secret): names a token or a session in logs and audit
// lines without giving it away.
std::string short_hash(std::string_view secret);

class AuthThrottle {
 public:
  struct Options {
    uint32_t free_failures = 5;           // failures before the first wait
    int64_t first_wait_ms = 1000;         // then doubled at every further failure ...
    int64_t max_wait_ms = 5 * 60 * 1000;  // ... up to this
    int64_t forget_ms = 15 * 60 * 1000;   // no failure for this long: the source starts over
    size_t max_sources = 4096;            // table size; the stalest source makes room
  };
  using Key = std::array<uint8_t, 17>;  // family byte + address (IPv6: the /64, rest zero)

  AuthThrottle() : AuthThrottle(Options{}) {}
  explicit AuthThrottle(Options options) : opt_(options) {}

  // How long `source` must still wait before its credentials are looked at again (0: now).
  int64_t wait_ms(const net::IpAddr& source, int64_t now_ms);
  // Records a failed attempt; returns the wait it now has (0 while within free_failures).
  int64_t failed(const net::IpAddr& source, int64_t now_ms);
  // A right credential: the source's failures are forgotten.
  void succeeded(const net::IpAddr& source);
  size_t size();

  static Key key_of(const net::IpAddr& source);

 private:
  struct Entry {
    uint32_t failures = 0;
    int64_t last_failure_ms = 0;
    int64_t blocked_until_ms = 0;
    std::list<Key>::iterator lru;
  };

  Options opt_;
  std::mutex mu_;
  std::map<Key, Entry> entries_;  // ordered: no hash an attacker could collide
  std::list<Key> lru_;            // by last failure, stalest first
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
