// libFuzzer target for the REST API's JSON decoders (config/app_json.h): app and access-rule
// bodies, PATCH merges. Checks that nothing throws or crashes, that every error carries a code,
// and that an accepted app encodes to JSON that decodes back to the same app.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/app_json.h"

using namespace rampart::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ConfigError> errors;
  auto j = parse_json_object(text, errors);
  if (!j) {
    if (errors.empty() || errors[0].code != kErrMalformedJson) std::abort();
    return 0;
  }
  auto app = decode_app(*j, errors);
  if (app.has_value() != errors.empty()) std::abort();
  for (const auto& e : errors)
    if (e.code == 0) std::abort();
  if (app) {
    nlohmann::json encoded = app_to_json(*app);
    std::vector<ConfigError> again;
    auto back = decode_app(encoded, again);
    if (!back || !(*back == *app)) std::abort();
    // The same body as a PATCH over the app must not crash either.
    std::vector<ConfigError> patch_errors;
    decode_app(merge_app_patch(encoded, *j), patch_errors);
    (void)encoded.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  errors.clear();
  auto rule = decode_rule(*j, errors);
  if (rule.has_value() != errors.empty()) std::abort();
  if (rule) {
    std::vector<ConfigError> again;
    auto back = decode_rule(rule_to_json(*rule), again);
    if (!back || !(*back == *rule)) std::abort();
  }
  return 0;
}
