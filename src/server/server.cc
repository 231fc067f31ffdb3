#include "server/server.h"

#include <cerrno>
#include <cstdio>
#include <thread>

#include "config/dns_publish_config.h"
#include "control/etcd_store.h"
#include "control/private_files.h"
#include "control/rollup_store.h"
#include "control/sqlite_store.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/sd_notify.h"
#include "server/privileges.h"

namespace rampart::server {

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
  api.set_session_timeouts(after.api);
  if (!(credentials == old_credentials)) {
    const size_t ended = api.set_credentials(credentials);
    if (credentials.api_token != old_credentials.api_token ||
        credentials.tokens != old_credentials.tokens)
      RLOG_INFO(
          "api.token or api.tokens changed: a previous token is refused from now on, and the "
          "dashboard sessions signed in with it have ended (",
          ended, ")");
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
  a.zones = b.zones;  // api.zones: applied at once by the caller
  a.token_file = b.token_file;
  a.tokens = b.tokens;  // applied above, like the timeouts of the dashboard's sessions
  a.session_timeout = b.session_timeout;
  a.session_idle_timeout = b.session_idle_timeout;
  if (!(a == b))
    RLOG_WARN(
        "api: listen, tls, request_timeout, keepalive_timeout, max_connections(_per_source), "
        "server_name and allow_insecure_remote take effect at the next restart; the API "
        "keeps its current settings (only the tokens changed now)");
}

}  // namespace

Server::Server(std::string path, const config::Config& file)
    : path_(std::move(path)), file_(file) {}

Server::~Server() = default;

std::unique_ptr<Server> Server::open(const std::string& path, const config::LoadResult& file,
                                     Failure* failure) {
  log_unavailable(file);
  // Block the signals before any thread starts (the Edge's applier is the first), so that
  // every thread inherits the mask and only run()'s sigwaitinfo() sees them. SIGPIPE is
  // ignored: writes report EPIPE instead.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every descriptor the hard limit allows, before anything opens one: the edge splits them
  // into budgets (TCP sessions, UDP flows, API, spare) when it starts.
  const edge::FdLimit fd_limit = edge::raise_fd_limit();
  std::unique_ptr<Server> s(new Server(path, *file.config));
  s->signals_ = set;
  s->fd_limit_ = fd_limit;
  s->self_ = self_command();
  std::string error;
  s->child_ = UpgradeChild::from_environment(&error);
  if (!error.empty()) {
    RLOG_ERROR(error);
    *failure = Failure::kRuntime;
    return nullptr;
  }
  *failure = s->start();
  if (*failure != Failure::kNone) {
    if (s->child_) s->child_->failed("the new process could not start (its log says why)");
    return nullptr;
  }
  s->notifier_ = std::make_unique<ServiceNotifier>(core::SdNotify::from_env(), &s->edge_);
  s->notifier_->ready();
  return s;
}

