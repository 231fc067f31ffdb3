// Dashboard sign-in sessions, in memory: random 256-bit ids with an absolute expiry. Only a
// SHA-256 of each id is kept, so neither a memory dump nor the lookup's timing gives a usable
// id away. Bounded: at most `max_sessions`; creating one more drops expired sessions first, then
// the one closest to expiry. Thread-safe (one mutex): the API's handler threads share it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rampart::control {

class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kDefaultTtl{12 * 3600};

  explicit SessionStore(std::chrono::seconds ttl = kDefaultTtl, size_t max_sessions = 1024);

  // A new session; returns its id (64 lowercase hex characters) for the cookie.
  std::string create();
  // True while `id` names a session that has not expired nor been removed.
  bool valid(std::string_view id);
  // Seconds until `id` expires; 0 when it is not valid.
  long long expires_in(std::string_view id);
  void remove(std::string_view id);
  // Ends every session (the API token changed).
  void clear();
  size_t size();
  std::chrono::seconds ttl() const { return ttl_; }

  // Tests: replace the clock.
  void set_clock(std::function<Clock::time_point()> now) { now_ = std::move(now); }

 private:
  static std::string key_of(std::string_view id);
  void evict_locked(Clock::time_point now);

  std::chrono::seconds ttl_;
  size_t max_sessions_;
  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
  std::mutex mu_;
  std::map<std::string, Clock::time_point> expiry_;  // SHA-256(id) -> expiry
};

}  // namespace rampart::control
