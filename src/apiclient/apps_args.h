// The command line of `rampart apps ACTION ...` parsed into what to send: the action, the app id,
// connection options, output mode and the JSON fields given as flags. Pure: no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rampart::apiclient {

enum class AppsAction { kHelp, kList, kGet, kCreate, kUpdate, kDelete };
enum class OutputMode { kTable, kJson };

struct AppsInvocation {
  AppsAction action = AppsAction::kHelp;
  std::string id;                    // get, update, delete
  std::optional<std::string> api;    // --api URL
  std::optional<std::string> zone;   // --zone ID
  std::optional<std::string> token;  // --token TOKEN
  OutputMode output = OutputMode::kTable;
  std::optional<std::string> body_file;              // create/update: --json FILE|- (or --data)
  nlohmann::json fields = nlohmann::json::object();  // app fields given as flags
  bool replace = false;                              // update: PUT the whole app, not PATCH
};

// Parses args (after "apps"). Returns "" on success, else a message for a usage error.
std::string parse_apps_args(const std::vector<std::string>& args, AppsInvocation* out);

// Overlays `fields` on `base` (both JSON objects): objects are merged key by key, other values
// replaced. Used to let flags override a --json body.
nlohmann::json overlay(nlohmann::json base, const nlohmann::json& fields);

extern const char* const kAppsUsage;

}  // namespace rampart::apiclient
