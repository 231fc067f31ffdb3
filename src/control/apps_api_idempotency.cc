// IdempotencyKeys: the per-edge memory of Idempotency-Key answers.
#include "control/apps_api_idempotency.h"

#include <openssl/evp.h>

namespace rampart::control {

std::optional<std::string> IdempotencyKeys::invalid(const std::string& key) {
  if (key.empty()) return "Idempotency-Key: empty";
  if (key.size() > kMaxKeyLength)
    return "Idempotency-Key: longer than " + std::to_string(kMaxKeyLength) + " characters";
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return "Idempotency-Key: only visible ASCII characters (e.g. a UUID) are accepted";
  return std::nullopt;
}

std::string IdempotencyKeys::fingerprint(const std::string& method, const std::string& path,
                                         const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const std::string* part : {&method, &path, &body}) {
    EVP_DigestUpdate(ctx, part->data(), part->size());
    EVP_DigestUpdate(ctx, "\n", 1);
  }
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

void IdempotencyKeys::expire(int64_t now_ms) {
  while (!order_.empty() && (order_.front().first + kTtlMs < now_ms || order_.size() > kMaxKeys)) {
    auto it = keys_.find(order_.front().second);
    // A running request keeps its key; it is answered soon and re-queued then.
    if (it != keys_.end() && it->second.at_ms == order_.front().first &&
        it->second.state != State::kRunning)
      keys_.erase(it);
    order_.pop_front();
  }
}

IdempotencyKeys::Start IdempotencyKeys::begin(const std::string& key,
                                              const std::string& fingerprint, int64_t now_ms) {
  std::lock_guard lock(mu_);
  expire(now_ms);
  Start start;
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    Entry& e = it->second;
    if (e.fingerprint != fingerprint) {
      start.answer = Outcome::failure(
          422, kErrIdempotencyKeyReused,
          "this Idempotency-Key was used for another request (method, path or body differ); "
          "use a new key for a new request");
      return start;
    }
    if (e.state == State::kRunning) {
      start.answer = Outcome::failure(
          409, kErrIdempotencyKeyInProgress,
          "a request with this Idempotency-Key is still being answered; retry when it is");
      return start;
    }
    if (e.state == State::kDone) {
      start.answer = e.outcome;
      return start;
    }
    start.unknown_before = true;  // kUnknown: run it again
  }
  Entry& e = keys_[key];
  e.fingerprint = fingerprint;
  e.state = State::kRunning;
  e.at_ms = now_ms;
  order_.emplace_back(now_ms, key);
  return start;
}

void IdempotencyKeys::finish(const std::string& key, const Outcome& outcome, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  Entry& e = it->second;
  if (outcome.status == 504) {
    e.state = State::kUnknown;  // the retry must run again and learn the truth
  } else if (outcome.status >= 500 || outcome.status == 409) {
    // Not made (the store unreachable, a conflict to resolve by reading again): the key may be
    // used again for the retry.
    keys_.erase(it);
    return;
  } else {
    e.state = State::kDone;
    e.outcome = outcome;
  }
  e.at_ms = now_ms;
  order_.emplace_back(now_ms, key);
}

}  // namespace rampart::control
