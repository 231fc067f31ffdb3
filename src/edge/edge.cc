#include "edge/edge.h"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>
#include <thread>
#include <utility>

#include "config/safety.h"
#include "core/log.h"
#include "core/socket_util.h"
#include "guard/reuseport.h"

namespace rampart::edge {

int resolve_workers(int configured) {
  if (configured > 0) return configured;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

Edge::Edge() = default;

Edge::~Edge() {
  if (resolver_) {
    resolver_->stop();  // no new refresh is posted; one already queued does nothing
    control_.call([this] { draining_ = true; });
  }
  for (auto& w : workers_) w->stop(telemetry::status::kNormal);
  health_.stop();
  if (events_) events_->stop();
}

bool Edge::start(const config::Config& cfg, std::string* error) {
  return control_.call([&] { return start_on_control(cfg, error); });
}

bool Edge::start_on_control(const config::Config& cfg, std::string* error) {
  control_.assert_in_loop_thread("Edge::start");
  std::error_code ec;
  std::filesystem::create_directories(cfg.edge.data_dir, ec);
  if (ec) {
    *error = "edge.data_dir: cannot create " + cfg.edge.data_dir + ": " + ec.message();
    return false;
  }
  telemetry::EventLogOptions opts;
  opts.path = cfg.edge.data_dir + "/events.ndjson";
  opts.colo = cfg.edge.colo;
  opts.max_bytes = cfg.events.max_size;
  opts.keep_files = cfg.events.keep_files;
  opts.syslog_address = cfg.events.syslog_address;
  opts.syslog_facility = cfg.events.syslog_facility;
  opts.syslog_tag = cfg.events.syslog_tag;
  opts.rollup = &rollup_;
  // events.enabled: false (nginx's "access_log off"): the workers get no event ring at all.
  if (cfg.events.enabled) {
    events_ = std::make_unique<telemetry::EventLog>(opts);
    if (!events_->start(error)) return false;
  }
  health_.start();
  const int n = resolve_workers(cfg.edge.workers);
  // The XDP fast path first: the workers' guards take it as their ban sink before they start.
  if (cfg.protection.xdp.mode != config::XdpMode::kOff) {
    auto loader = std::make_unique<xdp::Loader>();
    const bool up =
        xdp_handover_.state.empty()
            ? loader->attach(cfg.protection.xdp)
            : loader->adopt(xdp_handover_.state, std::move(xdp_handover_.fds), cfg.protection.xdp);
    if (up) xdp_ = std::move(loader);
  }
  xdp_handover_ = {};  // XDP turned off: the old link goes with the old process
  // analytics.enabled: false leaves every app without counters (the data path checks for null).
  if (cfg.analytics.enabled)
    stats_ = std::make_unique<telemetry::StatsRegistry>(static_cast<size_t>(n));
  if (fd_limit_.soft == 0) fd_limit_ = current_fd_limit();
  // The API server keeps the connection cap it started with (api.* applies at the next start):
  // every later plan reserves for that one, not for a reloaded value it does not enforce.
  api_connections_ = api_connection_cap(cfg.api);
  BudgetInputs inputs = budget_inputs(cfg, static_cast<uint64_t>(n), fd_limit_);
  if (std::string why = listeners_overflow(inputs); !why.empty()) {
    *error = why;
    return false;
  }
  const BudgetPlan plan = apply_budget(std::move(inputs));
  // UDP flows survive upgrades only with the generation program (root or CAP_BPF, now).
  if (!udp_gen_.loaded()) {
    std::string why;
    if (!udp_gen_.load(&why))
      RLOG_WARN("udp: the reuseport generation program is off (", why,
                "); UDP groups use the classic steering and an upgrade cannot keep UDP flows "
                "with the old process");
  }
  // kernel_relay (TCP): the sockmap program, sized for every session of the budget; loaded now
  // because it needs CAP_BPF, which the privilege drop takes away. Nothing pinned: an upgrade's
  // new process loads its own.
  if (!tcp_relay_.loaded()) {
    std::string why;
    const uint64_t sessions = std::min<uint64_t>(plan.tcp_sessions, UINT32_MAX / 2);
    if (!tcp_relay_.load(static_cast<uint32_t>(sessions), &why))
      RLOG_INFO("kernel relay (tcp): off (", why,
                "); plain-TCP apps with kernel_relay on or auto are relayed in user space");
    else
      RLOG_INFO("kernel relay (tcp): sockmap loaded for ", sessions, " connections");
  }
  start_udp_relay(cfg, plan);
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, events_ ? events_->make_ring() : nullptr,
                                                cfg.edge.pipe_size, &budget_, n));
    workers_.back()->set_udp_relay(relay_.get());
    workers_.back()->set_ban_sink(&ban_fanout_);
    workers_.back()->set_udp_generations(&udp_gen_);
    workers_.back()->set_kernel_relay(tcp_relay_.maps());
  }
  // Started once all exist: a worker's ban reaches every other one through workers_.
  ban_fanout_.edge = this;
  for (auto& w : workers_) w->start();
  const ResolvedOrigins resolved = resolve_for(cfg);
  publish(compile_config(cfg, nullptr, n, stats_.get(), &plan, &resolved));
  RLOG_INFO("edge ", cfg.edge.colo, " started: ", n, " workers, ", cfg.apps.size(), " apps");
  return true;
}

