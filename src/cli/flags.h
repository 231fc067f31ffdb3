// Flag parsing for the subcommands, on CLI11 (Debian libcli11-dev, header-only). Each command
// declares its options on a Flags and calls parse(); the help text stays the command's own usage
// string (the layout SPEC §1 and the README show). Owner: the command; main thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace rampart::cli {

// A CLI::App for `rampart <command>` with the conventions every command shares: -h/--help,
// `--flag value` and `--flag=value`, short `-x value` and `-xvalue`, a repeated single-value
// flag keeps its last value, and anything undeclared is an error.
class Flags {
 public:
  explicit Flags(const char* command);

  // Declare options here (add_option, add_flag: CLI11's API).
  CLI::App& app() { return app_; }

  // A repeatable flag whose values may also be comma-separated: --port 22 --port 80,443.
  CLI::Option* add_list(const std::string& names, std::vector<std::string>* out);

  // Parses args (after the command name). nullopt: go on with the parsed values. Otherwise the
  // exit code to return: kExitOk after printing `usage` to stdout for -h/--help, kExitUsage
  // after printing "rampart <command>: <what was wrong>" and `usage` to stderr.
  std::optional<int> parse(const Args& args, const char* usage);

 private:
  CLI::App app_;
};

}  // namespace rampart::cli
