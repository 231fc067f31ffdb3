// Writes connection events as NDJSON (one Spectrum spectrum_events object per line) to
// <data_dir>/events.ndjson, rotated by size between whole lines, and optionally copies every line
// to syslog. Owns one background thread that drains the workers' rings every 100 ms and does all
// file and syslog I/O; workers only push into their own ring. Start/stop and ring creation: owner
// thread; the counters may be read from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "telemetry/event_ring.h"
#include "telemetry/rollup.h"
#include "telemetry/syslog_sink.h"

namespace rampart::telemetry {

struct EventLogOptions {
  std::string path;  // file to append to
  std::string colo;  // ColoCode
  // A file never grows past max_bytes (unless one line is longer): the writer rotates before the
  // line that would cross it. 0 = never rotate.
  uint64_t max_bytes = 256ull << 20;
  int keep_files = 5;  // rotated files kept: path.1 (newest) .. path.N; 0 = deleted on rotation
  std::string syslog_address;  // "" = no syslog copy; else as config::parse_syslog_address()
  std::string syslog_facility = "local0";
  std::string syslog_tag = "rampart";
  Rollup* rollup = nullptr;  // also fed every event, for the analytics (may be null)
};

// Appends `s` as a JSON string: quote and backslash escaped, control characters and DEL as
// \u00XX, U+2028/U+2029 escaped, and every byte that is not valid UTF-8 (a client's raw server
// name) as \ufffd, so each event stays one valid line of JSON whatever the client sent.
void append_json_string(std::string* out, std::string_view s);

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
  // Events the workers pushed so far: once written() reaches a value read here, every event
  // pushed before that read is in the file (a barrier for tests and shutdown checks).
  uint64_t pushed() const;
  // Syslog copies sent and dropped (socket buffer full, no receiver); 0 without syslog.
  uint64_t syslog_sent() const { return syslog_ ? syslog_->sent() : 0; }
  uint64_t syslog_dropped() const { return syslog_ ? syslog_->dropped() : 0; }

  // Formats one event as a JSON object followed by '\n'; exposed for tests.
  static void format(const ConnEvent& e, const std::string& colo, std::string* out);

 private:
  void run();
  void flush_once();
  // Appends whole lines, rotating between two lines where the next would cross max_bytes.
  void write_lines(std::string_view data);
  bool write_all(std::string_view chunk);
  bool rotate();

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
  std::unique_ptr<SyslogSink> syslog_;  // made by start(); used by the writer thread only
};

}  // namespace rampart::telemetry