bool Edge::wants_udp_relay(const config::Config& cfg) {
  return std::any_of(cfg.apps.begin(), cfg.apps.end(), [](const config::App& a) {
    return a.proto == config::Proto::kUdp && a.kernel_relay != config::KernelRelay::kOff;
  });
}

void Edge::start_udp_relay(const config::Config& cfg, const BudgetPlan& plan) {
  // Loaded and attached now, before a privilege drop takes CAP_NET_ADMIN away, when a UDP app
  // may use it (kernel_relay auto or on).
  Handed handed = std::exchange(relay_handover_, {});
  if (!wants_udp_relay(cfg)) return;
  auto relay = std::make_unique<xdp::UdpRelay>();
  std::string why;
  const int bans = xdp_ ? xdp_->bans_fd() : -1;
  if (!handed.state.empty()) {
    // An upgrade: the old process's program, maps and links, kept as they are (no capability
    // needed); its flows keep being relayed while it drains.
    if (relay->adopt(handed.state, std::move(handed.fds), &why)) {
      relay_adopted_ = true;
      relay_shares_bans_ = relay->shares_bans_with(bans);
      RLOG_INFO("kernel relay: UDP program kept attached to ", relay->attached_count(),
                " interfaces across the upgrade, room for ", relay->max_flows(), " flows",
                relay_shares_bans_ ? ", bans shared with the XDP guard" : "");
      relay_ = std::move(relay);
      return;
    }
    RLOG_WARN("kernel relay: not kept across the upgrade (", why, "); loading this binary's");
    relay = std::make_unique<xdp::UdpRelay>();
  }
  if (!relay->load(static_cast<uint32_t>(std::max<uint64_t>(plan.udp_flows, 1)), bans, &why)) {
    RLOG_WARN("kernel relay: UDP flows stay in user space (", why, ")");
    return;
  }
  const size_t n = relay->attach_all(cfg.edge.kernel_relay_interfaces);
  if (n == 0) {
    RLOG_WARN("kernel relay: attached to no interface; UDP flows stay in user space");
    return;
  }
  relay_shares_bans_ = bans >= 0;
  RLOG_INFO("kernel relay: UDP program attached to ", n, " interfaces, room for ",
            relay->max_flows(), " flows", bans >= 0 ? ", bans shared with the XDP guard" : "");
  relay_ = std::move(relay);
}

void Edge::reload(const config::Config& cfg) {
  control_.assert_in_loop_thread("Edge::reload");
  if (resolve_workers(cfg.edge.workers) != static_cast<int>(workers_.size())) {
    RLOG_WARN("edge.workers changed: takes effect at the next restart");
  }
  if (!(cfg.protection.xdp == compiled_->snapshot->config.protection.xdp))
    RLOG_WARN("protection.xdp changed: takes effect at the next restart");
  if (events_) events_->set_colo(cfg.edge.colo);
  if (cfg.events.enabled != (events_ != nullptr) || cfg.analytics.enabled != (stats_ != nullptr))
    RLOG_WARN("events.enabled / analytics.enabled changed: takes effect at the next restart");
  const int n = static_cast<int>(workers_.size());
  const BudgetPlan plan = apply_budget(budget_inputs(cfg, static_cast<uint64_t>(n), fd_limit_));
  const ResolvedOrigins resolved = resolve_for(cfg);
  publish(compile_config(cfg, compiled_.get(), n, stats_.get(), &plan, &resolved));
  RLOG_INFO("configuration reloaded: ", cfg.apps.size(), " apps");
}

