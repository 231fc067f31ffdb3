// ConfigApplier: load, merge, validate, the file's reload; reads. API writes are in
// config_applier_write.cc, changes from a shared store in config_applier_remote.cc.
#include "control/config_applier.h"

#include <time.h>

#include <chrono>
#include <cstdio>

#include "config/app_json.h"
#include "config/safety.h"
#include "config/validate.h"
#include "control/app_files.h"
#include "core/log.h"

namespace rampart::control {

using nlohmann::json;

ChangeResult ChangeResult::refused(int code, std::string message) {
  ChangeResult r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

ChangeResult ChangeResult::invalid(std::vector<config::ConfigError> errors) {
  ChangeResult r;
  r.errors = std::move(errors);
  return r;
}

std::vector<std::string> ChangeResult::problems() const {
  std::vector<std::string> out;
  if (code != 0 && errors.empty()) out.push_back(message);
  for (const auto& e : errors) out.push_back(config::api_message(e));
  return out;
}

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us % 1000000));
  return buf;
}

namespace {

// Decodes every stored object of `kind` in the default zone into `out` ({object, created_on,
// modified_on}); the first invalid one fails the whole load.
template <typename Entry, typename Decode>
bool load_objects(Store& store, Kind kind, const char* what, Decode decode, std::vector<Entry>* out,
                  std::string* error) {
  std::vector<StoredObject> objs;
  if (!store.load(kind, &objs, error)) return false;
  for (const auto& o : objs) {
    if (o.zone != kDefaultZone) continue;
    std::vector<config::ConfigError> errs;
    const std::optional<nlohmann::json> j = config::parse_json_object(o.body, errs);
    auto value = j ? decode(*j, errs) : decltype(decode(*j, errs)){};
    if (!value) {
      *error = std::string("stored ") + what + " \"" + o.id +
               "\" is invalid: " + (errs.empty() ? "?" : config::api_message(errs.front()));
      return false;
    }
    // Only files that cannot be used now (a removed certificate): the data plane disables it.
    for (const auto& e : errs)
      RLOG_ERROR("stored ", what, " \"", o.id, "\": ", config::api_message(e));
    out->push_back({std::move(*value), o.created_on, o.modified_on, o.revision});
    out->back().request_id = o.request_id;
  }
  return true;
}

}  // namespace

ConfigApplier::ConfigApplier(Store* store, Apply apply, core::ControlLoop* applier)
    : store_(store), apply_(std::move(apply)) {
  if (!applier) {
    owned_applier_ = std::make_unique<core::ControlLoop>("rampart-apply");
    applier = owned_applier_.get();
  }
  applier_ = applier;
}

ConfigApplier::~ConfigApplier() = default;

void ConfigApplier::flush_apply() {
  applier_->assert_in_loop_thread("ConfigApplier::flush_apply");
  if (!pending_) return;
  const config::Config cfg = std::move(*pending_);
  pending_.reset();
  apply_(cfg);
}

std::string ConfigApplier::seen_key(Kind kind, const std::string& zone, const std::string& id) {
  return (kind == Kind::kApp ? "a/" : "r/") + zone + "/" + id;
}

const config::App* ConfigApplier::file_app(const std::string& id) const {
  for (const auto& a : file_.apps)
    if (a.id == id) return &a;
  return nullptr;
}

int ConfigApplier::find_api_app(const std::string& id) const {
  for (size_t i = 0; i < apps_.size(); ++i)
    if (apps_[i].app.id == id) return static_cast<int>(i);
  return -1;
}

int ConfigApplier::find_api_rule(const std::string& id) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    if (rules_[i].rule.id == id) return static_cast<int>(i);
  return -1;
}

