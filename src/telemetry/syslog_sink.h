// Sends event lines to syslog as RFC 5424 messages over UDP or a unix datagram socket:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
// Owns one non-blocking datagram socket. Sends never block: a datagram the kernel will not take
// at once (full buffer, no receiver) is dropped and counted. One thread at a time (the event
// log's writer); the counters may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/events_config.h"
#include "core/unique_fd.h"

namespace rampart::telemetry {

inline constexpr int kSyslogWarning = 4;
inline constexpr int kSyslogInfo = 6;

struct SyslogOptions {
  std::string address;              // udp://IP:PORT, udp://[IPv6]:PORT, unix:///PATH
  std::string facility = "local0";  // syslog(3) name
  std::string tag = "rampart";      // APP-NAME
  std::string hostname;             // "" = gethostname()
};

class SyslogSink {
 public:
  // nullptr (with *error) for an invalid address or facility, or when no socket can be made.
  static std::unique_ptr<SyslogSink> open(const SyslogOptions& options, std::string* error);

  // One message; `severity` 0-7 (kSyslogInfo, kSyslogWarning); `time_ns` is wall-clock ns
  // since the epoch (<= 0: now). Returns false when the datagram was dropped.
  bool send(std::string_view msg, int severity, int64_t time_ns);

  // The message send() would put on the wire (exposed for tests).
  void format(std::string_view msg, int severity, int64_t time_ns, std::string* out) const;

  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  SyslogSink() = default;

  config::SyslogAddress address_;
  int facility_ = 16;
  std::string header_tail_;  // " HOSTNAME APP-NAME PROCID - - "
  core::UniqueFd fd_;
  std::string buffer_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> dropped_{0};
  int last_errno_ = 0;
};

}  // namespace rampart::telemetry
