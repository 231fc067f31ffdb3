// Writes connection events as NDJSON (one Spectrum spectrum_events object per line) to
// <data_dir>/events.ndjson. Owns one background thread that drains the workers' rings every
// 100 ms; workers only push into their own ring. Start/stop and ring creation: owner thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/event_ring.h"

namespace rampart::telemetry {

struct EventLogOptions {
  std::string path;                   // file to append to
  std::string colo;                   // ColoCode
  uint64_t max_bytes = 256ull << 20;  // rotate past this size (path.1, path.2, ...)
  int keep_files = 5;
};

class EventLog {
 public:
  explicit EventLog(EventLogOptions options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Opens the file and starts the writer thread; false (with *error) if the file can't be opened.
  bool start(std::string* error);
  // Drains what is queued, writes it, and joins the thread.
  void stop();
  // A ring for one producer thread; valid until the EventLog is destroyed.
  EventRing* make_ring();
  void set_colo(const std::string& colo);
  uint64_t written() const { return written_.load(); }
  uint64_t dropped() const;

  // Formats one event as a JSON object followed by '\n'; exposed for tests.
  static void format(const ConnEvent& e, const std::string& colo, std::string* out);

 private:
  void run();
  void flush_once();
  void rotate_if_needed();

  EventLogOptions options_;
  int fd_ = -1;
  uint64_t size_ = 0;
  mutable std::mutex mu_;  // guards rings_ (creation) and colo_
  std::condition_variable cv_;
  std::vector<std::unique_ptr<EventRing>> rings_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> written_{0};
  std::thread thread_;
  std::string buffer_;
};

}  // namespace rampart::telemetry
