// The composition root of `rampart serve` (pingora's Server): owns every service of a running
// edge and wires them in one place, in the one order that works, so that no caller has to know
// which setter goes before which start():
//   store (SQLite, or etcd for a fleet) -> Edge (its applier thread) -> ConfigApplier (runs
//   every change on that thread) -> Fleet (etcd only) -> Edge::start -> pre-flight and app status
//   -> Fleet::start -> anycast monitor -> Analytics -> ApiServer -> privilege drop -> dns_publish.
// open() builds and starts them; run() waits for signals on the calling thread (SIGHUP reloads
// the file through the ConfigApplier, SIGTERM/SIGINT drain) and stops everything in reverse order.
// Owned by the thread that calls open() and run() (serve's main thread), which must not have
// started any other thread: open() blocks SIGHUP/SIGTERM/SIGINT first, so that every thread
// the services start inherits the mask and only run()'s sigwaitinfo() takes them.
#pragma once

#include <signal.h>

#include <memory>
#include <string>

#include "anycast/anycast.h"
#include "config/credentials.h"
#include "config/parse.h"
#include "control/analytics.h"
#include "control/api_server.h"
#include "control/apps_api.h"
#include "control/config_applier.h"
#include "control/etcd_client.h"
#include "control/fleet.h"
#include "control/store.h"
#include "edge/budget.h"
#include "edge/edge.h"
#include "publish/dns_publisher.h"
#include "server/service_notifier.h"
#include "server/upgrade.h"

namespace rampart::server {

class Server {
 public:
  // Why open() failed: the config (or the file and the stored objects together) is invalid, or
  // something could not be started.
  enum class Failure { kNone, kInvalid, kRuntime };

  // Builds and starts every service for `file`, read from `path` with tolerate_unavailable
  // (file.ok()); logs the files it names that cannot be used now. Null with *failure set and
  // the reason logged (or printed) when something fails; whatever was started is stopped again.
  static std::unique_ptr<Server> open(const std::string& path, const config::LoadResult& file,
                                      Failure* failure);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Handles signals until SIGTERM or SIGINT, then drains and stops every service.
  void run();

 private:
  Server(std::string path, const config::Config& file);
  Failure start();
  // SIGHUP: reads the file again; a config that does not validate leaves the running one
  // (false).
  bool reload();
  // SIGHUP, after the new config was accepted: the TSIG secret read again, notes logged.
  void reload_dns_publish(const config::Config& next);
  void shutdown(int sig);
  // SIGUSR2 (upgrade.h): true once a new process serves and this one no longer accepts.
  bool upgrade(pid_t requester);
  // The new process's side, once it serves: pid file and the old process told.
  bool start_upgraded(std::string* error);

  const std::string path_;
  config::Config file_;  // the file as last accepted (api and fleet follow SIGHUP)
  sigset_t signals_;
  edge::FdLimit fd_limit_;
  config::Credentials credentials_;
  std::unique_ptr<control::EtcdClient> etcd_;  // store: etcd://
  std::unique_ptr<control::Store> store_;
  edge::Edge edge_;
  std::unique_ptr<control::ConfigApplier> applier_;
  std::unique_ptr<control::AppsApi> apps_api_;        // the API's apps and access rules
  std::unique_ptr<control::Fleet> fleet_;             // store: etcd://
  std::unique_ptr<anycast::AnycastMonitor> anycast_;  // edge.anycast
  // dns_publish; shared with the edge's applied listener (a weak reference).
  std::shared_ptr<publish::DnsPublisher> dns_;
  std::unique_ptr<control::Analytics> analytics_;
  std::unique_ptr<control::ApiServer> api_;
  bool edge_started_ = false;
  // systemd's notifications (READY, RELOADING, STOPPING, STATUS, WATCHDOG); after edge_, so
  // its thread stops first.
  std::unique_ptr<ServiceNotifier> notifier_;
  SelfCommand self_;                     // what an upgrade starts again
  std::unique_ptr<UpgradeChild> child_;  // set while this process takes over from an old one
  core::UniqueFd pid_file_;              // edge.pid_file, open from startup
  pid_t previous_ = 0;                   // the process this one took over from (still draining?)
};

}  // namespace rampart::server
