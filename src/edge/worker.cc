#include "edge/worker.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket_util.h"
#include "guard/reuseport.h"
#include "tcp/session.h"

namespace rampart::edge {

Worker::Worker(int index, telemetry::EventRing* events, size_t pipe_size, core::FdBudget* budget,
               int workers)
    : index_(index),
      pipes_(pipe_size, 256, budget),
      copy_buffer_(std::make_unique<char[]>(tcp::WorkerContext::kCopyBufferSize)),
      guard_(index),
      reporter_(events) {
  ctx_.guard = &guard_;
  udp_.guard = &guard_;
  ctx_.worker = static_cast<size_t>(index);
  udp_.worker = static_cast<size_t>(index);
  ctx_.copy_buffer = copy_buffer_.get();
  ctx_.loop = &loop_;
  ctx_.pipes = &pipes_;
  ctx_.reporter = &reporter_;
  udp_.loop = &loop_;
  udp_.reporter = &reporter_;
  ctx_.budget = budget;
  udp_.budget = budget;
  udp_.workers = workers > 0 ? static_cast<size_t>(workers) : 1;
}

std::future<void> Worker::recount_flows() {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ready = done->get_future();
  loop_.post([this, done] {
    udp_flows_.store(udp_.flows.size(), std::memory_order_relaxed);
    done->set_value();
  });
  return ready;
}

void Worker::FlowSweep::on_timer() {
  Worker* w = worker_;
  // The kernel relay's counters first: a kernel flow that saw traffic is not idle.
  udp::sync_kernel_flows(&w->udp_, w->loop_.now_ms());
  w->udp_.flows.expire(w->loop_.now_ms(), [](udp::FlowNode* n) {
    auto* f = static_cast<udp::Flow*>(n);
    f->listener->end_flow(f, {telemetry::Side::kEdge, telemetry::Cause::kNormal});
  });
  w->udp_flows_.store(w->udp_.flows.size(), std::memory_order_relaxed);
  w->guard_.tick(w->loop_.now_ms());
  const int64_t progress_ns = w->snapshot_ ? std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 w->snapshot_->config.events.progress_interval)
                                                 .count()
                                           : 0;
  const int64_t now_ns = core::realtime_ns();
  for (tcp::Session* s = w->ctx_.sessions.head(); s != nullptr; s = s->list_next) {
    s->sync_counters();  // kernel-relayed bytes into the app's live counters, once a second
    if (progress_ns > 0) s->progress(now_ns, progress_ns);
  }
  w->loop_.timers().schedule(this, w->loop_.now_ms() + 1000);
}

void Worker::PauseWatch::on_timer() {
  Worker* w = worker_;
  const uint64_t now = w->ctx_.kernel_relay->pauses(w->ctx_.worker);
  if (now != seen_) {
    seen_ = now;
    for (tcp::Session* s = w->ctx_.sessions.head(); s != nullptr;) {
      tcp::Session* next = s->list_next;  // s may close and leave the list
      s->recheck();
      s = next;
    }
  }
  // Off while no session of this worker is in the maps; the next hand-off arms it again.
  if (w->ctx_.kernel_sessions > 0)
    w->loop_.timers().schedule(this, w->loop_.now_ms() + tcp::KernelRelay::kPauseWatchMs);
}

Worker::~Worker() {
  stop(telemetry::status::kNormal);
}

void Worker::start() {
  loop_.timers().schedule(&sweep_, loop_.now_ms() + 1000);
  if (ctx_.kernel_relay != nullptr) ctx_.kernel_pause_watch = &pauses_;  // armed by hand-offs
  thread_ = std::thread([this] {
    // "rampart-w<N>": what top -H, /proc/PID/task/*/comm and the watchdog test see.
    const std::string name = "rampart-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    loop_.run();
  });
}

void Worker::apply(std::shared_ptr<const Snapshot> snap, std::shared_ptr<Prepared> prepared,
                   uint64_t generation) {
  loop_.post([this, snap = std::move(snap), prepared = std::move(prepared), generation] {
    apply_now(snap, prepared.get());
    applied_.store(generation, std::memory_order_release);
  });
}

static core::UniqueFd take_prepared(Worker::Prepared* prepared, const std::string& key) {
  if (prepared == nullptr) return {};
  auto it = prepared->find(key);
  return it == prepared->end() ? core::UniqueFd{} : std::move(it->second);
}

