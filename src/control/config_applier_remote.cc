// ConfigApplier: changes that arrive from a shared store (etcd watch), applied without writing
// back.
#include <algorithm>

#include "config/app_json.h"
#include "config/safety.h"
#include "control/config_applier.h"
#include "core/log.h"

namespace rampart::control {

size_t ConfigApplier::api_app_count() const {
  std::lock_guard lock(mu_);
  return apps_.size();
}

void ConfigApplier::apply_remote(const std::vector<RemoteChange>& changes) {
  change([&] {
    apply_remote_locked(changes);
    return true;
  });
}

void ConfigApplier::apply_remote_locked(const std::vector<RemoteChange>& changes) {
  applier_->assert_in_loop_thread("ConfigApplier::apply_remote");
  std::vector<ApiApp> apps = apps_;
  std::vector<ApiRule> rules = rules_;
  bool changed = false;
  config::Config merged;
  for (const auto& c : changes) {
    if (c.obj.zone != kDefaultZone) continue;
    int64_t& seen = seen_[seen_key(c.kind, c.obj.zone, c.obj.id)];
    if (c.obj.revision <= seen) continue;
    seen = c.obj.revision;
    std::vector<ApiApp> next_apps = apps;
    std::vector<ApiRule> next_rules = rules;
    if (c.kind == Kind::kApp) {
      auto it = std::find_if(next_apps.begin(), next_apps.end(),
                             [&](const ApiApp& a) { return a.app.id == c.obj.id; });
      if (c.removed) {
        if (it == next_apps.end()) continue;
        next_apps.erase(it);
      } else {
        std::vector<config::ConfigError> errs;
        auto j = config::parse_json_object(c.obj.body, errs);
        auto app = j ? config::decode_app(*j, errs, /*tolerate_unavailable=*/true) : std::nullopt;
        // Written by another edge's API, or by anyone who can write to etcd: the same rule.
        if (app && !file_.api.allow_private_origins)
          config::check_api_origins(*app, config::host_addresses, errs);
        auto refused = std::find_if(errs.begin(), errs.end(),
                                    [](const config::ConfigError& e) { return !e.unavailable; });
        if (!app || app->id != c.obj.id || refused != errs.end()) {
          RLOG_ERROR("fleet store: app \"", c.obj.id, "\" (revision ", c.obj.revision,
                     ") is invalid and was not applied: ",
                     refused != errs.end() ? config::api_message(*refused)
                     : errs.empty()        ? "its id does not match its key"
                                           : config::api_message(errs[0]));
          continue;
        }
        for (const auto& e : errs)
          RLOG_ERROR("fleet store: app \"", c.obj.id, "\": ", config::api_message(e));
        ApiApp entry{*app, c.obj.created_on, c.obj.modified_on, c.obj.revision};
        entry.request_id = c.obj.request_id;
        if (it != next_apps.end())
          *it = entry;
        else
          next_apps.push_back(entry);
      }
    } else {
      auto it = std::find_if(next_rules.begin(), next_rules.end(),
                             [&](const ApiRule& r) { return r.rule.id == c.obj.id; });
      if (c.removed) {
        if (it == next_rules.end()) continue;
        next_rules.erase(it);
      } else {
        std::vector<config::ConfigError> errs;
        auto j = config::parse_json_object(c.obj.body, errs);
        auto rule = j ? config::decode_rule(*j, errs) : std::nullopt;
        if (!rule || rule->id != c.obj.id) {
          RLOG_ERROR("fleet store: access rule \"", c.obj.id, "\" is invalid and was not applied: ",
                     errs.empty() ? "its id does not match its key" : config::api_message(errs[0]));
          continue;
        }
        ApiRule entry{*rule, c.obj.created_on, c.obj.modified_on, c.obj.revision};
        entry.request_id = c.obj.request_id;
        if (it != next_rules.end())
          *it = entry;
        else
          next_rules.push_back(entry);
      }
    }
    ChangeResult out;
    config::Config m;
    // preflight: its listeners must open on this edge too (what it opened is replaced by the
    // next change's, and the last one's is what apply_ uses).
    if (!merge(file_, next_apps, next_rules, &m, &out) || !preflight(m, &out)) {
      RLOG_ERROR("fleet store: ", kind_name(c.kind), " \"", c.obj.id, "\" (revision ",
                 c.obj.revision, ") does not fit this edge's configuration and was not applied: ",
                 out.problems().empty() ? "?" : out.problems()[0]);
      continue;
    }
    apps = std::move(next_apps);
    rules = std::move(next_rules);
    merged = std::move(m);
    changed = true;
    RLOG_INFO("fleet store: ", kind_name(c.kind), " \"", c.obj.id, "\" ",
              c.removed ? "deleted" : "updated", " (revision ", c.obj.revision, ")");
  }
  if (!changed) return;
  // The last change that passed may not be the last one tried: prepare for what is applied.
  // Should the ports have been taken since, nothing is applied: a half-opened change is what the
  // pre-flight exists to prevent. The edge keeps serving what it has, as for a change that does
  // not fit (logged; the next full resync of the store brings it again).
  ChangeResult out;
  if (!preflight(merged, &out)) {
    RLOG_ERROR("fleet store: the changes were not applied: ",
               out.problems().empty() ? "?" : out.problems()[0]);
    if (preflight_.abandon) preflight_.abandon();
    return;
  }
  apps_ = std::move(apps);
  rules_ = std::move(rules);
  merged_ = std::move(merged);
  pending_ = merged_;
}

void ConfigApplier::reset_remote(const std::vector<StoredObject>& apps,
                                 const std::vector<StoredObject>& rules, int64_t revision) {
  // Everything this edge knew that the store no longer has was deleted at or before `revision`.
  change([&] {
    std::vector<RemoteChange> changes;
    for (auto& [key, seen] : seen_) seen = std::min(seen, revision);
    auto listed = [](const std::vector<StoredObject>& objs, const std::string& id) {
      return std::any_of(objs.begin(), objs.end(),
                         [&](const StoredObject& o) { return o.id == id; });
    };
    for (const auto& a : apps_)
      if (!listed(apps, a.app.id)) {
        StoredObject gone{kDefaultZone, a.app.id, "", "", "", revision};
        changes.push_back({Kind::kApp, true, gone});
        seen_[seen_key(Kind::kApp, kDefaultZone, a.app.id)] = revision - 1;
      }
    for (const auto& r : rules_)
      if (!listed(rules, r.rule.id)) {
        StoredObject gone{kDefaultZone, r.rule.id, "", "", "", revision};
        changes.push_back({Kind::kAccessRule, true, gone});
        seen_[seen_key(Kind::kAccessRule, kDefaultZone, r.rule.id)] = revision - 1;
      }
    // An object whose revision this edge already has is skipped by apply_remote; a newer one
    // (or one this edge missed) is applied. Lower the mark of the listed ones so that a version
    // the edge has but the store replaced (same key, other revision) is taken too.
    for (const auto& o : apps) {
      auto it = std::find_if(apps_.begin(), apps_.end(),
                             [&](const ApiApp& a) { return a.app.id == o.id; });
      if (it == apps_.end() || it->revision != o.revision)
        seen_[seen_key(Kind::kApp, o.zone, o.id)] = 0;
    }
    for (const auto& o : rules) {
      auto it = std::find_if(rules_.begin(), rules_.end(),
                             [&](const ApiRule& r) { return r.rule.id == o.id; });
      if (it == rules_.end() || it->revision != o.revision)
        seen_[seen_key(Kind::kAccessRule, o.zone, o.id)] = 0;
    }
    for (const auto& o : apps) changes.push_back({Kind::kApp, false, o});
    for (const auto& o : rules) changes.push_back({Kind::kAccessRule, false, o});
    apply_remote_locked(changes);
    return true;
  });
}

}  // namespace rampart::control