BudgetPlan Edge::apply_budget(BudgetInputs in) {
  control_.assert_in_loop_thread("Edge::apply_budget");
  in.api_connections = api_connections_;
  BudgetPlan plan = plan_budget(in);
  bool changed;
  {
    std::lock_guard lock(snapshot_mu_);
    changed = !plan.same_budgets(plan_);
    plan_ = plan;
  }
  // Lower limits close nothing: sessions and flows above them end as they would, and new ones
  // wait for room.
  budget_.set_limit(core::FdBudget::kTcpSessions, plan.tcp_sessions);
  budget_.set_limit(core::FdBudget::kTcpPipes, plan.tcp_pipes);
  budget_.set_limit(core::FdBudget::kUdpConfirmed, plan.udp_flows - plan.udp_unconfirmed);
  budget_.set_limit(core::FdBudget::kUdpUnconfirmed, plan.udp_unconfirmed);
  if (changed) {
    for (const auto& w : plan.warnings) RLOG_WARN(w);
    RLOG_INFO(plan.summary());
  }
  return plan;
}

// One client source -> one socket of the group -> one worker: the guard's per-source state is
// then exact without sharing.
static void steer_group(int fd, const Bind& b, const config::Config& cfg, size_t workers) {
  std::string error;
  if (!guard::attach_steering(fd, static_cast<unsigned>(workers), &error, b.steering_prefix(cfg)))
    RLOG_WARN("app ", b.app->cfg.id, ": ", error,
              "; per-source limits are per worker for this listener");
}

std::vector<std::shared_ptr<Worker::Prepared>> Edge::take_prepared(const Snapshot& snap,
                                                                   const Snapshot* before) {
  std::map<std::string, std::vector<core::UniqueFd>> held;
  held.swap(prepared_);
  const size_t n = workers_.size();
  std::vector<std::shared_ptr<Worker::Prepared>> out;
  for (size_t w = 0; w < n; ++w) out.push_back(std::make_shared<Worker::Prepared>());
  std::set<std::string> open_now;
  if (before != nullptr)
    for (const Bind& b : before->binds) open_now.insert(b.key());
  if (udp_gen_.loaded()) {
    std::set<std::string> wanted;
    for (const Bind& b : snap.binds) {
      if (b.proto != config::Proto::kUdp) continue;
      wanted.insert(b.key());
      // The group's steering follows its app (the program reads it from the group's entry).
      if (open_now.count(b.key()) != 0)
        udp_gen_.set_steering(b.key(),
                              b.steered(static_cast<int>(n)) ? b.steering_prefix(snap.config) : 0);
    }
    for (const std::string& key : open_now)
      if (key.rfind("udp ", 0) == 0 && wanted.count(key) == 0) udp_gen_.close_group(key);
  }
  // A disabled app's listeners, opened before its TLS was judged, are closed with `held`.
  for (const Bind& b : snap.binds) {
    const std::string key = b.key();
    if (open_now.count(key) != 0 || (*out[0]).count(key) != 0) continue;  // the workers keep theirs
    const bool steer = b.steered(static_cast<int>(n));
    if (b.proto == config::Proto::kUdp && udp_gen_.loaded()) {
      std::string error;
      auto mine =
          udp_gen_.open_group(key, b.addr, n, steer ? b.steering_prefix(snap.config) : 0, &error);
      if (mine.size() == n) {
        for (size_t w = 0; w < n; ++w) (*out[w])[key] = std::move(mine[w]);
        continue;
      }
      RLOG_WARN("app ", b.app->cfg.id, ": ", key, ": ", error);
    }
    std::vector<core::UniqueFd>& fds = held[key];
    if (fds.size() != n) {
      // The first socket creates the reuseport group and takes the program before the others
      // join: no SYN or datagram is ever hashed by the kernel's 4-tuple, so a flow's first
      // datagram and its later ones reach the same worker.
      fds.clear();
      const auto type =
          b.proto == config::Proto::kTcp ? core::SockType::kStream : core::SockType::kDgram;
      std::string error;
      for (size_t w = 0; w < n; ++w) {
        core::UniqueFd fd = core::open_listener(b.addr, type, SOMAXCONN, &error);
        if (!fd.valid()) break;  // the workers try again and report why
        if (w == 0 && steer) steer_group(fd.get(), b, snap.config, n);
        fds.push_back(std::move(fd));
      }
      if (fds.size() != n) continue;
    } else if (steer) {
      steer_group(fds[0].get(), b, snap.config, n);
    }
    for (size_t w = 0; w < n; ++w) (*out[w])[key] = std::move(fds[w]);
  }
  return out;
}

