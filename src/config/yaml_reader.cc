#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "config/parse.h"

namespace rampart::config {
namespace {

// Edit distance, for "did you mean" on misspelt keys.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string truncated(std::string_view s) {
  if (s.size() <= 60) return std::string(s);
  return std::string(s.substr(0, 57)) + "...";
}

}  // namespace

std::string child_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string index_path(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + truncated(node.Scalar()) + "\"";
    default:
      return "nothing";
  }
}

void YamlReader::error(const std::string& path, std::string message, int code) {
  if (errors_->size() > kMaxErrors) return;
  if (errors_->size() == kMaxErrors) {
    errors_->push_back({"", "too many errors; stopped after " + std::to_string(kMaxErrors), 0});
    return;
  }
  errors_->push_back({path, std::move(message), code});
}

bool YamlReader::check_map(const YAML::Node& node, const std::string& path,
                           std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) {
    error(path, "expected a map, got " + describe(node));
    return false;
  }
  std::string choices;
  for (auto k : allowed) {
    if (!choices.empty()) choices += ", ";
    choices += k;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      error(path, "map keys must be plain names, got " + describe(it->first));
      continue;
    }
    const std::string& key = it->first.Scalar();
    if (!seen.insert(key).second) {
      error(child_path(path, key), "duplicate field \"" + key + "\"; give each field once");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string hint;
    size_t best = 3;
    for (auto k : allowed) {
      size_t d = distance(key, k);
      if (d < best) {
        best = d;
        hint = " (did you mean \"" + std::string(k) + "\"?)";
      }
    }
    error(child_path(path, truncated(key)),
          "unknown field \"" + truncated(key) + "\"" + hint + "; expected one of: " + choices);
  }
  return true;
}

bool YamlReader::check_list(const YAML::Node& node, const std::string& path,
                            std::string_view what) {
  if (node.IsSequence()) return true;
  error(path, "expected " + std::string(what) + ", got " + describe(node));
  return false;
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const std::string& path,
                                              std::string_view expected) {
  if (!node.IsScalar()) {
    error(path, "expected " + std::string(expected) + ", got " + describe(node));
    return std::nullopt;
  }
  std::string why;
  auto text = expand_env(node.Scalar(), &why);
  if (!text) error(path, why);
  return text;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& path) {
  auto text = scalar(node, path, "true or false");
  if (!text) return std::nullopt;
  std::string lower = *text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  error(path, "expected true or false, got \"" + truncated(*text) + "\"");
  return std::nullopt;
}

std::optional<uint64_t> YamlReader::integer(const YAML::Node& node, const std::string& path,
                                            uint64_t max) {
  std::string expected = "an integer from 0 to " + std::to_string(max);
  auto text = scalar(node, path, expected);
  if (!text) return std::nullopt;
  uint64_t v = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (text->empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    error(path, "expected " + expected + ", got \"" + truncated(*text) + "\"");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || v > max) {
    error(path, "value " + truncated(*text) + " is too large; expected " + expected);
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> YamlReader::duration(const YAML::Node& node, const std::string& path) {
  static constexpr const char* kExpected =
      "a duration such as 250ms, 30s, 5m, 1h or 1h30m (a bare number is seconds)";
  auto text = scalar(node, path, kExpected);
  if (!text) return std::nullopt;
  auto d = parse_duration(*text);
  if (!d) error(path, "invalid duration \"" + truncated(*text) + "\"; expected " + kExpected);
  return d;
}

std::optional<std::string> YamlReader::one_of(const YAML::Node& node, const std::string& path,
                                              const std::string_view* choices, size_t count) {
  std::string list;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) list += ", ";
    list += choices[i].empty() ? "\"\"" : std::string(choices[i]);
  }
  auto text = scalar(node, path, "one of: " + list);
  if (!text) return std::nullopt;
  for (size_t i = 0; i < count; ++i)
    if (choices[i] == *text) return text;
  error(path, "invalid value \"" + truncated(*text) + "\"; expected one of: " + list);
  return std::nullopt;
}

void YamlReader::get_string(const YAML::Node& map, std::string_view key, const std::string& path,
                            std::string* out) {
  const YAML::Node n = map[std::string(key)];
  if (!present(n)) return;
  if (auto v = scalar(n, child_path(path, key), "a string")) *out = std::move(*v);
}

void YamlReader::get_bool(const YAML::Node& map, std::string_view key, const std::string& path,
                          bool* out) {
  const YAML::Node n = map[std::string(key)];
  if (!present(n)) return;
  if (auto v = boolean(n, child_path(path, key))) *out = *v;
}

void YamlReader::get_duration(const YAML::Node& map, std::string_view key, const std::string& path,
                              Duration* out) {
  const YAML::Node n = map[std::string(key)];
  if (!present(n)) return;
  if (auto v = duration(n, child_path(path, key))) *out = *v;
}

}  // namespace rampart::config
