// JsonReader: typed, error-collecting reads out of nlohmann::json objects for the API's
// decoders (app_json.cc, app_json_protection.cc). Internal to src/config. Not thread-safe on
// its own (a reader is one decode call's stack object).
#pragma once

#include <array>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_json.h"
#include "config/duration.h"
#include "config/enum_names.h"
#include "config/parse.h"

namespace rampart::config::json_detail {

using nlohmann::json;

inline std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

inline std::string at(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

inline const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a fractional number";
    default:
      return "a number";
  }
}

// The JSON pointer of member `key` of the object at `path` (RFC 6901: '~' and '/' escaped).
inline std::string pointer_of(const std::string& path, const std::string& key) {
  std::string out = api_pointer(ConfigError{path, ""});
  if (!path.empty() && out.empty()) return "";
  out.push_back('/');
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

// Reads typed fields out of JSON objects, collecting errors; never throws.
class JsonReader {
 public:
  explicit JsonReader(std::vector<ConfigError>& errors) : errors_(errors) {}

  size_t error_count() const { return errors_.size(); }

  void error(const std::string& path, std::string message, int code = kErrInvalidValue) {
    errors_.push_back({path, std::move(message), code});
  }

  // True when `v` is an object whose keys are all in `known`; reports the others.
  bool check_object(const json& v, const std::string& path,
                    std::initializer_list<const char*> known,
                    std::initializer_list<const char*> ignored = {}) {
    if (!v.is_object()) {
      error(path, std::string("expected an object, got ") + type_name(v));
      return false;
    }
    bool ok = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      bool found = false;
      for (const char* k : known) found = found || it.key() == k;
      for (const char* k : ignored) found = found || it.key() == k;
      if (found) continue;
      std::string names;
      for (const char* k : known) names += std::string(names.empty() ? "" : ", ") + k;
      error(join(path, it.key()), "unknown field; expected one of: " + names, kErrUnknownField);
      errors_.back().pointer = pointer_of(path, it.key());
      ok = false;
    }
    return ok;
  }

  // The member `key` of object `o`, or nullptr when absent or null.
  static const json* member(const json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<std::string> string(const json& v, const std::string& path,
                                    const std::string& expected) {
    if (v.is_string()) return v.get<std::string>();
    error(path, std::string("expected ") + expected + ", got " + type_name(v));
    return std::nullopt;
  }

  void get_string(const json& o, const char* key, const std::string& path, std::string* out,
                  const std::string& expected = "a string") {
    if (const json* v = member(o, key))
      if (auto s = string(*v, join(path, key), expected)) *out = *s;
  }

  void get_bool(const json& o, const char* key, const std::string& path, bool* out) {
    const json* v = member(o, key);
    if (!v) return;
    if (v->is_boolean())
      *out = v->get<bool>();
    else
      error(join(path, key), std::string("expected true or false, got ") + type_name(*v));
  }

  template <typename T>
  void get_uint(const json& o, const char* key, const std::string& path, T* out, uint64_t max) {
    const json* v = member(o, key);
    if (!v) return;
    if (v->is_number_unsigned() && v->get<uint64_t>() <= max) {
      *out = static_cast<T>(v->get<uint64_t>());
      return;
    }
    error(join(path, key), "expected a whole number 0-" + std::to_string(max) + ", got " +
                               (v->is_number() ? v->dump() : type_name(*v)));
  }

  template <typename E, size_t N>
  void get_enum(const json& o, const char* key, const std::string& path,
                const std::array<EnumName<E>, N>& table, E* out) {
    const json* v = member(o, key);
    if (!v) return;
    std::string p = join(path, key);
    auto s = string(*v, p, "one of: " + enum_choices(table));
    if (!s) return;
    if (auto e = enum_from_string(table, *s))
      *out = *e;
    else
      error(p, "invalid value \"" + *s + "\"; expected one of: " + enum_choices(table));
  }

  // "30s", "1h30m" or a whole number of seconds.
  void get_duration(const json& o, const char* key, const std::string& path, Duration* out) {
    const json* v = member(o, key);
    if (!v) return;
    std::string p = join(path, key);
    if (v->is_number_unsigned() && v->get<uint64_t>() <= 3'000'000'000ull) {
      *out = std::chrono::seconds(v->get<uint64_t>());
      return;
    }
    if (v->is_string()) {
      if (auto d = parse_duration(v->get<std::string>())) {
        *out = *d;
        return;
      }
      error(p, "invalid duration \"" + v->get<std::string>() +
                   "\"; expected e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\"");
      return;
    }
    error(p, std::string("expected a duration such as \"30s\", got ") + type_name(*v));
  }

 private:
  std::vector<ConfigError>& errors_;
};

}  // namespace rampart::config::json_detail

namespace rampart::config::json_detail {

// An app's `protection` object (the YAML per-app schema) into *out; problems into rd.
void read_protection(JsonReader& rd, const json& v, ProtectionOverride* out);
// The fields of `p` that are set, in the same schema.
json protection_override_to_json(const ProtectionOverride& p);
// Every field of a resolved protection (apps from the config file).
json protection_to_json(const ProtectionConfig& p);

}  // namespace rampart::config::json_detail