ResolvedOrigins Edge::resolve_for(const config::Config& cfg) {
  control_.assert_in_loop_thread("Edge::resolve_for");
  std::vector<resolve::Query> queries;
  std::vector<std::string> keys;
  for (const auto& app : cfg.apps) {
    if (!app.origin_dns) continue;
    resolve::Query q;
    q.key = app.id;
    q.name = app.origin_dns->name;
    q.family = resolve::family_of(app.origin_dns->type);
    q.ttl_cap_s = app.origin_dns->ttl;
    q.hold = std::chrono::duration_cast<std::chrono::milliseconds>(app.timeouts.dns_hold);
    queries.push_back(std::move(q));
    keys.push_back(app.id);
  }
  if (!resolver_) {
    if (queries.empty()) return {};
    resolve::Options opts = resolver_options_;
    if (!opts.refuse) {
      // What the API refuses even with api.allow_private_origins: an answer (a compromised or
      // rebinding DNS) never points the edge at a metadata service or a link-local peer.
      opts.refuse = [](const net::IpAddr& ip) -> const char* {
        const config::OriginScope s = config::origin_scope(ip);
        if (s == config::OriginScope::kUnicast || s == config::OriginScope::kLoopback)
          return nullptr;
        return config::scope_text(s);
      };
    }
    auto r = std::make_unique<resolve::OriginResolver>(opts);
    r->set_on_change([this] {
      // Coalesced: one refresh queued at a time reads every answer that changed meanwhile.
      if (!refresh_posted_.exchange(true)) control_.post([this] { refresh_origins(); });
    });
    std::string error;
    if (!r->start(&error)) {
      RLOG_ERROR("origin_dns: ", error, "; apps with origin_dns refuse connections (531)");
      return {};
    }
    resolver_ = std::move(r);
    resolver_view_.store(resolver_.get(), std::memory_order_release);
  }
  resolver_->set_queries(queries);
  if (!keys.empty() && !resolver_->wait_settled(keys, kFirstLookupWait))
    RLOG_WARN("origin_dns: some names did not answer within ", kFirstLookupWait.count(),
              " ms; their apps answer 531 until they resolve");
  return resolver_->all_addresses();
}

void Edge::refresh_origins() {
  control_.assert_in_loop_thread("Edge::refresh_origins");
  refresh_posted_.store(false);
  if (draining_ || !compiled_ || !resolver_) return;
  ResolvedOrigins resolved = resolver_->all_addresses();
  if (resolved == compiled_->resolved) return;
  for (const auto& [id, ips] : resolved) {
    auto old = compiled_->resolved.find(id);
    if (old != compiled_->resolved.end() && old->second == ips) continue;
    std::string list;
    for (const auto& ip : ips) list += (list.empty() ? "" : ", ") + ip.to_string();
    RLOG_INFO("app ", id,
              ": origin_dns answer changed: ", ips.empty() ? std::string("no address (531)") : list,
              "; new connections use it, established ones keep theirs");
  }
  const int n = static_cast<int>(workers_.size());
  const config::Config cfg = compiled_->snapshot->config;
  publish(compile_config(cfg, compiled_.get(), n, stats_.get(), &plan_, &resolved), false);
}

