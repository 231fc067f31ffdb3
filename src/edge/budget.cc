#include "edge/budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/validate.h"
#include "edge/snapshot.h"

namespace rampart::edge {

namespace {

uint64_t nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t n = 0;
  if (in >> n && n > 0) return n;
  return 1u << 20;  // the kernel's default
}

}  // namespace

FdLimit current_fd_limit() {
  rlimit r{};
  FdLimit out;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return out;
  out.soft = r.rlim_cur == RLIM_INFINITY ? nr_open() : r.rlim_cur;
  out.hard = r.rlim_max == RLIM_INFINITY ? nr_open() : r.rlim_max;
  out.was = out.soft;
  return out;
}

FdLimit raise_fd_limit() {
  FdLimit lim = current_fd_limit();
  // RLIM_INFINITY is not a valid descriptor limit: the kernel caps it at fs.nr_open.
  const uint64_t target = std::min(lim.hard, nr_open());
  if (target <= lim.soft) return lim;
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = static_cast<rlim_t>(target);
  if (setrlimit(RLIMIT_NOFILE, &r) == 0) lim.soft = target;
  return lim;
}

std::string BudgetPlan::summary() const {
  std::ostringstream s;
  s << "descriptors: limit " << fd_limit;
  if (raised_from != 0 && raised_from != fd_limit) s << " (raised from " << raised_from << ")";
  s << ": tcp " << tcp_sessions << " sessions + " << tcp_pipes << " pipes, udp " << udp_flows
    << " flows (" << udp_unconfirmed << " unconfirmed), api " << api << ", spare " << spare;
  return s.str();
}

bool BudgetPlan::same_budgets(const BudgetPlan& o) const {
  return fd_limit == o.fd_limit && api == o.api && spare == o.spare &&
         tcp_sessions == o.tcp_sessions && tcp_pipes == o.tcp_pipes && udp_flows == o.udp_flows &&
         udp_unconfirmed == o.udp_unconfirmed;
}

BudgetPlan plan_budget(const BudgetInputs& in) {
  BudgetPlan p;
  p.fd_limit = in.fd_limit;
  p.raised_from = in.raised_from;
  p.api = in.api_connections + kApiExtraFds;
  // The spare grows with the listeners and the health probes, plus 1/64 of the limit for what
  // a reload opens for a moment (a new listener before the old one closes, certificate files).
  p.spare =
      kSpareBase + kSparePerWorker * in.workers + in.listeners + in.origins + in.fd_limit / 64;
  const uint64_t reserved = p.api + p.spare;
  uint64_t left = in.fd_limit > reserved ? in.fd_limit - reserved : 0;
  if (left < 64) {
    p.warnings.push_back("the descriptor limit " + std::to_string(in.fd_limit) + " leaves " +
                         std::to_string(left) + " descriptors for connections after the API (" +
                         std::to_string(p.api) + ") and the spare (" + std::to_string(p.spare) +
                         "); raise LimitNOFILE (ulimit -n)");
    left = std::max<uint64_t>(left, 64);  // a few of each so that the edge still serves
  }

  const bool both = in.tcp_apps == in.udp_apps;  // both kinds, or no app yet
  // UDP flows: a quarter of what is left, half at most when max_udp_flows asks for more; all
  // of it when no TCP app needs any.
  const uint64_t udp_auto = both ? left / 4 : (in.udp_apps ? left : 0);
  const uint64_t udp_max = both ? left / 2 : udp_auto;
  p.udp_flows = udp_auto;
  if (in.max_udp_flows > 0) {
    p.udp_flows = std::min(in.max_udp_flows, udp_max);
    if (in.max_udp_flows > udp_max && udp_max > 0) {
      p.warnings.push_back("edge.max_udp_flows " + std::to_string(in.max_udp_flows) +
                           " is above the UDP flow budget: clamped to " + std::to_string(udp_max));
    }
  }
  // Unconfirmed flows: half. A new flow must outlive the wait for its reply while a flood of new
  // sources turns the share over; measured under 20,000 new sources/s at a 4096 limit, a
  // quarter (115 flows a worker, ~11 ms each) lost 1-2% of legitimate new flows on a busy box,
  // half lost none (docs/architecture.md, "Descriptor budgets").
  p.udp_unconfirmed = p.udp_flows > 0 ? std::max<uint64_t>(p.udp_flows / 2, 1) : 0;
  if (in.max_udp_unconfirmed_flows > 0) {
    p.udp_unconfirmed = std::min(in.max_udp_unconfirmed_flows, p.udp_flows);
    if (in.max_udp_unconfirmed_flows > p.udp_flows) {
      p.warnings.push_back(
          "edge.max_udp_unconfirmed_flows " + std::to_string(in.max_udp_unconfirmed_flows) +
          " is above the UDP flow budget: clamped to " + std::to_string(p.udp_flows));
    }
  }

  // TCP: 2 sockets per session and one pipe (2 fds) per four sessions: 2.5 fds a session.
  const uint64_t tcp_fds = in.tcp_apps || both ? left - p.udp_flows : 0;
  const uint64_t tcp_auto = tcp_fds * 2 / 5;
  p.tcp_sessions = tcp_auto;
  if (in.max_connections > 0) {
    p.tcp_sessions = std::min(in.max_connections, tcp_auto);
    if (in.max_connections > tcp_auto) {
      p.warnings.push_back("edge.max_connections " + std::to_string(in.max_connections) +
                           " is above the TCP session budget: clamped to " +
                           std::to_string(tcp_auto));
    }
  }
  p.tcp_pipes = p.tcp_sessions / 4;
  return p;
}

BudgetInputs budget_inputs(const config::Config& cfg, uint64_t workers, const FdLimit& limit) {
  BudgetInputs in;
  in.fd_limit = limit.soft;
  in.raised_from = limit.was;
  in.workers = workers;
  in.api_connections = api_connection_cap(cfg.api);
  in.max_connections = cfg.edge.max_connections;
  in.max_udp_flows = cfg.edge.max_udp_flows;
  in.max_udp_unconfirmed_flows = cfg.edge.max_udp_unconfirmed_flows;
  in.tcp_apps = in.udp_apps = false;
  uint64_t binds = 0;
  for (const config::App& app : cfg.apps) {
    (app.proto == config::Proto::kTcp ? in.tcp_apps : in.udp_apps) = true;
    binds += config::edge_addresses(app, cfg.edge.listen).size() * app.ports.size();
    if (app.proto == config::Proto::kTcp && app.load_balancing.health_check.enabled)
      in.origins += app.origin_direct.size();
  }
  if (!in.tcp_apps && !in.udp_apps) in.tcp_apps = in.udp_apps = true;
  in.listeners = binds * workers;
  return in;
}

std::string listeners_overflow(const BudgetInputs& in) {
  if (in.listeners <= in.fd_limit / 2) return "";
  return std::to_string(in.listeners) + " listening sockets (" +
         std::to_string(in.listeners / std::max<uint64_t>(in.workers, 1)) + " ports x " +
         std::to_string(in.workers) + " workers) would take more than half of the descriptor " +
         "limit (" + std::to_string(in.fd_limit) +
         "): use fewer ports (edge.max_ports), fewer workers, or a higher LimitNOFILE";
}

uint64_t clamp_app_cap(uint64_t cap, config::Proto proto, const BudgetPlan& plan, bool* clamped) {
  const uint64_t budget = proto == config::Proto::kTcp ? plan.tcp_sessions : plan.udp_flows;
  *clamped = cap > budget;
  return std::min(cap, budget);
}

}  // namespace rampart::edge
