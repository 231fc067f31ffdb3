// What `rampart serve` tells the service manager (systemd Type=notify, SPEC §7): READY=1 once
// every worker runs the config with its listeners open and the API is up; RELOADING=1 with
// MONOTONIC_USEC on SIGHUP, then READY=1 once the workers run the outcome; STOPPING=1 when the
// drain begins; STATUS= naming the apps and connections; and WATCHDOG=1 at half the period
// WATCHDOG_USEC asks for, only while every worker's loop answers: each round posts a no-op to
// every worker (Edge::probe_workers) and the next ping is sent only once all of them ran it, so
// a wedged worker stops the pings and systemd restarts the service.
// Owned by server::Server; ready(), reloading(), reloaded() and stopping() are called by the
// thread that runs Server::run(). ready() starts a thread of its own ("rampart-notify") for the
// watchdog and the STATUS= refresh; stopping() and the destructor join it. Without
// NOTIFY_SOCKET every call returns at once and no thread starts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/sd_notify.h"
#include "edge/edge.h"

namespace rampart::server {

class ServiceNotifier {
 public:
  // `edge` must outlive this object and be started before ready().
  ServiceNotifier(core::SdNotify notify, const edge::Edge* edge);
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return notify_.enabled(); }
  // Waits (at most `wait_ms`) until every worker runs the config and listens, then sends
  // READY=1 and the STATUS= line, and starts the watchdog/status thread.
  void ready(int wait_ms = 10000);
  // SIGHUP received: RELOADING=1 and MONOTONIC_USEC in one message.
  void reloading();
  // The reload is over (`outcome`: what the STATUS= line says about it, empty = nothing):
  // waits (bounded) until the workers run the config in force, then READY=1.
  void reloaded(const std::string& outcome, int wait_ms = 10000);
  // The drain begins: STOPPING=1; stops the thread (no watchdog while stopping: systemd's
  // TimeoutStopSec covers the drain).
  void stopping();

  // The STATUS= text for the edge now: "3 apps, 120 connections".
  static std::string status_text(size_t apps, size_t connections);

 private:
  void send(const std::string& message);
  std::string current_status() const;
  void run();
  void stop_thread();

  core::SdNotify notify_;
  const edge::Edge* edge_;
  std::string outcome_;  // appended to STATUS= after a refused reload; guarded by mu_

  // The probe round in flight: each worker stores `round` in its slot once it ran the no-op.
  // Shared with the probes still queued on the workers (a wedged one may hold its probe past
  // this object's life).
  std::shared_ptr<std::atomic<uint64_t>[]> answered_;
  size_t probed_ = 0;
  uint64_t round_ = 0;
  std::atomic<bool> send_failed_{false};  // logged once

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string last_status_;
  std::thread thread_;
};

}  // namespace rampart::server
