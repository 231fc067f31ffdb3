// rampart: the command-line entry point. Dispatches to the subcommands of SPEC §1.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/flags.h"
#include "version.h"

namespace {

constexpr const char* kUsage =
    "usage: rampart <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve -c FILE     run the edge in the foreground (SIGHUP reloads, SIGTERM drains)\n"
    "  check -c FILE     validate a config file; exit 0 when valid, 1 otherwise\n"
    "  lockdown ...      print origin firewall rules (nftables|iptables|ufw) that allow the app\n"
    "                    ports only from the edge's egress addresses (lockdown --help)\n"
    "  apps ACTION ...   REST API client: apps list|get|create|update|delete (apps --help)\n"
    "  top [--once]      live per-app table: connections, bytes/s, errors, drops (top --help)\n"
    "  edges             the live edges of the fleet (etcd registry; edges --help)\n"
    "  upgrade --pid-file FILE  replace the running edge's binary without losing a\n"
    "                    connection or a UDP flow (upgrade --help)\n"
    "  version           print the version\n"
    "\n"
    "See README.md for the configuration reference.\n";

}  // namespace

namespace rampart::cli {

std::optional<int> parse_config_flag(const Args& args, const char* command, std::string* path) {
  const bool serve = std::string_view(command) == "serve";
  const std::string usage =
      std::string("usage: rampart ") + command + " -c FILE\n\n" +
      (serve ? "Runs the edge in the foreground, logging to stderr. SIGHUP or an API change\n"
               "reloads the config without dropping connections; SIGTERM/SIGINT stops accepting,\n"
               "drains for edge.drain_timeout and exits 0.\n"
             : "Validates a config: exit 0 when valid, 1 with one line per problem\n"
               "(path.to.field: message).\n") +
      "\n  -c, --config FILE  the YAML config (README.md has the reference)\n";
  Flags flags(command);
  flags.app().add_option("-c,--config", *path);
  if (auto rc = flags.parse(args, usage.c_str())) return rc;
  if (path->empty()) {
    fprintf(stderr, "rampart %s: missing -c FILE\n\n%s", command, usage.c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace rampart::cli

int main(int argc, char** argv) {
  using namespace rampart::cli;
  if (argc < 2) {
    fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string cmd = argv[1];
  Args args(argv + 2, argv + argc);
  if (cmd == "serve") return cmd_serve(args);
  if (cmd == "check") return cmd_check(args);
  if (cmd == "lockdown") return cmd_lockdown(args);
  if (cmd == "apps") return cmd_apps(args);
  if (cmd == "top") return cmd_top(args);
  if (cmd == "edges") return cmd_edges(args);
  if (cmd == "upgrade") return cmd_upgrade(args);
  if (cmd == "version" || cmd == "--version" || cmd == "-V") {
    printf("rampart %s\n", RAMPART_VERSION);
    return kExitOk;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  fprintf(stderr, "rampart: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}
