// The service manager's notification socket (systemd's sd_notify protocol), spoken directly:
// one AF_UNIX datagram per message to $NOTIFY_SOCKET (a path, or '@' for the abstract
// namespace), no libsystemd. Without NOTIFY_SOCKET, from_env() gives a disabled notifier whose
// send() does nothing, so callers need no test of their own. The watchdog period comes from
// $WATCHDOG_USEC, and only when $WATCHDOG_PID is unset or names this process.
// Not tied to a thread: send() is one sendto() on a socket opened once, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/unique_fd.h"

namespace rampart::core {

class SdNotify {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. The environment is left as it is
  // (a process started to replace this one needs NOTIFY_SOCKET to send MAINPID=).
  static SdNotify from_env();
  // `socket`: a filesystem path or "@name" (abstract); empty = disabled.
  // `watchdog_usec`: 0 = no watchdog.
  SdNotify(std::string socket, uint64_t watchdog_usec);
  SdNotify() = default;
  SdNotify(SdNotify&&) = default;
  SdNotify& operator=(SdNotify&&) = default;

  bool enabled() const { return !socket_.empty(); }
  // The period the service manager expects WATCHDOG=1 within; 0 = no watchdog.
  uint64_t watchdog_usec() const { return watchdog_usec_; }
  const std::string& socket() const { return socket_; }

  // Sends `message` (newline-separated KEY=VALUE lines) as one datagram. False with *error set
  // when the socket cannot be reached; true and nothing sent when disabled.
  bool send(std::string_view message, std::string* error = nullptr) const;

  // CLOCK_MONOTONIC in microseconds: what MONOTONIC_USEC= carries with RELOADING=1.
  static uint64_t monotonic_usec();
  // "RELOADING=1\nMONOTONIC_USEC=<now>": systemd (Type=notify-reload) matches the two only in
  // the same message.
  static std::string reloading_message();
  // One STATUS= line with control characters and newlines replaced (one line, one message).
  static std::string status_message(std::string_view status);

 private:
  std::string socket_;
  uint64_t watchdog_usec_ = 0;
  UniqueFd fd_;
};

}  // namespace rampart::core
