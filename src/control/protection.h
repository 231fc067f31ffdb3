// The guard as the API shows and steers it: GET .../spectrum/analytics/protection (drops and
// dry-run drops by reason, the busiest sources, the bans), GET .../rampart/bans, GET
// .../rampart/access_rules/hits (the refusals of each access rule) and the one
// write of the analytics routes, DELETE .../rampart/bans/IP (unban: on this edge and, in a
// fleet, in the fleet store so every edge lifts it). Owned by Analytics; set_fleet() is called
// by serve's main thread before the API serves; the rest on the API's handler threads.
#pragma once

#include <string>

#include "control/api_outcome.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

class Fleet;

class Protection {
 public:
  explicit Protection(edge::Edge* edge) : edge_(edge) {}
  void set_fleet(Fleet* fleet) { fleet_ = fleet; }

  Outcome protection() const;
  // The active bans of this edge.
  Outcome bans() const;
  // Lifts the ban of `ip` (or of the banned prefix holding it) here and in the fleet store.
  Outcome unban(const std::string& ip);
  // GET .../rampart/access_rules/hits: what each access rule refused on this edge since start
  // (since the rule was made, or since its id first appeared), every rule listed.
  Outcome rule_hits() const;

 private:
  edge::Edge* edge_;
  Fleet* fleet_ = nullptr;
};

}  // namespace rampart::control