void Edge::publish(std::shared_ptr<const CompiledConfig> next, bool hand_prepared) {
  control_.assert_in_loop_thread("Edge::publish");
  for (const auto& line : next->warnings) RLOG_WARN(line);
  // The generation moves before the snapshot is visible: whoever sees the new snapshot and then
  // waits for wait_applied() waits for the workers to take this one, not the one before.
  const uint64_t generation = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  std::shared_ptr<const CompiledConfig> before;
  {
    std::lock_guard lock(snapshot_mu_);
    before = std::exchange(compiled_, next);
  }
  // Kernel maps before the workers: a new app's port is judged from its first packet.
  if (xdp_) xdp_->sync(next->map_plan);
  health_.set_targets(next->health_targets);
  const std::shared_ptr<const Snapshot>& snap = next->snapshot;
  std::vector<std::shared_ptr<Worker::Prepared>> prepared;
  if (hand_prepared) {
    prepared = take_prepared(*snap, before ? before->snapshot.get() : nullptr);
  } else {
    for (size_t w = 0; w < workers_.size(); ++w)
      prepared.push_back(std::make_shared<Worker::Prepared>());
  }
  for (size_t w = 0; w < workers_.size(); ++w)
    workers_[w]->apply(snap, std::move(prepared[w]), generation);
  if (applied_listener_) applied_listener_(next);
}

net::Cidr Edge::ban_scope(const net::IpAddr& ip) const {
  const auto snap = snapshot();
  const int prefix = snap ? static_cast<int>(snap->config.protection.ipv6_prefix) : 64;
  return guard::source_prefix(ip, prefix);
}

void Edge::ban(const net::Cidr& source, int64_t duration_ms) {
  // The kernel map is keyed at this edge's granularity, like the workers' tables.
  if (xdp_) xdp_->banned(ban_scope(source.base()), duration_ms);
  // The relay reads the XDP guard's map when it shares it; else its own copy.
  if (relay_ && !relay_shares_bans_) relay_->banned(ban_scope(source.base()), duration_ms);
  for (auto& w : workers_) w->ban(source, duration_ms);
}

void Edge::unban(const net::IpAddr& ip) {
  if (xdp_) xdp_->unban(ban_scope(ip));
  if (relay_ && !relay_shares_bans_) relay_->unban(ban_scope(ip));
  for (auto& w : workers_) w->unban(ip);
}

Edge::SourceTableTotals Edge::guard_tables() const {
  SourceTableTotals t;
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  for (const auto& w : workers_) {
    const guard::SourceTableStats& s = w->guard_table_stats();
    t.size += get(s.size);
    t.capacity += get(s.capacity);
    t.evicted_idle += get(s.evicted_idle);
    t.evicted_violators += get(s.evicted_violators);
    t.evicted_banned += get(s.evicted_banned);
    t.refused += get(s.refused);
  }
  return t;
}

std::vector<uint64_t> Edge::guard_drops(bool dry_run) const {
  std::vector<uint64_t> out(guard::kReasonCount, 0);
  for (const auto& w : workers_) {
    const guard::Counters& c = w->guard_counters();
    for (size_t i = 0; i < guard::kReasonCount; ++i)
      out[i] += (dry_run ? c.dry_run[i] : c.drops[i]).load(std::memory_order_relaxed);
  }
  return out;
}

uint64_t Edge::guard_bans() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->guard_counters().bans.load(std::memory_order_relaxed);
  return n;
}

std::vector<guard::SourceReport> Edge::sources(size_t top) const {
  // Every worker is asked at once; together they get one second to answer.
  std::vector<std::future<std::vector<guard::SourceReport>>> answers;
  for (const auto& w : workers_) answers.push_back(w->sources(top));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  std::vector<guard::SourceReport> out;
  for (auto& a : answers) {
    if (a.wait_until(deadline) != std::future_status::ready) continue;
    try {
      auto part = a.get();
      out.insert(out.end(), part.begin(), part.end());
    } catch (const std::future_error&) {  // the worker stopped before answering
    }
  }
  return out;
}

bool Edge::applied() const {
  const uint64_t published = generation_.load(std::memory_order_acquire);
  for (const auto& w : workers_)
    if (w->applied() < published) return false;
  return true;
}

bool Edge::wait_applied(std::chrono::milliseconds limit, bool listening) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!(applied() && (!listening || listeners_up()))) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool Edge::listeners_up() const {
  if (workers_.empty()) return false;
  for (const auto& w : workers_)
    if (!w->listening()) return false;
  return true;
}

size_t Edge::sessions() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->sessions();
  return n;
}

