// The subcommands of the `rampart` binary. Each returns the process exit code: 0 success,
// 1 invalid input or config, 2 usage error, 3+ runtime failure.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace rampart::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRuntime = 3;

using Args = std::vector<std::string>;

int cmd_serve(const Args& args);
int cmd_check(const Args& args);
int cmd_lockdown(const Args& args);  // lockdown.cc
int cmd_apps(const Args& args);      // apps.cc
int cmd_top(const Args& args);       // top.cc
int cmd_edges(const Args& args);     // edges.cc
int cmd_upgrade(const Args& args);   // upgrade.cc

// The flags of `serve` and `check`: "-c FILE" / "--config FILE" / "--config=FILE" (required).
// nullopt: *path is set, go on. Otherwise the exit code: kExitOk after -h/--help (usage on
// stdout), kExitUsage after a bad command line (what was wrong and the usage on stderr).
std::optional<int> parse_config_flag(const Args& args, const char* command, std::string* path);

// The environment variable `name` (RAMPART_API_URL, RAMPART_API_TOKEN, ...), or `fallback` when
// it is unset or empty: the API client commands' defaults.
inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace rampart::cli
