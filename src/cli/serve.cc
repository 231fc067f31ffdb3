// `rampart serve -c FILE`: run the edge in the foreground. Signals are handled synchronously on
// the main thread (blocked everywhere, taken with sigwaitinfo): SIGHUP reloads the file, and a
// config that does not validate leaves the running one in place; SIGTERM/SIGINT drain for
// edge.drain_timeout and exit 0.
#include <signal.h>

#include <cstdio>

#include "cli/commands.h"
#include "config/parse.h"
#include "core/log.h"
#include "edge/edge.h"

namespace rampart::cli {

namespace {

void log_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) RLOG_ERROR(e.to_string());
}

}  // namespace

int cmd_serve(const Args& args) {
  std::string path;
  if (!config_path_arg(args, "serve", &path)) return kExitUsage;
  config::LoadResult r = config::load_file(path);
  if (!r.ok()) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitInvalid;
  }
  // Block the signals before any thread starts, so that every thread inherits the mask and only
  // sigwaitinfo() below ever sees them. SIGPIPE is ignored: writes report EPIPE instead.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  config::Config current = *r.config;
  edge::Edge edge;
  std::string error;
  if (!edge.start(current, &error)) {
    RLOG_ERROR(error);
    return kExitRuntime;
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig == SIGHUP) {
      config::LoadResult next = config::load_file(path);
      if (!next.ok()) {
        RLOG_ERROR("reload of ", path, " refused; the running configuration stays:");
        log_errors(next.errors);
        continue;
      }
      current = *next.config;
      edge.reload(current);
    } else if (sig == SIGTERM || sig == SIGINT) {
      RLOG_INFO(sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining");
      edge.drain(current.edge.drain_timeout);
      RLOG_INFO("stopped");
      return kExitOk;
    }
  }
}

}  // namespace rampart::cli
