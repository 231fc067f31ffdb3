// Descriptor budgets derived from the process's real limit (RLIMIT_NOFILE): how many TCP
// sessions, splice pipes and UDP flows the data plane may hold, after the API's connections and
// a spare for everything else (listeners, event log, SQLite, epoll, health probes...) are set
// aside. plan_budget() is pure (inputs in, plan out) and unit-tested; the Edge computes a plan on
// start and on every reload, logs it, and sets the limits of its core::FdBudget, which the
// workers enforce by count before they open a descriptor. Design: docs/architecture.md,
// "Descriptor budgets".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::edge {

// RLIMIT_NOFILE as `rampart serve` leaves it: soft raised to the hard limit at start.
struct FdLimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
  uint64_t was = 0;  // the soft limit before raise_fd_limit()
};
// Raises the soft RLIMIT_NOFILE to the hard limit (capped at fs.nr_open); never lowers it.
FdLimit raise_fd_limit();
FdLimit current_fd_limit();

// The API's connection cap when the config has none (api.max_connections): the reserve assumes
// the API never holds more connections than this.
constexpr uint64_t kDefaultApiConnections = 256;
// Beyond its connection cap the API keeps a listener and a small pool for /healthz and /metrics.
constexpr uint64_t kApiExtraFds = 16;
// Descriptors outside every budget that do not grow with traffic: stdio, the event log and its
// syslog socket, SQLite (rampart.db, analytics.db and their journals), the health checker's
// loop, XDP maps, the etcd and BIRD clients, config and certificate reads during a reload.
constexpr uint64_t kSpareBase = 64;
// Per worker: epoll, its wake-up eventfd, and the one descriptor a refused accept holds for a
// moment.
constexpr uint64_t kSparePerWorker = 4;

struct BudgetInputs {
  uint64_t fd_limit = 1024;
  uint64_t raised_from = 0;  // the limit before raise_fd_limit(), for the log line (0: same)
  uint64_t workers = 1;
  uint64_t listeners = 0;  // listening sockets: every bind, once per worker
  uint64_t origins = 0;    // health-checked origins: one probe socket each at most
  uint64_t api_connections = kDefaultApiConnections;
  bool tcp_apps = true;          // an app of this protocol is configured (with neither, both are
  bool udp_apps = true;          // assumed, so that the first app added through the API finds room)
  uint64_t max_connections = 0;  // edge.max_connections (TCP sessions), 0 = auto
  uint64_t max_udp_flows = 0;    // edge.max_udp_flows, 0 = auto
  uint64_t max_udp_unconfirmed_flows = 0;  // edge.max_udp_unconfirmed_flows, 0 = half
};

struct BudgetPlan {
  uint64_t fd_limit = 0;
  uint64_t raised_from = 0;
  uint64_t api = 0;    // descriptors kept for the API
  uint64_t spare = 0;  // descriptors kept for the rest of the process
  uint64_t tcp_sessions = 0;
  uint64_t tcp_pipes = 0;  // splice pipes (2 fds each), HAProxy's maxpipes = maxconn / 4
  uint64_t udp_flows = 0;  // all flows, confirmed or not
  uint64_t udp_unconfirmed = 0;
  std::vector<std::string> warnings;  // knobs clamped, a limit too small to be useful

  // Descriptors the plan hands out; never more than fd_limit unless the limit is too small
  // (then a warning says so).
  uint64_t fds() const { return api + spare + 2 * tcp_sessions + 2 * tcp_pipes + udp_flows; }
  // "descriptors: limit 4096 (raised from 1024): tcp 1433 sessions + 358 pipes, udp 896 flows
  // (224 unconfirmed), api 272, spare 140"
  std::string summary() const;
  bool same_budgets(const BudgetPlan& o) const;
};

// Shares (docs/architecture.md, "Descriptor budgets"): the API and the spare first; of the
// rest, UDP flows get a quarter (edge.max_udp_flows may ask for up to half) when both protocols
// have apps, everything when only UDP apps exist, nothing when only TCP apps do; TCP gets the
// remainder at 2.5 descriptors per session (2 sockets, plus a pipe for one session in four);
// unconfirmed UDP flows get half of the UDP flows, confirmed ones the other half.
BudgetPlan plan_budget(const BudgetInputs& in);

// Listening sockets (every port of every app, once per worker) may take at most half of the
// descriptor limit: the rest is what connections, flows and the API live on. "" when `in`
// fits, else why not (the message names the numbers and what to change).
std::string listeners_overflow(const BudgetInputs& in);

// The inputs of `cfg` served by `workers` workers under `limit`.
BudgetInputs budget_inputs(const config::Config& cfg, uint64_t workers, const FdLimit& limit);

// api.max_connections (the API server's own cap), else kDefaultApiConnections.
inline uint64_t api_connection_cap(const config::ApiConfig& api) {
  return api.max_connections > 0 ? static_cast<uint64_t>(api.max_connections)
                                 : kDefaultApiConnections;
}

// An app's protection.max_connections clamped to the budget of its protocol (0 = no cap of its
// own: the budget is the cap). Returns the value to enforce; *clamped is set when it was lower.
uint64_t clamp_app_cap(uint64_t cap, config::Proto proto, const BudgetPlan& plan, bool* clamped);

}  // namespace rampart::edge
