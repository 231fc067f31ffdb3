// The one place a connection event is built: the TCP sessions, the TCP listener's refusals and
// the UDP flows of a worker describe themselves as ConnFacts and the worker's ConnReporter fills
// the ConnEvent (app tags, addresses, bytes, time stamps, RTTs of a TCP disconnect), records it
// in the app's counters and pushes it to the event log's ring. One per worker, owned by the
// worker; its thread only.
#pragma once

#include <cstdint>

#include "config/model.h"
#include "net/ip_addr.h"
#include "telemetry/app_stats.h"
#include "telemetry/close_reason.h"
#include "telemetry/conn_event.h"
#include "telemetry/event_ring.h"

namespace rampart::telemetry {

// What one connection says about itself when an event is due: pointers into the connection, read
// during report() only.
struct ConnFacts {
  const config::App* app = nullptr;
  StatsSlot* stats = nullptr;  // the app's counters of this worker (null: none)
  bool udp = false;
  bool probe = false;        // a port probe's disconnect (ConnEvent::probe)
  const char* rule = "";     // ClientMatchedIpFirewall ("" = none)
  const char* country = "";  // ClientCountry (up to 2 letters)
  uint32_t asn = 0;          // ClientAsn
  const net::SockAddr* client = nullptr;
  const net::SockAddr* origin = nullptr;  // null or port 0: no origin yet
  uint64_t client_bytes = 0;
  uint64_t origin_bytes = 0;
  int64_t connect_ns = 0;  // 0: the event's own time
  int client_fd = -1;      // TCP: RTTs of a disconnect (event log only)
  int origin_fd = -1;
};

class ConnReporter {
 public:
  // `events` (the edge's ring; null: no event log) must outlive the reporter.
  explicit ConnReporter(EventRing* events = nullptr) : events_(events) {}

  // False when nothing would take an event of a connection with these counters (telemetry off):
  // callers skip gathering facts.
  bool wanted(const StatsSlot* stats) const { return stats != nullptr || events_ != nullptr; }

  // Builds the event and hands it to the app's counters and the event log. `extra(ConnEvent&)`
  // adds what only the connection knows (the TLS fields) before it leaves.
  template <class Extra>
  void report(EventType type, uint16_t status, const ConnFacts& f, Extra&& extra) {
    if (!wanted(f.stats)) return;
    ConnEvent e;
    fill(type, status, f, &e);
    extra(e);
    deliver(f.stats, e);
  }
  void report(EventType type, uint16_t status, const ConnFacts& f) {
    report(type, status, f, [](ConnEvent&) {});
  }

 private:
  void fill(EventType type, uint16_t status, const ConnFacts& f, ConnEvent* e) const;
  void deliver(StatsSlot* stats, const ConnEvent& e);

  EventRing* events_;
};

}  // namespace rampart::telemetry