bool ConfigApplier::merge(const config::Config& file, const std::vector<ApiApp>& apps,
                          const std::vector<ApiRule>& rules, config::Config* merged,
                          ChangeResult* out) const {
  config::Config m = file;
  for (const auto& a : apps) {
    if (!a.left_out.empty()) continue;
    for (const auto& f : file.apps)
      if (f.id == a.app.id) {
        *out = ChangeResult::refused(kErrConflict,
                                     "app id \"" + a.app.id +
                                         "\" is used both by the config file and by an app created "
                                         "through the API; ids must be unique");
        return false;
      }
  }
  for (const auto& r : rules)
    for (const auto& f : file.ip_access_rules)
      if (f.id == r.rule.id) {
        *out = ChangeResult::refused(
            kErrConflict,
            "access rule id \"" + r.rule.id + "\" is used both by the config file and by the API");
        return false;
      }
  for (const auto& a : apps) {
    if (!a.left_out.empty()) continue;
    m.apps.push_back(a.app);
    // The API's per-app override, over the zone's protection of this file (SPEC §2).
    if (a.app.protection_override)
      m.apps.back().protection = a.app.protection_override->resolve(file.protection);
  }
  for (const auto& r : rules) m.ip_access_rules.push_back(r.rule);
  // Port overlaps are conflicts with another app (409), named by id rather than by index.
  for (size_t i = file.apps.size(); i < m.apps.size(); ++i)
    for (size_t j = 0; j < m.apps.size(); ++j) {
      if (j == i) continue;
      if (auto where = config::find_conflict(m.apps[i], m.apps[j], m.edge.listen)) {
        *out = ChangeResult::refused(kErrConflict,
                                     "app \"" + m.apps[i].id + "\" (" + protocol_text(m.apps[i]) +
                                         ") overlaps app \"" + m.apps[j].id + "\" (" +
                                         protocol_text(m.apps[j]) + ") at " + *where +
                                         "; two apps cannot share an edge address and port");
        return false;
      }
    }
  std::vector<config::ConfigError> errors;
  config::validate(m, errors);
  // A file an app needs that cannot be used now (a removed certificate) disables that app in
  // the data plane; it never blocks the rest of the config (the API refuses such a file when
  // the app is written: write_app).
  std::erase_if(errors, [](const config::ConfigError& e) { return e.unavailable; });
  if (!errors.empty()) {
    // "apps[7].edge_ips.connectivity" means little to an API user: name the app by id.
    for (auto& e : errors) {
      if (e.path.rfind("apps[", 0) == 0) {
        size_t close = e.path.find(']');
        size_t index = std::stoul(e.path.substr(5, close - 5));
        if (index >= m.apps.size()) continue;
        const std::string rest = e.path.substr(close + 1);
        // An API app's field: its pointer into the request's body (the app written is the only
        // API app a write can make invalid; e.g. a protection override that is valid alone but
        // not over this zone's protection). A file app's error keeps no pointer.
        if (index >= file.apps.size() && e.pointer.empty() && rest.size() > 1 && rest[0] == '.') {
          config::ConfigError field = e;
          field.path = rest.substr(1);
          e.pointer = config::api_pointer(field);
        }
        e.path = "app \"" + m.apps[index].id + "\"" + rest;
      }
    }
    make_file_errors_opaque(&errors);  // API answers say nothing about files; the log does
    *out = ChangeResult::invalid(std::move(errors));
    return false;
  }
  *merged = std::move(m);
  return true;
}

bool ConfigApplier::preflight(const config::Config& merged, ChangeResult* out) {
  applier_->assert_in_loop_thread("ConfigApplier::preflight");
  std::string error;
  if (!preflight_.prepare || preflight_.prepare(merged, &error)) return true;
  *out = ChangeResult::refused(kErrConflict,
                               "the change was not made: " + error +
                                   "; nothing was saved and the edge keeps serving its current "
                                   "configuration");
  return false;
}

