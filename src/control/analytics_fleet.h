// The fleet fan-out of aggregate/current, events/summary and events/bytime (docs/fleet.md): in
// fleet mode the answer sums every live edge of the registry. Each peer is asked over HTTPS, its
// certificate verified, with the fleet credential (never the admin token); without a credential or
// without HTTPS the fan-out is off and the answer is this edge's alone, with a note. Owned by
// Analytics; set_fleet() is called by serve's main thread before the API serves, set_settings() by
// any thread (a SIGHUP reload), sum() by the API's handler threads.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/api_outcome.h"

namespace rampart::control {

class Fleet;

class AnalyticsFleet {
 public:
  struct Settings {
    std::string token;    // fleet.token: "" = no credential, fan-out off
    std::string ca_file;  // fleet.ca_file: peers' CA bundle; "" = the system's store
    bool https = false;   // this edge serves its API over HTTPS (api.tls), as peers must
  };
  // This edge's own rows of aggregate/current for the app ids given as "a,b" ("" = every app).
  using LocalRows = std::function<nlohmann::json(const std::string& ids)>;

  void set_fleet(Fleet* fleet) { fleet_ = fleet; }
  Fleet* fleet() const { return fleet_; }
  void set_settings(Settings settings);
  // Why the fan-out is off ("" when it is on).
  std::string off_reason() const;
  // aggregate/current summed over the fleet's live edges of `colo` ("" = every colo).
  Outcome sum(const std::vector<std::string>& wanted, const std::string& colo,
              const LocalRows& local) const;

  // Every live edge's answer (of `colo`, "" = every colo; only the edge named `edge`, when
  // given), asked at once: this edge's from `local`, each other's by a GET of `path` (which
  // carries scope=local) over HTTPS with the fleet credential, each within 3 s and `max_bytes`.
  // `what` names the endpoint in the log.
  struct Gathered {
    std::vector<std::pair<std::string, nlohmann::json>> answers;  // edge name, its `result`
    std::vector<std::string> left_out;  // "NAME (why)": no answer in time, or a failed one
    size_t matched = 0;                 // live edges that the filters let through
  };
  Gathered gather(const std::string& path, const std::string& what, const std::string& colo,
                  const std::function<nlohmann::json()>& local, size_t max_bytes,
                  const std::string& edge = "") const;
  // Whether `name` is this edge's name in the fleet's registry.
  bool is_self(const std::string& name) const;
  // The `messages` of a fleet answer: which edges it covers, and which were left out (named).
  static void note(const Gathered& g, Outcome* o);

 private:
  Fleet* fleet_ = nullptr;
  mutable std::mutex mu_;
  Settings settings_;  // guarded by mu_
};

}  // namespace rampart::control
