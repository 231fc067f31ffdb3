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
nlohmann::json rule_json(const RuleRecord& r);
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

  bool has_zone(const std::string& zone) const { return zone == kDefaultZone; }

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
};

}  // namespace rampart::control
