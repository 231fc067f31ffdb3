// rampart: the command-line entry point. Dispatches to the subcommands of SPEC §1.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
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
    "  version           print the version\n"
    "\n"
    "See README.md for the configuration reference.\n";

}  // namespace

namespace rampart::cli {

bool config_path_arg(const Args& args, const char* command, std::string* path) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-c" || a == "--config") {
      if (i + 1 >= args.size()) {
        fprintf(stderr, "rampart %s: %s needs a file name\n", command, a.c_str());
        return false;
      }
      *path = args[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      *path = a.substr(strlen("--config="));
    } else {
      fprintf(stderr, "rampart %s: unknown argument '%s' (expected -c FILE)\n", command, a.c_str());
      return false;
    }
  }
  if (path->empty()) {
    fprintf(stderr, "rampart %s: missing -c FILE\n", command);
    return false;
  }
  return true;
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
