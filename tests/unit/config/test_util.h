// Helpers shared by the config tests.
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/parse.h"

namespace rampart::config {

// Sets (or, with nullptr, unsets) an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

inline std::string dump(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.to_string();
  return out;
}

// An error at exactly `path` whose message contains `fragment` (and has `code` when given).
inline bool has_error(const std::vector<ConfigError>& errors, std::string_view path,
                      std::string_view fragment, std::optional<int> code = std::nullopt) {
  for (const auto& e : errors)
    if (e.path == path && e.message.find(fragment) != std::string::npos &&
        (!code || e.code == *code))
      return true;
  return false;
}

// The first error parse_yaml reports for `yaml` ("" if it parses).
inline std::string first_error(const std::string& yaml) {
  LoadResult r = parse_yaml(yaml);
  return r.ok() ? "" : r.errors[0].to_string();
}

// A config of one app, given as a YAML flow mapping ("{protocol: tcp/22, ...}").
inline LoadResult parse_app(const std::string& app) {
  return parse_yaml("apps:\n  - " + app + "\n");
}

inline bool is_generated_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The repository root, from this header's location (tests/unit/config/test_util.h).
inline std::string source_dir() {
  std::string here = __FILE__;
  for (int i = 0; i < 4; ++i) here = here.substr(0, here.rfind('/'));
  return here;
}

}  // namespace rampart::config
