#include "telemetry/conn_reporter.h"

#include "core/clock.h"
#include "core/socket_util.h"

namespace rampart::telemetry {

void ConnReporter::fill(EventType type, uint16_t status, const ConnFacts& f, ConnEvent* e) const {
  e->type = type;
  e->status = status;
  e->udp = f.udp;
  e->probe = f.probe;
  e->ip_firewall = f.app->ip_firewall;
  e->proxy_protocol = static_cast<uint8_t>(f.app->proxy_protocol);
  e->tls = !f.udp && f.app->tls != config::TlsMode::kOff;
  e->set_app(f.app->id);
  e->set_matched_rule(f.rule != nullptr ? f.rule : "");
  if (f.country != nullptr) ConnEvent::copy_text(e->country, sizeof e->country, f.country);
  e->asn = f.asn;
  if (f.client != nullptr) {
    e->client_ip = f.client->ip().unmapped();
    e->client_port = f.client->port();
  }
  if (f.origin != nullptr && f.origin->port() != 0) {
    e->origin_ip = f.origin->ip();
    e->origin_port = f.origin->port();
  }
  e->client_bytes = f.client_bytes;
  e->origin_bytes = f.origin_bytes;
  e->timestamp_ns = core::realtime_ns();
  e->connect_ns = f.connect_ns != 0 ? f.connect_ns : e->timestamp_ns;
  if (type == EventType::kDisconnect) {
    e->disconnect_ns = e->timestamp_ns;
    if (events_ != nullptr) {  // RTTs are for the log line only: two TCP_INFO calls
      if (f.client_fd >= 0) e->client_rtt_us = core::tcp_rtt_us(f.client_fd);
      if (f.origin_fd >= 0) e->origin_rtt_us = core::tcp_rtt_us(f.origin_fd);
    }
  }
}

void ConnReporter::deliver(StatsSlot* stats, const ConnEvent& e) {
  if (stats != nullptr) stats->record(e);
  if (events_ != nullptr) events_->push(e);
}

}  // namespace rampart::telemetry