bool ConfigApplier::load(const config::Config& file, std::string* error) {
  return change([&]() -> bool {
    std::vector<ApiApp> apps;
    std::vector<ApiRule> rules;
    auto decode_stored_app = [](const nlohmann::json& j, std::vector<config::ConfigError>& errs) {
      return config::decode_app(j, errs, /*tolerate_unavailable=*/true);
    };
    if (!load_objects(*store_, Kind::kApp, "app", decode_stored_app, &apps, error)) return false;
    if (!load_objects(*store_, Kind::kAccessRule, "access rule", config::decode_rule, &rules,
                      error))
      return false;
    ChangeResult out;
    config::Config merged;
    if (!merge(file, apps, rules, &merged, &out)) {
      // One stored app that no longer fits (this version's rules, or the file) must not keep the
      // edge from starting: the apps that fit are applied, the others left out and reported.
      std::vector<ApiApp> fitting;
      for (auto& a : apps) {
        fitting.push_back(a);
        ChangeResult trial;
        if (merge(file, fitting, rules, &merged, &trial)) continue;
        const std::vector<std::string> why = trial.problems();
        a.left_out = why.empty() ? "it does not fit the configuration" : why[0];
        fitting.back().left_out = a.left_out;
        RLOG_ERROR("stored app \"", a.app.id,
                   "\" is left out of the running configuration: ", a.left_out,
                   "; fix it with PUT/PATCH or remove it with DELETE");
      }
      out = ChangeResult{};
      if (!merge(file, fitting, rules, &merged, &out)) {
        *error = "the config file and the objects stored through the API do not fit together:";
        for (const auto& p : out.problems()) *error += " " + p + ";";
        return false;
      }
    }
    file_ = file;
    file_loaded_on_ = rfc3339_now();
    apps_ = std::move(apps);
    rules_ = std::move(rules);
    merged_ = std::move(merged);
    for (const auto& a : apps_) seen_[seen_key(Kind::kApp, kDefaultZone, a.app.id)] = a.revision;
    for (const auto& r : rules_)
      seen_[seen_key(Kind::kAccessRule, kDefaultZone, r.rule.id)] = r.revision;
    return true;
  });
}

bool ConfigApplier::reload_file(const config::Config& file, std::vector<std::string>* errors) {
  return change([&]() -> bool {
    ChangeResult out;
    config::Config merged;
    if (!merge(file, apps_, rules_, &merged, &out) || !preflight(merged, &out)) {
      for (auto& p : out.problems()) errors->push_back(std::move(p));
      return false;
    }
    file_ = file;
    file_loaded_on_ = rfc3339_now();
    merged_ = std::move(merged);
    pending_ = merged_;
    return true;
  });
}

config::Config ConfigApplier::config() const {
  std::lock_guard lock(mu_);
  return merged_;
}

std::vector<AppRecord> ConfigApplier::apps() const {
  std::lock_guard lock(mu_);
  std::vector<AppRecord> out;
  for (const auto& a : file_.apps) out.push_back({a, file_loaded_on_, file_loaded_on_, true, ""});
  for (const auto& a : apps_)
    out.push_back({a.app, a.created_on, a.modified_on, false, a.left_out});
  return out;
}

std::optional<AppRecord> ConfigApplier::app(const std::string& id) const {
  std::lock_guard lock(mu_);
  if (const config::App* a = file_app(id))
    return AppRecord{*a, file_loaded_on_, file_loaded_on_, true, ""};
  int i = find_api_app(id);
  if (i < 0) return std::nullopt;
  const ApiApp& a = apps_[static_cast<size_t>(i)];
  return AppRecord{a.app, a.created_on, a.modified_on, false, a.left_out};
}

std::vector<RuleRecord> ConfigApplier::rules() const {
  std::lock_guard lock(mu_);
  std::vector<RuleRecord> out;
  for (const auto& r : file_.ip_access_rules)
    out.push_back({r, file_loaded_on_, file_loaded_on_, true});
  for (const auto& r : rules_) out.push_back({r.rule, r.created_on, r.modified_on, false});
  return out;
}

std::optional<RuleRecord> ConfigApplier::rule(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& r : file_.ip_access_rules)
    if (r.id == id) return RuleRecord{r, file_loaded_on_, file_loaded_on_, true};
  int i = find_api_rule(id);
  if (i < 0) return std::nullopt;
  const ApiRule& r = rules_[static_cast<size_t>(i)];
  return RuleRecord{r.rule, r.created_on, r.modified_on, false};
}

}  // namespace rampart::control
