// resolve_credentials: tokens from the config or their files, checked for length and characters.
#include "config/credentials.h"

#include "config/file_read.h"

namespace rampart::config {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Checks one token; `where` names it in messages ("api.token" or "api.token_file (PATH)").
void check_token(const std::string& token, const std::string& path, const std::string& where,
                 std::vector<ConfigError>* errors) {
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      errors->push_back({path, where + " has a space, a control or a non-ASCII character; a token "
                                       "travels in an HTTP header: use printable ASCII only"});
      return;
    }
  }
  if (token.size() < kMinTokenLength)
    errors->push_back({path, where + " is " + std::to_string(token.size()) +
                                 " characters long; a token needs at least " +
                                 std::to_string(kMinTokenLength) +
                                 " (make one with: openssl rand -hex 32)"});
}

// One token pair (inline value or file). `missing`: the error of an absent token ("" = none, the
// token is optional).
bool resolve_one(const std::string& inline_token, const std::string& file, const std::string& key,
                 const std::string& missing, std::string* out, std::vector<ConfigError>* errors) {
  const size_t before = errors->size();
  out->clear();
  if (!inline_token.empty()) {
    *out = inline_token;
    check_token(*out, key + ".token", "the token", errors);
  } else if (!file.empty()) {
    std::string error;
    if (!read_token_file(file, out, &error))
      errors->push_back({key + ".token_file", error});
    else
      check_token(*out, key + ".token_file", "the token in " + file, errors);
  } else if (!missing.empty()) {
    errors->push_back({key + ".token", missing});
  }
  return errors->size() == before;
}

}  // namespace

bool read_token_file(const std::string& path, std::string* token, std::string* error) {
  // Never blocks, never opens what is not a regular file, never reads past the cap.
  std::string text, why;
  if (!read_regular_file(path, kMaxSecretFileBytes, &text, &why)) {
    *error = "cannot read " + path + ": " + why + "; expected a file whose first line is the token";
    return false;
  }
  *token = trim(text.substr(0, text.find('\n')));
  if (token->empty()) {
    *error = path + " is empty; expected a file whose first line is the token";
    return false;
  }
  return true;
}

bool resolve_credentials(const Config& cfg, Credentials* out, std::vector<ConfigError>* errors) {
  const size_t before = errors->size();
  Credentials c;
  resolve_one(cfg.api.token, cfg.api.token_file, "api",
              "the API needs a token; set api.token (e.g. token: ${RAMPART_API_TOKEN} with that "
              "variable exported) or api.token_file",
              &c.api_token, errors);
  for (size_t i = 0; i < cfg.api.tokens.size(); ++i) {
    const ApiToken& t = cfg.api.tokens[i];
    const std::string key = "api.tokens[" + std::to_string(i) + "]";
    ScopedToken s{t.name, "", t.scope};
    if (!resolve_one(t.token, t.token_file, key, "missing; set token or token_file", &s.token,
                     errors))
      continue;
    // One token, one scope: the same token twice would make its scope depend on the order.
    bool dup = s.token == c.api_token;
    for (const auto& other : c.tokens) dup = dup || other.token == s.token;
    if (dup)
      errors->push_back({key + (t.token.empty() ? ".token_file" : ".token"),
                         "is the same as api.token or an earlier api.tokens entry; give every "
                         "token a value of its own"});
    c.tokens.push_back(std::move(s));
  }
  if (resolve_one(cfg.fleet.token, cfg.fleet.token_file, "fleet", "", &c.fleet_token, errors) &&
      !c.fleet_token.empty()) {
    bool same = c.fleet_token == c.api_token;
    for (const auto& t : c.tokens) same = same || t.token == c.fleet_token;
    if (same)
      errors->push_back({cfg.fleet.token.empty() ? "fleet.token_file" : "fleet.token",
                         "is the same as the API token (or one of api.tokens); the fleet "
                         "credential must be a token of its own, so that a peer holding it cannot "
                         "change this edge"});
  }
  if (errors->size() != before) return false;
  *out = std::move(c);
  return true;
}

}  // namespace rampart::config
