// A worker's own SO_REUSEPORT listening socket for one (address, port) of one app. Accepts
// until the queue is empty and starts a Session per connection. Survives reloads that keep the
// address: set_app() swaps the config new connections get. Worker thread only.
#pragma once

#include <memory>

#include "core/event_loop.h"
#include "core/unique_fd.h"
#include "net/ip_addr.h"
#include "tcp/app_runtime.h"
#include "tcp/worker_context.h"

namespace rampart::tcp {

class Listener : public core::EventHandler, public core::Timer, public core::Retirable {
 public:
  // How long accepting pauses when the process is out of file descriptors.
  static constexpr int64_t kFdExhaustedPauseMs = 100;

  Listener(WorkerContext* ctx, core::UniqueFd fd, const net::SockAddr& addr,
           std::shared_ptr<const AppRuntime> app);
  ~Listener() override;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void set_app(std::shared_ptr<const AppRuntime> app) { app_ = std::move(app); }
  const AppRuntime& app() const { return *app_; }
  const net::SockAddr& addr() const { return addr_; }
  int fd() const { return fd_.get(); }

  // Stops listening now (the object itself may be retired later).
  void close();
  void on_events(uint32_t events) override;
  void on_timer() override;

 private:
  void accept_all();
  // The guard refused `fd` right after accept: reset it and log a clientFiltered event.
  void refuse(int fd, const net::SockAddr& peer, const guard::Admission& a);

  WorkerContext* ctx_;
  core::UniqueFd fd_;
  net::SockAddr addr_;
  bool wildcard_;
  bool paused_ = false;
  std::shared_ptr<const AppRuntime> app_;
};

}  // namespace rampart::tcp
