// Dashboard sign-in sessions, in memory: random 256-bit ids, each with its CSRF token (a second
// random 256-bit value that the page sends back in X-CSRF-Token on writes), the scope and the
// name of the token it signed in with, an absolute lifetime (api.session_timeout) and an idle
// timeout (api.session_idle_timeout) that every authenticated request restarts. Only a SHA-256
// of each id is kept, so neither a memory dump nor the lookup's timing gives a usable id away.
// Bounded: at most `max_sessions`; creating one more drops expired sessions first, then the one
// closest to expiry. Thread-safe (one mutex): the API's I/O thread and handler threads share it;
// the clock is replaceable so tests need no sleeps.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace rampart::control {

class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::seconds lifetime{12 * 3600};  // from sign-in
    std::chrono::seconds idle{3600};           // from the last authenticated request; 0 = none
    size_t max_sessions = 1024;
  };
  // What a valid session is, for the caller.
  struct Info {
    std::string csrf_token;  // 64 lowercase hex characters
    config::TokenScope scope = config::TokenScope::kRead;
    std::string credential;         // the token it signed in with, as ApiSecrets names it
    long long expires_in = 0;       // seconds to the absolute expiry (>= 1)
    long long idle_expires_in = 0;  // seconds to the idle expiry (>= 1; expires_in without one)
  };

  SessionStore() : SessionStore(Options{}) {}
  explicit SessionStore(Options options);

  // New timeouts (a SIGHUP reload); they apply to the sessions already open too.
  void set_timeouts(std::chrono::seconds lifetime, std::chrono::seconds idle);
  std::chrono::seconds lifetime() const;

  // A new session; returns its id (64 lowercase hex characters) for the cookie.
  std::string create(config::TokenScope scope, std::string credential);
  // The session `id` names while it has neither expired nor been removed. `touch`: this is an
  // authenticated request, so its idle timeout starts again.
  std::optional<Info> find(std::string_view id, bool touch);
  // The request authenticated by `id` was accepted: its idle timeout starts again.
  void touch(std::string_view id) { find(id, true); }
  bool valid(std::string_view id) { return find(id, false).has_value(); }
  // Seconds until `id` expires (the earlier of both timeouts); 0 when it is not valid.
  long long expires_in(std::string_view id);
  void remove(std::string_view id);
  // Ends every session; returns how many had not expired.
  size_t clear();
  // Ends the sessions for which keep(credential, scope) is false (a token changed); returns how
  // many.
  size_t retain(const std::function<bool(const std::string&, config::TokenScope)>& keep);
  size_t size();

  // Tests: replace the clock.
  void set_clock(std::function<Clock::time_point()> now) { now_ = std::move(now); }

  // 64 lowercase hex characters of OpenSSL's CSPRNG (throws when it fails).
  static std::string random_hex32();

 private:
  struct Session {
    Clock::time_point created, last_used;
    std::string csrf_token;
    config::TokenScope scope = config::TokenScope::kRead;
    std::string credential;
  };
  static std::string key_of(std::string_view id);
  // When `s` ends with the current timeouts.
  Clock::time_point end_of(const Session& s) const;
  void evict_locked(Clock::time_point now);

  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
  mutable std::mutex mu_;
  Options opt_;                              // guarded by mu_
  std::map<std::string, Session> sessions_;  // SHA-256(id) -> session; guarded by mu_
};

}  // namespace rampart::control