size_t Edge::probe_workers(const std::function<void(size_t)>& fn) const {
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->probe([fn, i] { fn(i); });
  return workers_.size();
}

std::optional<std::map<std::string, std::vector<core::UniqueFd>>> Edge::dup_listeners() {
  return control_.call(
      [this]() -> std::optional<std::map<std::string, std::vector<core::UniqueFd>>> {
        std::map<std::string, std::vector<core::UniqueFd>> out;
        std::vector<std::future<Worker::Prepared>> answers;
        for (auto& w : workers_) answers.push_back(w->dup_listeners());
        for (auto& a : answers) {
          if (a.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
          for (auto& [key, fd] : a.get())
            if (!(udp_gen_.loaded() && key.rfind("udp ", 0) == 0))
              out[key].push_back(std::move(fd));
        }
        return out;
      });
}

std::string Edge::udp_state() {
  return control_.call([this] { return udp_gen_.loaded() ? udp_gen_.handover_state() : ""; });
}

std::vector<int> Edge::udp_fds() {
  return control_.call(
      [this] { return udp_gen_.loaded() ? udp_gen_.handover_fds() : std::vector<int>{}; });
}

std::string Edge::xdp_state() {
  return control_.call([this] { return xdp_ ? xdp_->handover_state() : std::string(); });
}

std::vector<int> Edge::xdp_fds() {
  return control_.call([this] { return xdp_ ? xdp_->handover_fds() : std::vector<int>{}; });
}

std::string Edge::udp_relay_state() {
  return control_.call([this] { return relay_ ? relay_->handover_state() : std::string(); });
}

std::vector<int> Edge::udp_relay_fds() {
  return control_.call([this] { return relay_ ? relay_->handover_fds() : std::vector<int>{}; });
}

void Edge::hand_over_kernel(const std::set<std::string>& kept) {
  control_.call([&] {
    if (xdp_) {
      if (kept.count("xdp") != 0)
        xdp_->release();
      else  // not taken over: attached until this process exits, with its plan as it was
        RLOG_INFO(
            "xdp: the new process did not take the attachment over; it stays until this "
            "process exits");
    }
    if (relay_ && kept.count("udp_relay") != 0) relay_->release();
  });
}

std::vector<std::string> Edge::kernel_kept() {
  return control_.call([this] {
    std::vector<std::string> out;
    if (xdp_ && xdp_->took_over()) out.push_back("xdp");
    if (relay_ && relay_adopted_) out.push_back("udp_relay");
    return out;
  });
}

void Edge::freeze_xdp() {
  control_.call([this] {
    if (xdp_) xdp_->freeze();
  });
}

void Edge::reclaim_xdp() {
  control_.call([this] {
    if (xdp_ && compiled_) xdp_->reclaim(compiled_->map_plan);
  });
}

void Edge::hand_over_udp() {
  control_.call([this] {
    if (!udp_gen_.loaded()) return;
    std::vector<std::future<void>> listed;
    for (auto& w : workers_) listed.push_back(w->own_flows(udp_gen_.flows_fd()));
    for (auto& f : listed) f.wait_for(std::chrono::seconds(5));
    udp_gen_.flip();
  });
}

size_t Edge::drain(config::Duration timeout) {
  return control_.call([&] { return drain_on_control(timeout); });
}

size_t Edge::drain_on_control(config::Duration timeout) {
  control_.assert_in_loop_thread("Edge::drain");
  draining_ = true;
  for (auto& w : workers_) w->stop_listening();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // UDP flows as they are now, not as of the workers' last sweep (up to a second old): a flow
  // opened just before an upgrade must keep the old process until it ends.
  auto count_now = [this] {
    std::vector<std::future<void>> counted;
    for (auto& w : workers_) counted.push_back(w->recount_flows());
    for (auto& c : counted) c.wait_for(std::chrono::milliseconds(200));
    return sessions();
  };
  size_t left = count_now();
  if (left > 0) RLOG_INFO("draining ", left, " connections (up to ", timeout.count(), " ms)");
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = count_now();
  }
  for (auto& w : workers_) w->stop(telemetry::status::kNormal);
  if (xdp_) xdp_->detach();
  if (left > 0) RLOG_WARN("drain timeout: closed ", left, " connections");
  return left;
}

}  // namespace rampart::edge
