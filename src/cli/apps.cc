// `rampart apps`: REST API client (work in progress).
#include <cstdio>

#include "cli/commands.h"

namespace rampart::cli {

int cmd_apps(const Args&) {
  fprintf(stderr, "rampart apps: not implemented yet\n");
  return kExitRuntime;
}

}  // namespace rampart::cli
