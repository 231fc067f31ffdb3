// YamlReader: typed, path-aware access to a yaml-cpp tree for the config parser. It owns no
// tree; it appends every problem to the caller's error list and keeps going, so one pass reports
// all of them. Used by one thread at a time (the parse call that made it). Internal to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/enum_names.h"
#include "config/model.h"

namespace rampart::config {

// "a.b" (or "b" when path is empty) and "a[3]".
std::string child_path(std::string_view path, std::string_view key);
std::string index_path(std::string_view path, size_t index);

class YamlReader {
 public:
  // Past this many errors, one "too many errors" entry is added and the rest are dropped.
  static constexpr size_t kMaxErrors = 100;

  explicit YamlReader(std::vector<ConfigError>* errors) : errors_(errors) {}

  void error(const std::string& path, std::string message, int code = 0);

  // Defined and not null: an absent key and `key:` with no value both mean "use the default".
  static bool present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

  // True when `node` is a map. Reports keys that are not strings, duplicated, or not in `allowed`
  // (naming the closest allowed key and listing all of them).
  bool check_map(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> allowed);
  // True when `node` is a list; else an error that says `what` was expected.
  bool check_list(const YAML::Node& node, const std::string& path, std::string_view what);

  // A scalar's text after ${ENV} expansion; nullopt (and an error that says `expected`) when the
  // node is a map, a list or null, or expansion fails.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path,
                                    std::string_view expected);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);
  std::optional<uint64_t> integer(const YAML::Node& node, const std::string& path, uint64_t max);
  std::optional<Duration> duration(const YAML::Node& node, const std::string& path);
  // Among `choices`; the error lists them.
  std::optional<std::string> one_of(const YAML::Node& node, const std::string& path,
                                    const std::string_view* choices, size_t count);

  template <typename E, size_t N>
  std::optional<E> enumeration(const YAML::Node& node, const std::string& path,
                               const std::array<EnumName<E>, N>& table) {
    auto text = scalar(node, path, "one of: " + enum_choices(table));
    if (!text) return std::nullopt;
    if (auto v = enum_from_string(table, *text)) return v;
    error(path, "invalid value \"" + *text + "\"; expected one of: " + enum_choices(table));
    return std::nullopt;
  }

  // The get_* helpers read map[key] into *out when it is present; absent leaves *out unchanged.
  void get_string(const YAML::Node& map, std::string_view key, const std::string& path,
                  std::string* out);
  void get_bool(const YAML::Node& map, std::string_view key, const std::string& path, bool* out);
  void get_duration(const YAML::Node& map, std::string_view key, const std::string& path,
                    Duration* out);
  template <typename T>
  void get_uint(const YAML::Node& map, std::string_view key, const std::string& path, T* out,
                uint64_t max = UINT64_MAX) {
    const YAML::Node n = map[std::string(key)];
    if (!present(n)) return;
    uint64_t limit = std::min<uint64_t>(max, std::numeric_limits<T>::max());
    if (auto v = integer(n, child_path(path, key), limit)) *out = static_cast<T>(*v);
  }
  template <typename E, size_t N>
  void get_enum(const YAML::Node& map, std::string_view key, const std::string& path,
                const std::array<EnumName<E>, N>& table, E* out) {
    const YAML::Node n = map[std::string(key)];
    if (!present(n)) return;
    if (auto v = enumeration(n, child_path(path, key), table)) *out = *v;
  }

 private:
  std::vector<ConfigError>* errors_;
};

// How a node looks, for "got ..." in messages: "a map", "a list", "null", "\"text\"".
std::string describe(const YAML::Node& node);

}  // namespace rampart::config