// Keeps the listeners of `binds` that exist already (new app config for new traffic), takes the
// missing ones from `prepared` (opened by the edge, steering attached: Edge::take_prepared) or
// opens them, and closes the rest. Shared by TCP and UDP. Returns how many binds could not be
// opened.
template <typename L, typename Make>
static size_t diff_listeners(std::map<std::string, std::unique_ptr<L>>& current,
                             const std::vector<Bind>& binds, config::Proto proto, int index,
                             int workers, const config::Config& cfg, core::EventLoop& loop,
                             Worker::Prepared* prepared, bool cbpf, Make&& make) {
  std::map<std::string, std::unique_ptr<L>> next;
  size_t failed = 0;
  for (const Bind& b : binds) {
    if (b.proto != proto) continue;
    std::string key = b.key();
    if (next.count(key) != 0) continue;
    // The program belongs to the group; worker 0 keeps it in step with the app's config.
    const bool steer = index == 0 && b.steered(workers);
    auto it = current.find(key);
    if (it != current.end()) {
      if (cbpf && index == 0 && workers > 1) {
        std::string error;
        if (!steer)
          guard::detach_steering(it->second->fd());
        else if (!guard::attach_steering(it->second->fd(), static_cast<unsigned>(workers), &error,
                                         b.steering_prefix(cfg)))
          RLOG_WARN("app ", b.app->cfg.id, ": ", error);
      }
      it->second->set_app(b.app);
      next[key] = std::move(it->second);
      current.erase(it);
      continue;
    }
    std::string error;
    auto type = proto == config::Proto::kTcp ? core::SockType::kStream : core::SockType::kDgram;
    // Opened by the edge, its group steered before any packet is hashed (Edge::take_prepared);
    // opened here only when the edge could not, to report why.
    core::UniqueFd fd = take_prepared(prepared, key);
    if (!fd.valid()) fd = core::open_listener(b.addr, type, SOMAXCONN, &error);
    if (!fd.valid()) {
      if (index == 0) RLOG_ERROR("app ", b.app->cfg.id, ": cannot listen: ", error);
      ++failed;
      continue;
    }
    next[key] = make(std::move(fd), b);
  }
  for (auto& [key, listener] : current) {
    listener->close();
    loop.retire(std::move(listener));
  }
  current = std::move(next);
  return failed;
}

void Worker::apply_now(const std::shared_ptr<const Snapshot>& snap, Prepared* prepared) {
  size_t failed =
      diff_listeners(tcp_listeners_, snap->binds, config::Proto::kTcp, index_, snap->workers,
                     snap->config, loop_, prepared, true, [this](core::UniqueFd fd, const Bind& b) {
                       return std::make_unique<tcp::Listener>(&ctx_, std::move(fd), b.addr, b.app);
                     });
  const bool gen = udp_gen_ != nullptr && udp_gen_->loaded();
  failed += diff_listeners(
      udp_listeners_, snap->binds, config::Proto::kUdp, index_, snap->workers, snap->config, loop_,
      prepared, !gen, [this, gen](core::UniqueFd fd, const Bind& b) {
        auto l = std::make_unique<udp::UdpListener>(&udp_, std::move(fd), b.addr, b.app);
        if (gen) {
          l->set_slot(udp_gen_->slot(b.key(), static_cast<size_t>(index_)));
          if (udp_.flow_owner_fd >= 0) l->own_flows();
        }
        return l;
      });
  guard_.configure(static_cast<size_t>(snap->config.protection.source_table_size),
                   static_cast<int>(snap->config.protection.ipv6_prefix));
  snapshot_ = snap;
  if (!udp_.draining) listening_.store(failed == 0, std::memory_order_relaxed);
}

void Worker::close_listeners() {
  for (auto& [key, listener] : tcp_listeners_) {
    listener->close();
    loop_.retire(std::move(listener));
  }
  tcp_listeners_.clear();
}

std::future<std::vector<guard::SourceReport>> Worker::sources(size_t top) {
  auto done = std::make_shared<std::promise<std::vector<guard::SourceReport>>>();
  auto answer = done->get_future();
  loop_.post([this, top, done] { done->set_value(guard_.report(top, loop_.now_ms())); });
  return answer;
}

std::future<Worker::Prepared> Worker::dup_listeners() {
  auto done = std::make_shared<std::promise<Prepared>>();
  auto answer = done->get_future();
  loop_.post([this, done] {
    Prepared out;
    for (const auto& [key, l] : tcp_listeners_)
      out[key] = core::UniqueFd(::fcntl(l->fd(), F_DUPFD_CLOEXEC, 0));
    for (const auto& [key, l] : udp_listeners_)
      out[key] = core::UniqueFd(::fcntl(l->fd(), F_DUPFD_CLOEXEC, 0));
    done->set_value(std::move(out));
  });
  return answer;
}

std::future<void> Worker::own_flows(int map_fd) {
  auto done = std::make_shared<std::promise<void>>();
  auto answer = done->get_future();
  loop_.post([this, map_fd, done] {
    udp_.flow_owner_fd = map_fd;
    for (auto& [key, l] : udp_listeners_) l->own_flows();
    done->set_value();
  });
  return answer;
}

void Worker::stop_listening() {
  listening_.store(false, std::memory_order_relaxed);
  loop_.post([this] {
    close_listeners();
    // UDP flows receive their clients' datagrams on the listening socket: it stays open, but
    // takes no new flows.
    udp_.draining = true;
  });
}

void Worker::stop(uint16_t status) {
  if (!thread_.joinable()) return;
  loop_.post([this, status] {
    for (auto& [key, listener] : tcp_listeners_) listener->close();
    for (auto& [key, listener] : udp_listeners_) listener->close();
    while (tcp::Session* s = ctx_.sessions.head()) s->abort(telemetry::close_reason_of(status));
    loop_.stop();
  });
  thread_.join();
  tcp_listeners_.clear();
  udp_listeners_.clear();
  loop_.timers().cancel(&sweep_);
}

}  // namespace rampart::edge
