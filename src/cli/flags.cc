#include "cli/flags.h"

#include <cstdio>
#include <string_view>

namespace rampart::cli {

Flags::Flags(const char* command) : app_(std::string(), std::string("rampart ") + command) {
  app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Undeclared arguments are collected and reported by parse() in this CLI's words.
  app_.allow_extras(true);
}

CLI::Option* Flags::add_list(const std::string& names, std::vector<std::string>* out) {
  // One value per occurrence (not greedy: in `--port 22 stray`, "stray" is an error).
  return app_.add_option(names, *out)
      ->delimiter(',')
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

namespace {

// CLI11's "--port: 1 required TEXT missing" -> "--port needs a value"; other messages as they are.
std::string explain(const CLI::ParseError& e) {
  const std::string what = e.what();
  const size_t colon = what.find(": ");
  const std::string_view missing = " missing";
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && colon != std::string::npos &&
      what.size() > missing.size() && what.ends_with(missing))
    return what.substr(0, colon) + " needs a value";
  return what;
}

}  // namespace

std::optional<int> Flags::parse(const Args& args, const char* usage) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  std::string error;
  try {
    app_.parse(reversed);
    if (std::vector<std::string> extra = app_.remaining(); !extra.empty())
      error = "unknown argument '" + extra.front() + "'";
  } catch (const CLI::CallForHelp&) {
    fputs(usage, stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    error = explain(e);
  }
  if (error.empty()) return std::nullopt;
  fprintf(stderr, "%s: %s\n\n%s", app_.get_name().c_str(), error.c_str(), usage);
  return kExitUsage;
}

}  // namespace rampart::cli
