// GET /metrics: the Prometheus text exposition (format 0.0.4) of the edge's live counters,
// rendered from their declarations (telemetry/stat_decl.h, telemetry::kAppStats, the guard's
// reason table), plus the families of parts outside the edge (the anycast monitor, the API
// server) through set_extra(). Owned by Analytics; set_extra() is called by serve's main thread
// before the API serves, render() by the API's handler threads. Reads counters, never writes.
#pragma once

#include <functional>
#include <string>

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

class MetricsExporter {
 public:
  explicit MetricsExporter(const edge::Edge* edge) : edge_(edge) {}
  void set_extra(std::function<std::string()> f) { extra_ = std::move(f); }
  std::string render() const;

 private:
  const edge::Edge* edge_;
  std::function<std::string()> extra_;
};

}  // namespace rampart::control
