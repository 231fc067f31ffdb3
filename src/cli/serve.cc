// `rampart serve -c FILE`: run the edge in the foreground. Signals are handled synchronously on
// the main thread (blocked everywhere, taken with sigwaitinfo): SIGHUP reloads the file, and a
// config that does not validate leaves the running one in place; SIGTERM/SIGINT drain for
// edge.drain_timeout and exit 0. The services and their wiring are server::Server's; this file
// only reads the command line and the file.
#include <cstdio>

#include "anycast/anycast.h"
#include "cli/commands.h"
#include "config/parse.h"
#include "server/server.h"

namespace rampart::cli {

int cmd_serve(const Args& args) {
  std::string path;
  if (auto rc = parse_config_flag(args, "serve", &path)) return *rc;
  // A removed certificate disables its app, never the edge (tolerate_unavailable).
  config::LoadResult r = config::load_file(path, /*tolerate_unavailable=*/true);
  if (!r.ok()) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitInvalid;
  }
  server::Server::Failure failure = server::Server::Failure::kNone;
  std::unique_ptr<server::Server> server = server::Server::open(path, r, &failure);
  if (!server) return failure == server::Server::Failure::kInvalid ? kExitInvalid : kExitRuntime;
  server->run();
  return kExitOk;
}

}  // namespace rampart::cli
