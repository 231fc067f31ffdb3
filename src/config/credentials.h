// The secrets a config names: the API's admin token (api.token / api.token_file) and the fleet's
// credential (fleet.token / fleet.token_file), read and checked. `rampart check`, `serve` at
// start and every SIGHUP reload use the same function, so a token that check accepts is one serve
// accepts. Pure apart from reading the two files; any thread.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::config {

// Shorter tokens are refused: 16 random characters are what brute force cannot reach through the
// API's per-source backoff (docs/hardening.md, "API"). `openssl rand -hex 32` makes a good one.
inline constexpr size_t kMinTokenLength = 16;

// One of api.tokens, read.
struct ScopedToken {
  std::string name;
  std::string token;
  TokenScope scope = TokenScope::kRead;
  bool operator==(const ScopedToken&) const = default;
};

struct Credentials {
  std::string api_token;            // api.token: scope write
  std::vector<ScopedToken> tokens;  // api.tokens, in the config's order
  std::string fleet_token;          // empty: no fleet credential (the analytics fan-out is off)
  bool operator==(const Credentials&) const = default;
};

// Fills *out from `cfg`; false with one error per problem (a missing or short token, an unreadable
// token file, a fleet token equal to the API token, two API tokens that are the same).
bool resolve_credentials(const Config& cfg, Credentials* out, std::vector<ConfigError>* errors);

// The first line of a token file without surrounding whitespace; false with *error. The file
// must be a regular file of at most kMaxSecretFileBytes (config/file_read.h), the limit that
// validate_api checks too.
bool read_token_file(const std::string& path, std::string* token, std::string* error);

}  // namespace rampart::config
