#include "edge/snapshot.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <set>

#include "config/validate.h"  // edge_addresses: one rule, validation and binds
#include "core/log.h"
#include "core/unique_fd.h"
#include "tcp/tls_context.h"

namespace rampart::edge {

std::string bind_key(config::Proto proto, const net::SockAddr& addr) {
  return std::string(config::to_string(proto)) + " " + addr.to_string();
}

std::string Bind::key() const {
  return bind_key(proto, addr);
}

// Steering costs spreading: every connection of one address lands on one worker. Only apps
// whose guard keeps per-source state need it (in the bench, where every client is 127.0.0.1 and
// per-source limits are off, the kernel's 4-tuple hash spreads the load).
bool Bind::steered(int workers) const {
  return workers > 1 && app != nullptr && app->guard != nullptr && app->guard->needs_steering;
}

int Bind::steering_prefix(const config::Config& cfg) const {
  return static_cast<int>(std::min(app->protection.ipv6_prefix, cfg.protection.ipv6_prefix));
}

std::vector<std::pair<config::Proto, net::SockAddr>> listen_addresses(const config::Config& cfg) {
  std::vector<std::pair<config::Proto, net::SockAddr>> out;
  std::set<std::string> seen;
  for (const auto& app : cfg.apps)
    for (const auto& ip : config::edge_addresses(app, cfg.edge.listen))
      for (uint32_t port = app.ports.first; port != 0 && port <= app.ports.last; ++port) {
        net::SockAddr addr(ip, static_cast<uint16_t>(port));
        if (seen.insert(bind_key(app.proto, addr)).second) out.emplace_back(app.proto, addr);
      }
  return out;
}

namespace {

// The first egress_ips entry of the given family that is a single address this host can use
// as a source; an address the host does not have is reported once and skipped.
std::optional<net::IpAddr> pick_egress(const config::EdgeConfig& edge, int family) {
  for (const auto& text : edge.egress_ips) {
    std::string_view v = text;
    auto slash = v.find('/');
    if (slash != std::string_view::npos) {
      auto len = v.substr(slash + 1);
      if (!(len == "32" || len == "128")) continue;  // a range: the kernel picks within it
      v = v.substr(0, slash);
    }
    auto ip = net::IpAddr::parse(v);
    if (!ip || ip->family() != family) continue;
    core::UniqueFd probe(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(probe.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    net::SockAddr sa(*ip, 0);
    if (::bind(probe.get(), sa.get(), sa.len()) != 0) {
      RLOG_WARN("edge.egress_ips: ", text,
                " is not an address of this host; connections to origins use the kernel's "
                "choice of source address");
      continue;
    }
    return ip;
  }
  return std::nullopt;
}

// Whether connections to `origin` must bind `egress` as their source: not when the kernel's
// route already picks it (the common single-homed edge), which saves two syscalls per
// connection. Asked once per snapshot with a connected UDP socket (connect sends nothing).
bool needs_bind(const net::IpAddr& origin, uint16_t port,
                const std::optional<net::IpAddr>& egress) {
  if (!egress) return false;
  core::UniqueFd probe(::socket(origin.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  net::SockAddr dst(origin, port);
  if (!probe.valid() || ::connect(probe.get(), dst.get(), dst.len()) != 0) return true;
  net::SockAddr src;
  if (getsockname(probe.get(), src.get_mut(), src.len_mut()) != 0) return true;
  return !(src.ip() == *egress);
}

}  // namespace

std::vector<config::OriginDirect> app_origins(const config::App& app,
                                              const ResolvedOrigins* resolved) {
  if (!app.origin_dns) return app.origin_direct;
  std::vector<config::OriginDirect> out;
  if (resolved == nullptr) return out;
  auto it = resolved->find(app.id);
  if (it == resolved->end()) return out;
  const config::PortRange ports = app.origin_port.value_or(app.ports);
  std::string port_text = std::to_string(ports.first);
  if (ports.last != ports.first) port_text += "-" + std::to_string(ports.last);
  for (const net::IpAddr& ip : it->second) {
    if (out.size() >= origin::OriginSet::kMaxOrigins) break;
    config::OriginDirect o;
    o.ip = ip;
    o.ports = ports;
    o.text = std::string(config::to_string(app.proto)) + "://" +
             (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + port_text;
    out.push_back(std::move(o));
  }
  return out;
}

std::shared_ptr<const Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                               int workers, telemetry::StatsRegistry* stats,
                                               const BudgetPlan* budget,
                                               const ResolvedOrigins* resolved) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = cfg;
  snap->workers = workers > 0 ? workers : 1;
  auto egress_v4 = pick_egress(cfg.edge, AF_INET);
  auto egress_v6 = pick_egress(cfg.edge, AF_INET6);
  // The guard's rules are compiled here, once per snapshot, never per packet.
  std::vector<std::string> guard_warnings;
  auto zone = guard::compile_zone(
      cfg, &guard_warnings, previous != nullptr ? previous->zone.get() : nullptr, snap->workers);
  snap->zone = zone;
  for (const auto& w : guard_warnings) RLOG_WARN(w);
  std::string clamped_apps;  // " id (asked)" for each app whose cap is above its budget
  for (const auto& app : cfg.apps) {
    // kernel_relay: on has nothing to move for a TLS app (the bytes are decrypted in user space):
    // said once, when the app gets that combination.
    auto tls_kernel = [](const config::App& a) {
      return a.proto == config::Proto::kTcp && a.tls != config::TlsMode::kOff &&
             a.kernel_relay == config::KernelRelay::kOn;
    };
    if (tls_kernel(app)) {
      bool said = false;
      if (previous != nullptr)
        for (const auto& old : previous->config.apps) said |= old.id == app.id && tls_kernel(old);
      if (!said)
        RLOG_INFO("app ", app.id,
                  ": kernel_relay on does not apply to TLS apps; relayed in user space");
    }
    // The active health check is a TCP connect: it says nothing about a UDP service (and
    // would mark every UDP origin down), so UDP origins are judged passively only.
    config::LoadBalancing lb = app.load_balancing;
    if (app.proto == config::Proto::kUdp) lb.health_check.enabled = false;
    auto rt = std::make_shared<tcp::AppRuntime>();
    rt->cfg = app;
    rt->egress_v4 = egress_v4;
    rt->egress_v6 = egress_v6;
    rt->protection = app.protection ? *app.protection : cfg.protection;
    bool clamped = false;
    if (budget != nullptr) {
      const uint64_t asked = rt->protection.max_connections;
      rt->protection.max_connections = clamp_app_cap(asked, app.proto, *budget, &clamped);
      if (clamped) clamped_apps += " " + app.id + " (" + std::to_string(asked) + ")";
    }
    // A cap clamped to the budget is the budget, which the workers enforce together: no
    // per-worker share of it (that would refuse flows on a busy worker while others have room).
    if (rt->protection.max_connections > 0 && !clamped) {
      rt->max_flows_per_worker =
          (rt->protection.max_connections + static_cast<uint64_t>(workers) - 1) /
          static_cast<uint64_t>(workers);
    }
    const std::vector<config::OriginDirect> origins = app_origins(app, resolved);
    if (previous != nullptr) {
      for (const auto& old : previous->apps) {
        if (old->cfg.id == app.id && old->origins->matches(origins, lb)) {
          rt->origins = old->origins;
          break;
        }
      }
    }
    if (!rt->origins) rt->origins = std::make_shared<origin::OriginSet>(origins, lb);
    rt->egress_bind.resize(rt->origins->size());
    for (size_t i = 0; i < rt->origins->size(); ++i) {
      const auto& o = rt->origins->at(i).cfg;
      rt->egress_bind[i] = needs_bind(o.ip, o.ports.first, o.ip.is_v4() ? egress_v4 : egress_v6);
    }
    const guard::AppPolicy* old_policy = nullptr;
    if (previous != nullptr) {
      for (const auto& old : previous->apps)
        if (old->cfg.id == app.id) old_policy = old->guard.get();
    }
    rt->stats = stats != nullptr ? stats->get(app.id) : nullptr;
    rt->guard = guard::compile_app(app, rt->protection, zone, old_policy, rt->stats);
    if (app.proto == config::Proto::kTcp && app.tls != config::TlsMode::kOff) {
      std::shared_ptr<const tcp::TlsContext> old_tls;
      if (previous != nullptr) {
        for (const auto& old : previous->apps)
          if (old->cfg.id == app.id) old_tls = old->tls;
      }
      std::string error;
      std::vector<std::string> notes;
      rt->tls = tcp::TlsContext::build(app, old_tls.get(), &error, &notes);
      for (const auto& n : notes) RLOG_WARN(n);
      if (!rt->tls && old_tls && old_tls->mode() == app.tls) {
        // A renewed certificate that does not load must not take a working app down.
        RLOG_ERROR("app ", app.id, ": ", error, "; keeping the certificates loaded before");
        rt->tls = old_tls;
      } else if (!rt->tls) {
        // One app down, never the edge: its ports stay closed, the other apps serve.
        RLOG_ERROR("app ", app.id, " is disabled: ", error,
                   "; its listeners stay closed until this is fixed and the configuration "
                   "reloaded (SIGHUP); the other apps serve");
        snap->disabled[app.id] = error;
      }
    }
    std::shared_ptr<const tcp::AppRuntime> shared = rt;
    snap->apps.push_back(shared);
    if (snap->disabled.count(app.id) != 0) continue;
    for (const auto& ip : config::edge_addresses(app, cfg.edge.listen)) {
      for (uint32_t port = app.ports.first; port <= app.ports.last; ++port) {
        snap->binds.push_back(
            Bind{app.proto, net::SockAddr(ip, static_cast<uint16_t>(port)), shared});
      }
    }
  }
  if (!clamped_apps.empty()) {
    RLOG_WARN("protection.max_connections above the descriptor budget (tcp ", budget->tcp_sessions,
              " sessions, udp ", budget->udp_flows, " flows), clamped to it for:", clamped_apps);
  }
  return snap;
}

}  // namespace rampart::edge
