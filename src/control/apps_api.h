// control::AppsApi: the HTTP side of Spectrum's apps and of the IP access rules. Parses request
// bodies and list parameters, calls the ConfigApplier (which merges, validates and commits) and
// turns its plain results into API outcomes: HTTP status, {code, message} errors and notes, the
// object as JSON, result_info for lists (send_outcome in api_server.h wraps them in the v4
// envelope). Every write takes the request's Idempotency-Key header (`key`, "" when absent):
// see apps_api_idempotency.h and docs/fleet.md. Owner: server::Server (routes installed by
// control::ApiServer). Threads: any (the HTTP pool); holds no config state of its own, only the
// app-status hook under mu_ and the idempotency keys.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "control/api_outcome.h"
#include "control/apps_api_idempotency.h"
#include "control/config_applier.h"

namespace rampart::control {

// An app / access rule as the API returns it (the stored form plus times and source).
nlohmann::json app_json(const AppRecord& a);
// `scope`: the zone the rule is reported under (Cloudflare's {id, name, type: "zone"}).
nlohmann::json rule_json(const RuleRecord& r, const nlohmann::json& scope);
// The API outcome of a change: its error code's status (kErrConflict 409, kErrNotFound 404,
// kErrStoreUnavailable 503, kErrInternal 500, others 400) or, for validation errors, 400 (409
// when an edge address and port is claimed twice). Result and notes are the caller's.
Outcome outcome_of(const ChangeResult& r);

class AppsApi {
 public:
  explicit AppsApi(ConfigApplier* applier) : applier_(applier) {}
  AppsApi(const AppsApi&) = delete;
  AppsApi& operator=(const AppsApi&) = delete;

  // Why the data plane runs an app disabled (e.g. its certificate file is gone), or "" when it
  // serves; said in `messages` of the app's GET and list (code 11904). Any thread; called
  // outside AppsApi's mutex.
  using AppStatus = std::function<std::string(const std::string& app_id)>;
  void set_app_status(AppStatus s) {
    std::lock_guard lock(mu_);
    app_status_ = std::move(s);
  }

  // api.zones: the zone ids (32 hex) and names this edge answers for. Zones are aliases of one
  // set of apps and rules (docs/api.md "Zones"): every listed id, and `default`, reach the same
  // objects. Any thread; set at start and on reload.
  void set_zones(std::vector<config::ApiZone> zones) {
    std::lock_guard lock(mu_);
    zones_ = std::move(zones);
  }
  bool has_zone(const std::string& zone) const;
  // The 404 message for a zone this edge does not serve (names the ones it does).
  std::string unknown_zone(const std::string& zone) const;
  // The `scope` of access rules: the first of api.zones, else `default`.
  nlohmann::json scope() const;

  Outcome list_apps(const ListQuery& q) const;
  Outcome get_app(const std::string& id) const;
  Outcome create_app(const std::string& body, const std::string& key = "");
  Outcome replace_app(const std::string& id, const std::string& body, const std::string& key = "");
  Outcome patch_app(const std::string& id, const std::string& body, const std::string& key = "");
  Outcome delete_app(const std::string& id, const std::string& key = "");

  Outcome list_rules(const ListQuery& q) const;
  Outcome get_rule(const std::string& id) const;
  Outcome create_rule(const std::string& body, const std::string& key = "");
  Outcome patch_rule(const std::string& id, const std::string& body, const std::string& key = "");
  Outcome delete_rule(const std::string& id, const std::string& key = "");

 private:
  AppStatus app_status() const {
    std::lock_guard lock(mu_);
    return app_status_;
  }

  // Runs `write` (given the request id to store) under the Idempotency-Key rules; `fingerprint`
  // names the request; `deletes`: a DELETE, which answers 200 when an earlier attempt with the
  // same key had an unknown outcome and the object is now gone.
  Outcome idempotent(const std::string& key, const std::string& fingerprint, bool deletes,
                     const std::function<Outcome(const std::string& request_id)>& write);

  ConfigApplier* applier_;  // not owned
  IdempotencyKeys keys_;
  mutable std::mutex mu_;
  AppStatus app_status_;
  std::vector<config::ApiZone> zones_;
};

}  // namespace rampart::control
