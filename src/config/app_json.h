// JSON form of apps and IP access rules for the Spectrum-compatible REST API: strict decoding
// (unknown fields, wrong types and bad values are errors with Spectrum's codes) into the config
// model, reusing the YAML path's value parsers and validate_app(), and the encoding back.
// Pure functions over caller-owned values: any thread may call them; none throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/api_errors.h"
#include "config/model.h"

namespace rampart::config {

// Error codes (kErrMalformedJson, kErrInvalidValue, ...): config/api_errors.h.

// Deeper nesting than this is refused before parsing (no legitimate app needs more than 4).
inline constexpr int kMaxJsonDepth = 32;

// Parses `text` as one JSON object. On failure returns nullopt and appends one error
// (kErrMalformedJson) saying where and why.
std::optional<nlohmann::json> parse_json_object(std::string_view text,
                                                std::vector<ConfigError>& errors);

// Decodes a Spectrum app object into *app (fields absent keep *app's values, so start from a
// default App). Read-only fields (created_on, modified_on, source) are ignored; `id` is taken
// when present. Appends every problem (path = JSON field path) and returns true when none.
// Does not run validate_app().
bool app_from_json(const nlohmann::json& j, App* app, std::vector<ConfigError>& errors);
// app_from_json + validate_app(app, "") in one call; nullopt when anything is wrong, except,
// with tolerate_unavailable (apps read back from the store), files that cannot be used now:
// the app is returned and those errors appended (the data plane disables it).
std::optional<App> decode_app(const nlohmann::json& j, std::vector<ConfigError>& errors,
                              bool tolerate_unavailable = false);
// The full JSON object of an app (Spectrum fields + Rampart extensions), without created_on,
// modified_on and source (the caller adds them). decode_app(app_to_json(a)) == a.
nlohmann::json app_to_json(const App& app);

// Applies a PATCH body to an app's JSON: fields present replace the old ones (objects such as
// dns, edge_ips, load_balancing are merged field by field; null removes a field). Setting one of
// origin_direct / origin_dns drops the other (and origin_port with origin_dns).
nlohmann::json merge_app_patch(const nlohmann::json& current, const nlohmann::json& patch);

// IP access rules: {"mode", "configuration": {"target", "value"}, "notes"}; `id` optional.
bool rule_from_json(const nlohmann::json& j, IpAccessRule* rule, std::vector<ConfigError>& errors);
// rule_from_json + validate_access_rule; nullopt when anything is wrong.
std::optional<IpAccessRule> decode_rule(const nlohmann::json& j, std::vector<ConfigError>& errors);
nlohmann::json rule_to_json(const IpAccessRule& rule);

// "path: message" (or just the message when path is empty), for API error messages.
std::string api_message(const ConfigError& e);
// The error's path as a JSON pointer into the request body (RFC 6901, Cloudflare's
// errors[].source.pointer): "origin_direct[0]" -> "/origin_direct/0",
// "configuration.value" -> "/configuration/value"; "" when the error names no field.
std::string api_pointer(const ConfigError& e);

}  // namespace rampart::config
