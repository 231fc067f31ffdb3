// control::IdempotencyKeys: the API's memory of Idempotency-Key headers
// (draft-ietf-httpapi-idempotency-key-header, as Stripe uses it) on one edge. A write that
// arrives with a key already answered, for the same request (method, path and body: the
// fingerprint), gets that answer again and changes nothing; the same key on another request is
// refused (422); a key whose first request is still being answered is refused too (409). An
// answer that changed nothing and may change on a retry (409, 5xx) is not kept, and one that
// only says the outcome is unknown (504) is not either: the retry runs again and the
// ConfigApplier finds the object the first attempt stored (its key is stored with it), on any
// edge. Keys live kTtlMs, at most kMaxKeys (the oldest go first). Owner: control::AppsApi.
// Threads: any (HTTP pool); one mutex, never held while a write runs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "control/api_outcome.h"

namespace rampart::control {

class IdempotencyKeys {
 public:
  static constexpr int64_t kTtlMs = 24 * 3600 * 1000;
  static constexpr size_t kMaxKeys = 10000;
  static constexpr size_t kMaxKeyLength = 255;

  // What begin() found.
  struct Start {
    std::optional<Outcome> answer;  // answer this (a replay, or a refusal) and run nothing
    bool unknown_before = false;    // an earlier attempt with this key ended "outcome unknown"
  };
  // Registers `key` (non-empty) for the request `fingerprint`; `now_ms`: any monotonic clock.
  Start begin(const std::string& key, const std::string& fingerprint, int64_t now_ms);
  // The answer of the request begin() let run.
  void finish(const std::string& key, const Outcome& outcome, int64_t now_ms);

  // nullopt, or why `key` cannot be an Idempotency-Key (empty, too long, not visible ASCII).
  static std::optional<std::string> invalid(const std::string& key);
  // The id of an object created without one under `key` (32 hex digits, as generated ids): a
  // retry of the same POST names the same object, on any edge, so it can never make a second.
  static std::string derived_id(const std::string& key) {
    return fingerprint("id", key, "").substr(0, 32);
  }
  // SHA-256 of method, path and body (hex).
  static std::string fingerprint(const std::string& method, const std::string& path,
                                 const std::string& body);

 private:
  enum class State { kRunning, kDone, kUnknown };
  struct Entry {
    std::string fingerprint;
    State state = State::kRunning;
    Outcome outcome;
    int64_t at_ms = 0;
  };
  void expire(int64_t now_ms);

  std::mutex mu_;
  std::map<std::string, Entry> keys_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (at_ms, key), oldest first
};

}  // namespace rampart::control
