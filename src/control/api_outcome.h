// The shape of one API answer before it is wrapped in the v4 envelope (send_outcome in
// api_server.h): HTTP status, {code, message} errors and notes, result and result_info. Built
// by the API handlers (apps_api.h, analytics, protection) on the HTTP pool threads; plain
// values, no owner, no thread of their own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/api_errors.h"

namespace rampart::control {

// The API envelope's codes (kErrAuth, kNoteFleetSum, ...): config/api_errors.h.
using namespace config::api_codes;  // NOLINT

inline constexpr const char* kDefaultZone = "default";

struct ApiError {
  int code = 0;
  std::string message;
  // JSON pointer to the request body's field at fault ("/origin_direct/0"), sent as Cloudflare's
  // "source": {"pointer": ...}; "" = none.
  std::string pointer = {};
};

// The outcome of one API operation, ready to be wrapped in the v4 envelope.
struct Outcome {
  int status = 200;
  std::vector<ApiError> errors;
  std::vector<ApiError> messages;  // notes on a success (Cloudflare's {code, message} objects)
  nlohmann::json result;           // null when there is none
  nlohmann::json result_info;      // lists only
  bool ok() const { return errors.empty(); }
  static Outcome failure(int status, int code, std::string message) {
    Outcome o;
    o.status = status;
    o.errors.push_back({code, std::move(message)});
    return o;
  }
};

// List parameters of Spectrum's GET .../apps and of GET .../firewall/access_rules/rules
// (Cloudflare's names: the rule filters are `mode`, `configuration.target`,
// `configuration.value`, `notes` and `match`). As given; empty = default.
struct ListQuery {
  std::string page, per_page, order, direction;
  std::string mode, target, value, notes, match;  // access rules only
};

}  // namespace rampart::control
