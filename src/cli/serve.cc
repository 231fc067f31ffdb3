// `rampart serve -c FILE`: run the edge in the foreground. Signals are handled synchronously on
// the main thread (blocked everywhere, taken with sigwaitinfo): SIGHUP reloads the file, and a
// config that does not validate leaves the running one in place; SIGTERM/SIGINT drain for
// edge.drain_timeout and exit 0. The file's apps and the API's (store) are merged by the
// control::Controller, through which both SIGHUP reloads and API writes are applied.
#include <signal.h>

#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "config/parse.h"
#include "control/analytics.h"
#include "control/api_server.h"
#include "control/controller.h"
#include "control/etcd_store.h"
#include "control/fleet.h"
#include "control/private_files.h"
#include "control/sqlite_store.h"
#include "core/clock.h"
#include "core/log.h"
#include "edge/edge.h"
#include "fleet/anycast.h"

namespace rampart::cli {

namespace {

void log_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) RLOG_ERROR(e.to_string());
}

// A config accepted with files that cannot be used now: each such app is disabled by the data
// plane (or keeps the certificates it had), the others serve.
void log_unavailable(const config::LoadResult& r) {
  for (const auto& e : r.errors)
    RLOG_ERROR(e.to_string(), " (this app cannot serve until the file is back)");
}

control::Analytics::FleetFanout fanout_of(const config::Config& cfg,
                                          const config::Credentials& credentials) {
  return {credentials.fleet_token, cfg.fleet.ca_file, !cfg.api.tls_certificate.empty()};
}

void log_fanout(const control::Analytics& analytics) {
  std::string off = analytics.fanout_off_reason();
  if (off.empty())
    RLOG_INFO(
        "fleet: aggregate/current sums the fleet; peers are called over HTTPS with the "
        "fleet credential");
  else
    RLOG_WARN("fleet: the analytics fan-out is off (", off,
              "); aggregate/current answers for this edge alone (docs/fleet.md)");
}

// SIGHUP, after the new config was accepted: new tokens take effect at once; the API's other
// settings need a restart, and the log says which.
void reload_api(control::ApiServer& api, control::Analytics& analytics, bool fleet,
                const config::Config& before, const config::Credentials& old_credentials,
                const config::Config& after, const config::Credentials& credentials) {
  if (!(credentials == old_credentials)) {
    api.set_credentials(credentials);
    if (credentials.api_token != old_credentials.api_token)
      RLOG_INFO(
          "api.token changed: the previous token is refused from now on and every "
          "dashboard session has ended");
    if (credentials.fleet_token != old_credentials.fleet_token)
      RLOG_INFO(
          "fleet.token changed: peers are called with the new credential, and only it is "
          "accepted");
  }
  if (fleet) {
    analytics.set_fanout(fanout_of(after, credentials));
    if (credentials.fleet_token != old_credentials.fleet_token ||
        after.fleet.ca_file != before.fleet.ca_file)
      log_fanout(analytics);
  }
  config::ApiConfig a = after.api, b = before.api;
  a.token = b.token;
  a.token_file = b.token_file;
  if (!(a == b))
    RLOG_WARN(
        "api: listen, tls, request_timeout, keepalive_timeout, max_connections(_per_source), "
        "server_name and allow_insecure_remote take effect at the next restart; the API "
        "keeps its current settings (only the tokens changed now)");
}

}  // namespace

