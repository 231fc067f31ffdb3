// `rampart check -c FILE`: validate a config and print one line per problem.
#include <cstdio>

#include "cli/commands.h"
#include "config/parse.h"

namespace rampart::cli {

int cmd_check(const Args& args) {
  std::string path;
  if (!config_path_arg(args, "check", &path)) return kExitUsage;
  config::LoadResult r = config::load_file(path);
  if (!r.ok()) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitInvalid;
  }
  printf("%s: OK (%zu apps)\n", path.c_str(), r.config->apps.size());
  return kExitOk;
}

}  // namespace rampart::cli