Server::Failure Server::start() {
  std::string error;
  if (!control::resolve_api_settings(file_, &credentials_, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return Failure::kInvalid;
  }
  // data_dir 0700 when created here; the databases in it 0600 (control/private_files.h).
  if (!control::prepare_data_dir(file_.edge.data_dir, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return Failure::kRuntime;
  }
  // store: sqlite (one edge) or etcd (a fleet: docs/fleet.md).
  const config::StoreConfig& sc = file_.store;
  if (sc.is_etcd()) {
    auto endpoints = control::EtcdClient::parse_url(sc.url, &error);
    if (!endpoints) {
      fprintf(stderr, "rampart serve: store: %s\n", error.c_str());
      return Failure::kInvalid;
    }
    etcd_ = std::make_unique<control::EtcdClient>(
        *endpoints, control::EtcdTls{sc.tls_ca, sc.tls_certificate, sc.tls_private_key});
    if (sc.tls_certificate.empty())
      RLOG_WARN(
          "store: etcd is reached without a client certificate (store_tls); whoever can "
          "write to etcd changes every edge's apps and names the addresses the analytics "
          "fan-out calls: run etcd with --client-cert-auth and RBAC (docs/fleet.md)");
    store_ = std::make_unique<control::EtcdStore>(etcd_.get());
  } else {
    store_ = control::SqliteStore::open(file_.edge.data_dir + "/rampart.db", &error);
    if (!store_) {
      fprintf(stderr, "rampart serve: %s\n", error.c_str());
      return Failure::kRuntime;
    }
  }
  edge_.set_fd_limit(fd_limit_);
  if (child_) {
    if (!check_handover(*child_, file_, &error)) {
      RLOG_ERROR(error);
      return Failure::kRuntime;
    }
    edge_.adopt(std::move(child_->listeners));
    if (!child_->extra.empty() &&
        !edge_.adopt_udp(child_->extra, std::move(child_->extra_fds), &error)) {
      RLOG_ERROR(error);
      return Failure::kRuntime;
    }
    for (auto& [name, part] : take_kernel_parts(child_->kernel, std::move(child_->kernel_fds))) {
      if (name == "xdp") edge_.adopt_xdp(std::move(part.state), std::move(part.fds));
      if (name == "udp_relay") edge_.adopt_udp_relay(std::move(part.state), std::move(part.fds));
    }
    previous_ = child_->old_pid;
  }
  // Every change (SIGHUP, the API, the fleet watch) runs on the edge's applier thread.
  applier_ = std::make_unique<control::ConfigApplier>(
      store_.get(), [this](const config::Config& cfg) { edge_.reload(cfg); }, &edge_.control());
  if (!applier_->load(file_, &error)) {
    fprintf(stderr, "rampart serve: %s\n", error.c_str());
    return etcd_ ? Failure::kRuntime : Failure::kInvalid;
  }
  const control::EdgeIdentity me = control::EdgeIdentity::current(file_, etcd_ ? "etcd" : "sqlite");
  if (etcd_) {
    fleet_ = std::make_unique<control::Fleet>(
        etcd_.get(), applier_.get(), me,
        [this](const net::Cidr& source, int64_t ms) { edge_.ban(source, ms); });
    edge_.set_ban_listener(fleet_.get());
    fleet_->set_unban([this](const net::IpAddr& ip) { edge_.unban(ip); });
  }
  // dns_publish: its publisher sees every config the edge applies (start, SIGHUP, the API, the
  // fleet) and publishes on its own thread; the section itself takes effect at a restart, the
  // secret file is read again on SIGHUP (docs/dns_publish.md).
  if (file_.dns_publish.enabled()) {
    std::string secret;
    if (!config::read_tsig_secret(file_.dns_publish.tsig_secret_file, &secret, &error)) {
      RLOG_ERROR(error);
      return Failure::kInvalid;
    }
    dns_ = std::make_shared<publish::DnsPublisher>(file_.dns_publish, std::move(secret));
    edge_.set_applied_listener([weak = std::weak_ptr<publish::DnsPublisher>(dns_)](
                                   std::shared_ptr<const edge::CompiledConfig> c) {
      if (auto p = weak.lock()) p->applied(std::move(c));
    });
    for (const auto& note : config::dns_publish_notes(applier_->config()))
      RLOG_WARN("dns_publish: ", note);
  }
  if (!edge_.start(applier_->config(), &error)) {
    RLOG_ERROR(error);
    return Failure::kRuntime;
  }
  edge_started_ = true;
  // From now on every change opens its new listeners before it is saved: one that cannot be
  // opened refuses the change whole (docs/hardening.md, "Config safety").
  applier_->set_preflight(
      {[this](const config::Config& cfg, std::string* why) { return edge_.prepare(cfg, why); },
       [this] { edge_.abandon(); }});
  apps_api_ = std::make_unique<control::AppsApi>(applier_.get());
  apps_api_->set_zones(file_.api.zones);
  apps_api_->set_app_status([this](const std::string& id) -> std::string {
    auto snap = edge_.snapshot();
    if (!snap) return "";
    auto it = snap->disabled.find(id);
    return it == snap->disabled.end() ? "" : it->second;
  });
  if (fleet_ && !fleet_->start(&error)) {
    RLOG_ERROR("fleet store: ", error);
    edge_.drain(config::Duration(0));
    return Failure::kRuntime;
  }
  // edge.anycast: a local BIRD announces the addresses while this edge is healthy
  // (docs/anycast.md); the monitor withdraws them first on SIGTERM. Its plan is the edge's
  // compiled one (a reload keeps it: edge.anycast takes effect at a restart).
  if (const auto compiled = edge_.compiled(); compiled->anycast.enabled()) {
    const edge::AnycastPlan& plan = compiled->anycast;
    anycast_ = std::make_unique<anycast::AnycastMonitor>(
        plan, [this] { return anycast::edge_health(edge_, core::coarse_ms()); },
        std::make_unique<anycast::BirdSpeaker>(plan.config.bird_socket, plan.config.protocol));
    anycast_->start();
  }
  // Analytics history is an extra: without its store the edge still runs (live views only).
  auto rollups = control::RollupStore::open(file_.edge.data_dir + "/analytics.db", &error);
  if (!rollups) RLOG_ERROR(error, "; analytics history is off");
  analytics_ = std::make_unique<control::Analytics>(
      &edge_, edge_.rollup(), std::move(rollups),
      std::chrono::duration_cast<std::chrono::seconds>(file_.analytics.retention).count());
  api_ = std::make_unique<control::ApiServer>(apps_api_.get(), file_.api, credentials_);
  if (child_ && child_->api_fd.valid()) api_->set_inherited_listener(child_->api_fd.release());
  analytics_->set_extra_metrics([this] {
    return (anycast_ ? anycast_->metrics() : std::string()) +
           (dns_ ? dns_->metrics() : std::string()) + api_->metrics();
  });
  analytics_->start();
  api_->set_analytics(analytics_.get());
  if (fleet_) {
    analytics_->set_fleet(fleet_.get(), fanout_of(file_, credentials_));
    log_fanout(*analytics_);
  }
  api_->set_edges([this, me]() {
    if (fleet_) return fleet_->edges();
    nlohmann::json self = me.to_json("ok");
    self["self"] = true;
    return nlohmann::json::array({self});
  });
  if (!api_->start(&error)) {
    RLOG_ERROR(error);
    edge_.drain(config::Duration(0));
    return Failure::kRuntime;
  }
  if (!start_upgraded(&error)) {
    RLOG_ERROR(error);
    api_->stop();
    edge_.drain(config::Duration(0));
    return Failure::kRuntime;
  }
  // Listeners, XDP and keys are in hand: edge.user from now on (privileges.h).
  if (!drop_privileges(file_.edge, edge_.control(), &error)) {
    RLOG_ERROR("edge.user: cannot drop privileges: ", error);
    api_->stop();
    edge_.drain(config::Duration(0));
    return Failure::kRuntime;
  }
  if (child_) {
    RLOG_INFO("upgrade: serving; the old process (pid ", child_->old_pid, ") stops accepting");
    if (!child_->ready(edge_.kernel_kept()))
      RLOG_WARN("upgrade: the old process did not confirm; this process serves regardless");
    child_.reset();
    core::SdNotify::from_env().send("MAINPID=" + std::to_string(::getpid()));
  }
  // Last: the records are published once the edge serves (a failed start publishes nothing).
  if (dns_) dns_->start();
  return Failure::kNone;
}

bool Server::start_upgraded(std::string* error) {
  if (child_) {
    pid_file_ = std::move(child_->pid_file_fd);
    if (!edge_.wait_applied(std::chrono::seconds(10), /*listening=*/true)) {
      *error = "upgrade: the workers did not open every listener within 10 s";
      return false;
    }
    return true;
  }
  return open_pid_file(file_.edge.pid_file, &pid_file_, error);
}

bool Server::upgrade(pid_t requester) {
  RLOG_INFO("SIGUSR2: upgrading (", self_.path, ")");
  // From here on the new process writes the shared XDP maps: the state handed over is the last
  // this process wrote (a reload meanwhile changes the config, not the maps; a failed upgrade
  // writes the plan back).
  edge_.freeze_xdp();
  Handover h;
  auto listeners = edge_.dup_listeners();
  if (listeners) h.listeners = std::move(*listeners);
  h.api_fd = api_->listener_fd();
  h.pid_file_fd = pid_file_.valid() ? pid_file_.get() : -1;
  h.extra = edge_.udp_state();
  h.extra_fds = edge_.udp_fds();
  h.kernel = put_kernel_parts({{"xdp", {edge_.xdp_state(), edge_.xdp_fds()}},
                               {"udp_relay", {edge_.udp_relay_state(), edge_.udp_relay_fds()}}},
                              &h.kernel_fds);
  Upgrader up;
  std::string why;
  if (previous_ > 0 && (::kill(previous_, 0) == 0 || errno == EPERM)) {
    why = "the previous process (pid " + std::to_string(previous_) +
          ") still drains its connections and flows; upgrade again once it has exited";
  } else if (!listeners) {
    why = "the workers did not hand over their listeners";
  } else if (up.start(self_, h, &why)) {
    edge_.hand_over_udp();              // its flows stay here, new ones go there
    edge_.hand_over_kernel(up.kept());  // those stay attached: the new process holds their links
    api_->stop();
    edge_.stop_accepting();
    if (pid_file_.valid() && !write_pid(pid_file_.get(), up.pid()))
      RLOG_WARN("edge.pid_file: cannot write the new pid ", up.pid());
    core::SdNotify::from_env().send("MAINPID=" + std::to_string(up.pid()));
    up.done();
    RLOG_INFO("upgrade: pid ", up.pid(), " serves; this process no longer accepts and drains");
    answer_requester(requester, true, std::to_string(up.pid()));
    return true;
  }
  edge_.reclaim_xdp();  // the new process may have replaced the XDP program or written its plan
  RLOG_ERROR("upgrade failed: ", why, "; this process keeps serving");
  answer_requester(requester, false, why);
  return false;
}

void Server::run() {
  for (;;) {
    siginfo_t info;
    const int sig = sigwaitinfo(&signals_, &info);
    if (sig == SIGHUP) {
      notifier_->reloading();
      const bool accepted = reload();
      notifier_->reloaded(accepted ? "" : "the last reload was refused (see the log)");
    } else if (sig == SIGUSR2) {
      if (!upgrade(info.si_pid)) continue;
      if (dns_) dns_->stop();  // the new process publishes the same records: none withdrawn
      if (fleet_) fleet_->stop();
      const size_t closed = edge_.drain(applier_->config().edge.drain_timeout);
      analytics_->stop();
      RLOG_INFO("upgrade: drained", closed > 0 ? " (the drain timeout closed the rest)" : "",
                "; exiting");
      return;
    } else if (sig == SIGTERM || sig == SIGINT) {
      shutdown(sig);
      return;
    }
  }
}

bool Server::reload() {
  config::LoadResult next = config::load_file(path_, /*tolerate_unavailable=*/true);
  if (!next.ok()) {
    RLOG_ERROR("reload of ", path_, " refused; the running configuration stays:");
    log_errors(next.errors);
    return false;
  }
  log_unavailable(next);
  config::Credentials next_credentials;
  std::string error;
  if (!control::resolve_api_settings(*next.config, &next_credentials, &error)) {
    RLOG_ERROR("reload of ", path_, " refused; the running configuration and the API's ",
               "tokens stay: ", error);
    return false;
  }
  std::vector<std::string> problems;
  if (!applier_->reload_file(*next.config, &problems)) {
    RLOG_ERROR("reload of ", path_, " refused; the running configuration stays:");
    for (const auto& p : problems) RLOG_ERROR(p);
    return false;
  }
  apps_api_->set_zones(next.config->api.zones);
  reload_api(*api_, *analytics_, fleet_ != nullptr, file_, credentials_, *next.config,
             next_credentials);
  reload_dns_publish(*next.config);
  credentials_ = next_credentials;
  file_.api = next.config->api;
  file_.fleet = next.config->fleet;
  return true;
}

void Server::reload_dns_publish(const config::Config& next) {
  if (!(next.dns_publish == file_.dns_publish))
    RLOG_WARN("dns_publish changed: takes effect at the next restart (the secret file is read ",
              "again now)");
  if (!dns_) return;
  std::string secret, error;
  if (config::read_tsig_secret(file_.dns_publish.tsig_secret_file, &secret, &error))
    dns_->set_secret(std::move(secret));
  else
    RLOG_ERROR(error, "; dns_publish keeps the secret it has");
  for (const auto& note : config::dns_publish_notes(next)) RLOG_WARN("dns_publish: ", note);
}

void Server::shutdown(int sig) {
  RLOG_INFO(sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining");
  notifier_->stopping();
  // The edge's own records leave the zone first: resolvers stop handing out this address while
  // it still accepts (docs/dns_publish.md).
  if (dns_) dns_->withdraw(std::chrono::seconds(2));
  if (anycast_) {
    // Withdraw before draining: routers move new clients to other edges while this one still
    // accepts, for convergence_wait; only then do the listeners close.
    anycast_->shutdown();
    const config::Duration wait = edge_.compiled()->anycast.config.convergence_wait;
    RLOG_INFO("anycast: accepting for ", wait.count(), " ms more while routers converge");
    std::this_thread::sleep_for(wait);
  }
  api_->stop();
  if (fleet_) fleet_->stop();  // leaves the registry at once
  edge_.drain(applier_->config().edge.drain_timeout);
  analytics_->stop();
  RLOG_INFO("stopped");
}

}  // namespace rampart::server
