// ConfigApplier: the API's writes. Each one in three steps: planned and checked on the applier
// thread (begin), stored on the caller's thread with no lock held, committed and applied on the
// applier thread (finish). See config_applier.h.
#include <algorithm>

#include "config/app_json.h"
#include "config/safety.h"
#include "control/app_files.h"
#include "control/config_applier.h"
#include "core/log.h"

namespace rampart::control {

using nlohmann::json;

namespace {

// kErrConflict when the request carries the modified_on it read and the object changed since
// (another edge or client wrote it): a read-modify-write never silently overwrites an update.
std::optional<ChangeResult> stale_precondition(const std::optional<std::string>& based_on,
                                               const std::string& what, const std::string& id,
                                               const std::string& current) {
  if (!based_on || *based_on == current) return {};
  return ChangeResult::refused(kErrConflict, what + " \"" + id + "\" was modified at " + current +
                                                 " (the request is based on modified_on " +
                                                 *based_on + "); GET it again and retry");
}

// kErrConflict for a write to an object defined in the config file, which only the file can
// change.
ChangeResult file_object_refused(const char* what, const std::string& id) {
  return ChangeResult::refused(kErrConflict,
                               std::string(what) + " \"" + id +
                                   "\" comes from the config file; edit the file and reload "
                                   "(SIGHUP) to change it");
}

bool is_file_rule(const config::Config& file, const std::string& id) {
  for (const auto& r : file.ip_access_rules)
    if (r.id == id) return true;
  return false;
}

// The answer to a write the store did not make, or may have made.
ChangeResult store_refused(WriteStatus st, Kind kind, const std::string& id,
                           const std::string& error) {
  const std::string what = std::string(kind_name(kind)) + " \"" + id + "\"";
  switch (st) {
    case WriteStatus::kConflict:
      return ChangeResult::refused(kErrConflict,
                                   "the " + what +
                                       " was changed at the same time through another edge, so "
                                       "this change was not made; GET it again and retry");
    case WriteStatus::kUnavailable:
      RLOG_ERROR("API change of ", what, " not saved: ", error);
      return ChangeResult::refused(
          kErrStoreUnavailable,
          "no member of the fleet store could be reached, so the change was not made (the edge "
          "keeps serving its current configuration); retry later: " +
              error);
    case WriteStatus::kUnknown:
      RLOG_ERROR("API change of ", what, ": outcome unknown: ", error);
      return ChangeResult::refused(
          kErrOutcomeUnknown,
          "the fleet store took the change of the " + what +
              " but did not answer in time, so whether it was made is unknown (it may still be "
              "applied when the store recovers). To find out, GET the " +
              kind_name(kind) +
              " (every edge shows it once the store applied it), or send the same request again "
              "with the same Idempotency-Key header: a retry answers the original result and "
              "never makes the change twice. " +
              error);
    case WriteStatus::kError:
    case WriteStatus::kOk:
      break;
  }
  RLOG_ERROR("API change of ", what, " not saved: ", error);
  return ChangeResult::refused(kErrInternal, "the change could not be saved: " + error);
}

// The list as `plan` leaves it: the entry removed, replaced by `value` or added.
template <typename Entry, typename Plan, typename IdOf>
void upsert_or_remove(std::vector<Entry>& list, const Plan& plan, const std::optional<Entry>& value,
                      IdOf id_of) {
  auto it =
      std::find_if(list.begin(), list.end(), [&](const Entry& e) { return id_of(e) == plan.id; });
  if (plan.remove) {
    if (it != list.end()) list.erase(it);
  } else if (it != list.end()) {
    *it = *value;
  } else {
    list.push_back(*value);
  }
}

}  // namespace

template <typename F>
ChangeResult ConfigApplier::write(F&& plan_fn) {
  Plan plan;
  ChangeResult early = change([&]() -> ChangeResult {
    ChangeResult r = plan_fn(&plan);
    if (r.ok() && plan.needed && !begin(plan, &r)) plan.needed = false;
    return r;
  });
  if (!early.ok() || !plan.needed) return early;
  // The store's round trip, on this thread: no lock held, the applier thread free.
  std::string error;
  int64_t revision = 0;
  StoredObject stored;
  const WriteStatus st =
      plan.remove
          ? store_->remove_if(plan.kind, kDefaultZone, plan.id, plan.expected, &revision, &error)
          : store_->put_if(plan.kind, plan.obj, plan.expected, &revision, &error, &stored);
  return change([&] { return finish(plan, st, revision, stored, error); });
}

bool ConfigApplier::begin(const Plan& plan, ChangeResult* out) {
  applier_->assert_in_loop_thread("ConfigApplier::begin");
  const std::string key = seen_key(plan.kind, kDefaultZone, plan.id);
  if (inflight_.count(key)) {
    *out = ChangeResult::refused(kErrConflict, "another change of the " +
                                                   std::string(kind_name(plan.kind)) + " \"" +
                                                   plan.id +
                                                   "\" is being saved on this edge; retry when "
                                                   "it is answered");
    return false;
  }
  // The state this write must fit: the applied one, every put in flight (a delete in flight
  // still counts as present, the safe side), then this write.
  std::vector<ApiApp> apps = apps_;
  std::vector<ApiRule> rules = rules_;
  auto overlay = [&](const Plan& p, bool removes) {
    if (p.kind == Kind::kApp) {
      auto it =
          std::find_if(apps.begin(), apps.end(), [&](const ApiApp& a) { return a.app.id == p.id; });
      if (p.remove) {
        if (removes && it != apps.end()) apps.erase(it);
      } else if (it != apps.end()) {
        *it = *p.app;
      } else {
        apps.push_back(*p.app);
      }
    } else {
      auto it = std::find_if(rules.begin(), rules.end(),
                             [&](const ApiRule& r) { return r.rule.id == p.id; });
      if (p.remove) {
        if (removes && it != rules.end()) rules.erase(it);
      } else if (it != rules.end()) {
        *it = *p.rule;
      } else {
        rules.push_back(*p.rule);
      }
    }
  };
  for (const auto& [k, p] : inflight_) overlay(p, false);
  overlay(plan, true);
  config::Config merged;
  if (!merge(file_, apps, rules, &merged, out) || !preflight(merged, out)) return false;
  // What the pre-flight opened stays prepared: the commit's pre-flight reuses it (Edge::prepare),
  // and a failed store write lets it go (finish).
  inflight_.emplace(key, plan);
  return true;
}

ChangeResult ConfigApplier::finish(const Plan& plan, WriteStatus st, int64_t revision,
                                   const StoredObject& stored, const std::string& error) {
  applier_->assert_in_loop_thread("ConfigApplier::finish");
  const std::string key = seen_key(plan.kind, kDefaultZone, plan.id);
  inflight_.erase(key);
  if (st != WriteStatus::kOk) {
    if (preflight_.abandon) preflight_.abandon();
    return store_refused(st, plan.kind, plan.id, error);
  }
  ChangeResult out;
  // As stored: an earlier attempt of the same request may be the version etcd kept.
  std::optional<ApiApp> app = plan.app;
  std::optional<ApiRule> rule = plan.rule;
  auto times = [&](auto& entry) {
    if (!stored.created_on.empty()) entry.created_on = stored.created_on;
    if (!stored.modified_on.empty()) entry.modified_on = stored.modified_on;
    entry.request_id = stored.request_id.empty() ? plan.obj.request_id : stored.request_id;
    entry.revision = revision;
  };
  if (app) times(*app);
  if (rule) times(*rule);
  if (app) out.app = AppRecord{app->app, app->created_on, app->modified_on, false, ""};
  if (rule) out.rule = RuleRecord{rule->rule, rule->created_on, rule->modified_on, false};
  // The watch may have brought this write (or a newer one) already: nothing left to apply.
  int64_t& seen = seen_[key];
  if (revision != 0 && revision <= seen) return out;
  if (revision != 0) seen = revision;
  std::vector<ApiApp> apps = apps_;
  std::vector<ApiRule> rules = rules_;
  if (plan.kind == Kind::kApp)
    upsert_or_remove(apps, plan, app,
                     [](const ApiApp& a) -> const std::string& { return a.app.id; });
  else
    upsert_or_remove(rules, plan, rule,
                     [](const ApiRule& r) -> const std::string& { return r.rule.id; });
  ChangeResult why;
  config::Config merged;
  if (!merge(file_, apps, rules, &merged, &why) || !preflight(merged, &why)) {
    // Stored, and checked when planned, but something arrived since (another edge's change
    // through the watch, ports taken on the host): this edge leaves it out, as it would another
    // edge's change that does not fit. The write itself was made.
    RLOG_ERROR("API: ", kind_name(plan.kind), " \"", plan.id,
               "\" was saved but does not fit this edge's configuration now and is not applied "
               "here: ",
               why.problems().empty() ? "?" : why.problems()[0]);
    if (preflight_.abandon) preflight_.abandon();
    return out;
  }
  apps_ = std::move(apps);
  rules_ = std::move(rules);
  merged_ = std::move(merged);
  pending_ = merged_;
  return out;
}

ChangeResult ConfigApplier::plan_app(const std::string& id, const json& body, bool create,
                                     const std::string& request_id, Plan* plan) {
  std::vector<config::ConfigError> errs;
  auto app = config::decode_app(body, errs);
  if (!app) {
    make_file_errors_opaque(&errs);  // the API never says whether a path exists on the edge
    return ChangeResult::invalid(std::move(errs));
  }
  // Origins on the edge host or a metadata service, unless the operator's file allows them.
  if (!file_.api.allow_private_origins &&
      !config::check_api_origins(*app, config::host_addresses, errs))
    return ChangeResult::invalid(std::move(errs));
  // Files named through the API are checked here, with one message whatever the cause
  // (control/app_files.h): the API never tells whether a path exists on the edge.
  if (std::vector<config::ConfigError> file_errors; !check_app_files(*app, &file_errors))
    return ChangeResult::invalid(std::move(file_errors));
  if (!create && app->id != id)
    return ChangeResult::refused(config::kErrInvalidValue,
                                 "id: \"" + app->id + "\" does not match the app id \"" + id +
                                     "\" in the URL; ids cannot be changed");
  const int existing = find_api_app(app->id);
  if (create && existing >= 0 && !request_id.empty() &&
      apps_[static_cast<size_t>(existing)].request_id == request_id) {
    // This very request was made before (its answer was lost, or unknown): its result.
    const ApiApp& a = apps_[static_cast<size_t>(existing)];
    ChangeResult out;
    out.app = AppRecord{a.app, a.created_on, a.modified_on, false, a.left_out};
    return out;
  }
  if (create && (file_app(app->id) || existing >= 0))
    return ChangeResult::refused(kErrConflict, "an app with id \"" + app->id + "\" already exists");
  std::string now = rfc3339_now();
  ApiApp entry{*app, now, now};
  entry.request_id = request_id;
  if (!create && existing >= 0) {
    entry.created_on = apps_[static_cast<size_t>(existing)].created_on;
    plan->expected = apps_[static_cast<size_t>(existing)].revision;
  }
  plan->needed = true;
  plan->kind = Kind::kApp;
  plan->id = entry.app.id;
  plan->obj = StoredObject{kDefaultZone, entry.app.id, config::app_to_json(entry.app).dump(),
                           entry.created_on, entry.modified_on};
  plan->obj.request_id = request_id;
  plan->app = entry;
  return {};
}

std::optional<ChangeResult> ConfigApplier::existing_app(const std::string& id,
                                                        const std::optional<std::string>& based_on,
                                                        const std::string& request_id,
                                                        const ApiApp** app) {
  if (file_app(id)) return file_object_refused("app", id);
  const int i = find_api_app(id);
  if (i < 0) return ChangeResult::refused(kErrNotFound, "no app with id \"" + id + "\"");
  const ApiApp& a = apps_[static_cast<size_t>(i)];
  if (!request_id.empty() && a.request_id == request_id)  // made before: its result
    return ChangeResult{0, "", {}, AppRecord{a.app, a.created_on, a.modified_on, false, ""}, {}};
  if (auto stale = stale_precondition(based_on, "app", id, a.modified_on)) return *stale;
  *app = &a;
  return std::nullopt;
}

ChangeResult ConfigApplier::create_app(const json& body, const std::string& request_id) {
  return write([&](Plan* plan) { return plan_app("", body, true, request_id, plan); });
}

ChangeResult ConfigApplier::replace_app(const std::string& id, const json& body,
                                        const std::optional<std::string>& based_on,
                                        const std::string& request_id) {
  return write([&](Plan* plan) -> ChangeResult {
    const ApiApp* a = nullptr;
    if (auto answer = existing_app(id, based_on, request_id, &a)) return *answer;
    json j = body;
    if (!j.contains("id")) j["id"] = id;
    return plan_app(id, j, false, request_id, plan);
  });
}

ChangeResult ConfigApplier::patch_app(const std::string& id, const json& patch,
                                      const std::optional<std::string>& based_on,
                                      const std::string& request_id) {
  return write([&](Plan* plan) -> ChangeResult {
    const ApiApp* a = nullptr;
    if (auto answer = existing_app(id, based_on, request_id, &a)) return *answer;
    json merged = config::merge_app_patch(config::app_to_json(a->app), patch);
    return plan_app(id, merged, false, request_id, plan);
  });
}

ChangeResult ConfigApplier::delete_app(const std::string& id) {
  return write([&](Plan* plan) -> ChangeResult {
    if (file_app(id)) return file_object_refused("app", id);
    int i = find_api_app(id);
    if (i < 0) return ChangeResult::refused(kErrNotFound, "no app with id \"" + id + "\"");
    plan->needed = true;
    plan->kind = Kind::kApp;
    plan->id = id;
    plan->remove = true;
    plan->expected = apps_[static_cast<size_t>(i)].revision;
    return {};
  });
}

ChangeResult ConfigApplier::plan_rule(const config::IpAccessRule& rule, std::optional<int> index,
                                      const std::string& request_id, Plan* plan) {
  std::string now = rfc3339_now();
  ApiRule entry{rule, now, now};
  entry.request_id = request_id;
  if (index) {
    entry.created_on = rules_[static_cast<size_t>(*index)].created_on;
    plan->expected = rules_[static_cast<size_t>(*index)].revision;
  }
  plan->needed = true;
  plan->kind = Kind::kAccessRule;
  plan->id = rule.id;
  plan->obj = StoredObject{kDefaultZone, rule.id, config::rule_to_json(rule).dump(),
                           entry.created_on, entry.modified_on};
  plan->obj.request_id = request_id;
  plan->rule = entry;
  return {};
}

ChangeResult ConfigApplier::create_rule(const config::IpAccessRule& rule,
                                        const std::string& request_id) {
  return write([&](Plan* plan) -> ChangeResult {
    const int i = find_api_rule(rule.id);
    if (i >= 0 && !request_id.empty() && rules_[static_cast<size_t>(i)].request_id == request_id) {
      const ApiRule& r = rules_[static_cast<size_t>(i)];
      return ChangeResult{0, "", {}, {}, RuleRecord{r.rule, r.created_on, r.modified_on, false}};
    }
    if (is_file_rule(file_, rule.id) || i >= 0)
      return ChangeResult::refused(kErrConflict,
                                   "an access rule with id \"" + rule.id + "\" exists");
    return plan_rule(rule, std::nullopt, request_id, plan);
  });
}

ChangeResult ConfigApplier::patch_rule(const std::string& id, const json& patch,
                                       const std::optional<std::string>& based_on,
                                       const std::string& request_id) {
  return write([&](Plan* plan) -> ChangeResult {
    if (is_file_rule(file_, id)) return file_object_refused("access rule", id);
    int i = find_api_rule(id);
    if (i < 0) return ChangeResult::refused(kErrNotFound, "no access rule with id \"" + id + "\"");
    const ApiRule& current = rules_[static_cast<size_t>(i)];
    if (!request_id.empty() && current.request_id == request_id)
      return ChangeResult{
          0, "", {}, {}, RuleRecord{current.rule, current.created_on, current.modified_on, false}};
    if (auto stale = stale_precondition(based_on, "access rule", id, current.modified_on))
      return *stale;
    json merged = config::rule_to_json(current.rule);
    merged.erase("allowed_modes");
    merged.merge_patch(patch);
    std::vector<config::ConfigError> errs;
    auto rule = config::decode_rule(merged, errs);
    if (!rule) return ChangeResult::invalid(std::move(errs));
    if (rule->id != id)
      return ChangeResult::refused(config::kErrInvalidValue,
                                   "id: access rule ids cannot be changed");
    return plan_rule(*rule, i, request_id, plan);
  });
}

ChangeResult ConfigApplier::delete_rule(const std::string& id) {
  return write([&](Plan* plan) -> ChangeResult {
    if (is_file_rule(file_, id)) return file_object_refused("access rule", id);
    int i = find_api_rule(id);
    if (i < 0) return ChangeResult::refused(kErrNotFound, "no access rule with id \"" + id + "\"");
    plan->needed = true;
    plan->kind = Kind::kAccessRule;
    plan->id = id;
    plan->remove = true;
    plan->expected = rules_[static_cast<size_t>(i)].revision;
    return {};
  });
}

}  // namespace rampart::control