int cmd_serve(const Args& args) {
  std::string path;
  if (!config_path_arg(args, "serve", &path)) return kExitUsage;
  // A removed certificate disables its app, never the edge (tolerate_unavailable).
  config::LoadResult r = config::load_file(path, /*tolerate_unavailable=*/true);
  if (!r.ok()) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitInvalid;
  }
  log_unavailable(r);
  // Block the signals before any thread starts, so that every thread inherits the mask and only
  // sigwaitinfo() below ever sees them. SIGPIPE is ignored: writes report EPIPE instead.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every descriptor the hard limit allows, before anything opens one: the edge splits them into
  // budgets (TCP sessions, UDP flows, API, spare) when it starts.
  const edge::FdLimit fd_limit = edge::raise_fd_limit();

  std::string error;
  config::Credentials credentials;
  if (!control::resolve_api_settings(*r.config, &credentials, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return kExitInvalid;
  }
  // data_dir 0700 when created here; the databases in it 0600 (control/private_files.h).
  if (!control::prepare_data_dir(r.config->edge.data_dir, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return kExitRuntime;
  }
  // store: sqlite (one edge) or etcd (a fleet: docs/fleet.md).
  const config::StoreConfig& sc = r.config->store;
  std::unique_ptr<control::EtcdClient> etcd;
  std::unique_ptr<control::Store> store;
  if (sc.is_etcd()) {
    auto endpoints = control::EtcdClient::parse_url(sc.url, &error);
    if (!endpoints) {
      fprintf(stderr, "rampart serve: store: %s\n", error.c_str());
      return kExitInvalid;
    }
    etcd = std::make_unique<control::EtcdClient>(
        *endpoints, control::EtcdTls{sc.tls_ca, sc.tls_certificate, sc.tls_private_key});
    if (sc.tls_certificate.empty())
      RLOG_WARN(
          "store: etcd is reached without a client certificate (store_tls); whoever can "
          "write to etcd changes every edge's apps and names the addresses the analytics "
          "fan-out calls: run etcd with --client-cert-auth and RBAC (docs/fleet.md)");
    store = std::make_unique<control::EtcdStore>(etcd.get());
  } else {
    store = control::SqliteStore::open(r.config->edge.data_dir + "/rampart.db", &error);
    if (!store) {
      fprintf(stderr, "rampart serve: %s\n", error.c_str());
      return kExitRuntime;
    }
  }
  edge::Edge edge;
  edge.set_fd_limit(fd_limit);
  // Every change (SIGHUP below, the API, the fleet watch) runs on the edge's applier thread.
  control::Controller controller(
      store.get(), [&edge](const config::Config& cfg) { edge.reload(cfg); }, &edge.control());
  if (!controller.load(*r.config, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return etcd ? kExitRuntime : kExitInvalid;
  }
  const control::EdgeIdentity me =
      control::EdgeIdentity::current(*r.config, etcd ? "etcd" : "sqlite");
  std::unique_ptr<control::Fleet> fleet;
  if (etcd) {
    fleet = std::make_unique<control::Fleet>(
        etcd.get(), &controller, me,
        [&edge](const net::Cidr& source, int64_t ms) { edge.ban(source, ms); });
    edge.set_ban_listener(fleet.get());
    fleet->set_unban([&edge](const net::IpAddr& ip) { edge.unban(ip); });
  }
  if (!edge.start(controller.config(), &error)) {
    RLOG_ERROR(error);
    return kExitRuntime;
  }
  // From now on every change opens its new listeners before it is saved: one that cannot be
  // opened refuses the change whole (docs/hardening.md, "Config safety").
  controller.set_preflight(
      {[&edge](const config::Config& cfg, std::string* why) { return edge.prepare(cfg, why); },
       [&edge] { edge.abandon(); }});
  controller.set_app_status([&edge](const std::string& id) -> std::string {
    auto snap = edge.snapshot();
    if (!snap) return "";
    auto it = snap->disabled.find(id);
    return it == snap->disabled.end() ? "" : it->second;
  });
  if (fleet && !fleet->start(&error)) {
    RLOG_ERROR("fleet store: ", error);
    edge.drain(config::Duration(0));
    return kExitRuntime;
  }
  // edge.anycast: a local BIRD announces the addresses while this edge is healthy
  // (docs/anycast.md); the monitor withdraws them first on SIGTERM.
  std::unique_ptr<fleet::AnycastMonitor> anycast;
  if (const config::AnycastConfig& ac = r.config->edge.anycast; !ac.addresses.empty()) {
    anycast = std::make_unique<fleet::AnycastMonitor>(
        ac, [&edge] { return fleet::edge_health(edge, core::coarse_ms()); },
        std::make_unique<fleet::BirdSpeaker>(ac.bird_socket, ac.protocol));
    anycast->start();
  }
  // Analytics history is an extra: without its store the edge still runs (live views only).
  auto rollups = control::RollupStore::open(r.config->edge.data_dir + "/analytics.db", &error);
  if (!rollups) RLOG_ERROR(error, "; analytics history is off");
  control::Analytics analytics(
      &edge, edge.rollup(), std::move(rollups),
      std::chrono::duration_cast<std::chrono::seconds>(r.config->analytics.retention).count());
  control::ApiServer api(&controller, r.config->api, credentials);
  analytics.set_extra_metrics(
      [&anycast, &api] { return (anycast ? anycast->metrics() : std::string()) + api.metrics(); });
  analytics.start();
  api.set_analytics(&analytics);
  if (fleet) {
    analytics.set_fleet(fleet.get(), fanout_of(*r.config, credentials));
    log_fanout(analytics);
  }
  api.set_edges([&fleet, &me]() {
    if (fleet) return fleet->edges();
    nlohmann::json self = me.to_json("ok");
    self["self"] = true;
    return nlohmann::json::array({self});
  });
  if (!api.start(&error)) {
    RLOG_ERROR(error);
    edge.drain(config::Duration(0));
    return kExitRuntime;
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig == SIGHUP) {
      config::LoadResult next = config::load_file(path, /*tolerate_unavailable=*/true);
      if (!next.ok()) {
        RLOG_ERROR("reload of ", path, " refused; the running configuration stays:");
        log_errors(next.errors);
        continue;
      }
      log_unavailable(next);
      if (!(next.config->edge.anycast == r.config->edge.anycast))
        RLOG_WARN("edge.anycast changed: takes effect at the next restart");
      config::Credentials next_credentials;
      if (!control::resolve_api_settings(*next.config, &next_credentials, &error)) {
        RLOG_ERROR("reload of ", path, " refused; the running configuration and the API's ",
                   "tokens stay: ", error);
        continue;
      }
      std::vector<std::string> problems;
      if (!controller.reload_file(*next.config, &problems)) {
        RLOG_ERROR("reload of ", path, " refused; the running configuration stays:");
        for (const auto& p : problems) RLOG_ERROR(p);
        continue;
      }
      reload_api(api, analytics, fleet != nullptr, *r.config, credentials, *next.config,
                 next_credentials);
      credentials = next_credentials;
      r.config->api = next.config->api;
      r.config->fleet = next.config->fleet;
    } else if (sig == SIGTERM || sig == SIGINT) {
      RLOG_INFO(sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining");
      if (anycast) {
        // Withdraw before draining: routers move new clients to other edges while this one
        // still accepts, for convergence_wait; only then do the listeners close.
        anycast->shutdown();
        const config::Duration wait = r.config->edge.anycast.convergence_wait;
        RLOG_INFO("anycast: accepting for ", wait.count(), " ms more while routers converge");
        std::this_thread::sleep_for(wait);
      }
      api.stop();
      if (fleet) fleet->stop();  // leaves the registry at once
      edge.drain(controller.config().edge.drain_timeout);
      analytics.stop();
      RLOG_INFO("stopped");
      return kExitOk;
    }
  }
}

}  // namespace rampart::cli
