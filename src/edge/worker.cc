#include "edge/worker.h"

#include <sys/socket.h>

#include "core/log.h"
#include "core/socket_util.h"
#include "tcp/session.h"

namespace rampart::edge {

Worker::Worker(int index, telemetry::EventRing* events, size_t pipe_size)
    : index_(index),
      pipes_(pipe_size),
      copy_buffer_(std::make_unique<char[]>(tcp::WorkerContext::kCopyBufferSize)) {
  ctx_.copy_buffer = copy_buffer_.get();
  ctx_.loop = &loop_;
  ctx_.pipes = &pipes_;
  ctx_.events = events;
}

Worker::~Worker() {
  stop(telemetry::status::kNormal);
}

void Worker::start() {
  thread_ = std::thread([this] { loop_.run(); });
}

void Worker::apply(std::shared_ptr<const Snapshot> snap) {
  loop_.post([this, snap = std::move(snap)] { apply_now(snap); });
}

void Worker::apply_now(const std::shared_ptr<const Snapshot>& snap) {
  std::map<std::string, std::unique_ptr<tcp::Listener>> next;
  for (const Bind& b : snap->binds) {
    if (b.proto != config::Proto::kTcp) continue;  // UDP arrives with the UDP data plane
    std::string key = b.key();
    if (next.count(key) != 0) continue;
    auto it = tcp_listeners_.find(key);
    if (it != tcp_listeners_.end()) {
      it->second->set_app(b.app);
      next[key] = std::move(it->second);
      tcp_listeners_.erase(it);
      continue;
    }
    std::string error;
    core::UniqueFd fd = core::open_listener(b.addr, core::SockType::kStream, SOMAXCONN, &error);
    if (!fd.valid()) {
      if (index_ == 0) RLOG_ERROR("app ", b.app->cfg.id, ": cannot listen: ", error);
      continue;
    }
    next[key] = std::make_unique<tcp::Listener>(&ctx_, std::move(fd), b.addr, b.app);
  }
  for (auto& [key, listener] : tcp_listeners_) {
    listener->close();
    loop_.retire(std::move(listener));
  }
  tcp_listeners_ = std::move(next);
  snapshot_ = snap;
}

void Worker::stop_listening() {
  loop_.post([this] {
    for (auto& [key, listener] : tcp_listeners_) {
      listener->close();
      loop_.retire(std::move(listener));
    }
    tcp_listeners_.clear();
  });
}

void Worker::stop(uint16_t status) {
  if (!thread_.joinable()) return;
  loop_.post([this, status] {
    for (auto& [key, listener] : tcp_listeners_) listener->close();
    while (tcp::Session* s = ctx_.sessions.head()) s->abort(status);
    loop_.stop();
  });
  thread_.join();
  tcp_listeners_.clear();
}

}  // namespace rampart::edge
