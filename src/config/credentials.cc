// resolve_credentials: tokens from the config or their files, checked for length and characters.
#include "config/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

// One of the two token pairs (inline value or file). `required`: an absent token is an error.
bool resolve_one(const std::string& inline_token, const std::string& file, const std::string& key,
                 bool required, std::string* out, std::vector<ConfigError>* errors) {
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
  } else if (required) {
    errors->push_back(
        {key + ".token",
         "the API needs a token; set api.token (e.g. token: ${RAMPART_API_TOKEN} with that "
         "variable exported) or api.token_file"});
  }
  return errors->size() == before;
}

}  // namespace

bool read_token_file(const std::string& path, std::string* token, std::string* error) {
  // O_NONBLOCK: a FIFO or a device never blocks the reader; only a regular file is accepted.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *error = "cannot read " + path + ": " + std::strerror(errno) +
             "; expected a file whose first line is the token";
    return false;
  }
  struct stat st {};
  std::string text(kMaxTokenFileBytes, '\0');
  ssize_t n = -1;
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular) n = ::read(fd, text.data(), text.size());
  const int read_errno = errno;
  ::close(fd);
  if (!regular) {
    *error = "cannot read " + path +
             ": not a regular file; expected a file whose first line is "
             "the token";
    return false;
  }
  if (n < 0) {
    *error = "cannot read " + path + ": " + std::strerror(read_errno);
    return false;
  }
  text.resize(static_cast<size_t>(n));
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
  resolve_one(cfg.api.token, cfg.api.token_file, "api", true, &c.api_token, errors);
  if (resolve_one(cfg.fleet.token, cfg.fleet.token_file, "fleet", false, &c.fleet_token, errors) &&
      !c.fleet_token.empty() && c.fleet_token == c.api_token)
    errors->push_back({cfg.fleet.token.empty() ? "fleet.token_file" : "fleet.token",
                       "is the same as the API token; the fleet credential must be a token of its "
                       "own, so that a peer holding it cannot change this edge"});
  if (errors->size() != before) return false;
  *out = std::move(c);
  return true;
}

}  // namespace rampart::config
