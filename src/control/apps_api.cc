// AppsApi writes: request bodies in, the applier's results out as API outcomes. Reads (lists
// with Spectrum's paging/ordering, single objects) are in apps_api_read.cc.
#include "control/apps_api.h"

#include <chrono>
#include <optional>

#include "config/app_json.h"
#include "edge/limitations.h"

namespace rampart::control {

using nlohmann::json;

namespace {

void add_errors(Outcome* out, int status, const std::vector<config::ConfigError>& errors) {
  out->status = status;
  // An edge address and port claimed twice (e.g. by api.listen) is a conflict, as between apps.
  for (const auto& e : errors)
    if (e.code == config::kErrListenConflict) out->status = 409;
  for (const auto& e : errors)
    out->errors.push_back({e.code ? e.code : config::kErrInvalidValue, config::api_message(e),
                           config::api_pointer(e)});
}

int status_of(int code) {
  switch (code) {
    case kErrConflict:
      return 409;
    case kErrNotFound:
      return 404;
    case kErrStoreUnavailable:
      return 503;
    case kErrOutcomeUnknown:
      return 504;
    case kErrInternal:
      return 500;
    default:
      return 400;
  }
}

// The request body as a JSON object, or nullopt with a 400 outcome in *out.
std::optional<json> parse_body(const std::string& body, Outcome* out) {
  std::vector<config::ConfigError> errs;
  auto j = config::parse_json_object(body, errs);
  if (!j) add_errors(out, 400, errs);
  return j;
}

// The modified_on the client read, when its body carries one (a conditional write).
std::optional<std::string> based_on(const json& body) {
  auto it = body.find("modified_on");
  if (it == body.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Notes for settings that are accepted but do not (yet) change what the edge does.
void add_notes(const config::App& app, Outcome* out) {
  if (app.tls != config::TlsMode::kOff && app.tls_settings.certificates.empty()) {
    std::string name = app.dns.name.empty() ? "localhost" : app.dns.name;
    out->messages.push_back(
        {kNoteSelfSignedCert, std::string("tls ") + config::to_string(app.tls) +
                                  ": no certificate is configured for " + name +
                                  ", so a self-signed certificate (EC P-256, 90 days) is "
                                  "generated for that name; set tls_settings.certificates to "
                                  "present your own"});
  }
  // What the data plane accepts but does not act on yet (the same lines serve logs).
  config::Config one;
  one.apps.push_back(app);
  for (const std::string& note : edge::unenforced_settings(one)) {
    // Zone-wide lines are about the file, and tls is said above.
    if (note.rfind("apps[", 0) != 0 || note.find(".tls:") != std::string::npos) continue;
    size_t dot = note.find(").");
    out->messages.push_back(
        {kNoteNotEnforced, dot == std::string::npos ? note : note.substr(dot + 2)});
  }
  if (app.argo_smart_routing)
    out->messages.push_back(
        {kNoteNoEffect,
         "argo_smart_routing: stored for compatibility; it has no effect on a self-hosted edge"});
  if (app.traffic_type != "direct")
    out->messages.push_back(
        {kNoteNoEffect, "traffic_type " + app.traffic_type +
                            ": stored for compatibility; this L4 edge has no HTTP pipeline or "
                            "Workers and proxies the bytes as traffic_type direct"});
  if (!app.virtual_network_id.empty())
    out->messages.push_back({kNoteNoEffect,
                             "virtual_network_id: stored for compatibility; it has no effect "
                             "(this edge reaches origins over its own network, not a Cloudflare "
                             "Tunnel)"});
  if (!app.origin_worker_id.empty())
    out->messages.push_back({kNoteNoEffect,
                             "origin_worker_id: stored for compatibility; it has no effect (no "
                             "Workers run here; origin_direct or origin_dns is the origin)"});
}

// A written app's outcome: the app and its notes.
Outcome app_written(const ChangeResult& r) {
  Outcome out = outcome_of(r);
  if (!out.ok() || !r.app) return out;
  out.result = app_json(*r.app);
  add_notes(r.app->app, &out);
  return out;
}

Outcome deleted(const ChangeResult& r, const std::string& id) {
  Outcome out = outcome_of(r);
  if (out.ok()) out.result = {{"id", id}};
  return out;
}

}  // namespace

json app_json(const AppRecord& a) {
  json j = config::app_to_json(a.app);
  j["created_on"] = a.created_on;
  j["modified_on"] = a.modified_on;
  j["source"] = a.from_file ? "file" : "api";
  return j;
}

json rule_json(const RuleRecord& r, const json& scope) {
  json j = config::rule_to_json(r.rule);
  j["created_on"] = r.created_on;
  j["modified_on"] = r.modified_on;
  j["scope"] = scope;
  j["source"] = r.from_file ? "file" : "api";
  return j;
}

bool AppsApi::has_zone(const std::string& zone) const {
  if (zone == kDefaultZone) return true;
  std::lock_guard lock(mu_);
  for (const auto& z : zones_)
    if (z.id == zone) return true;
  return false;
}

std::string AppsApi::unknown_zone(const std::string& zone) const {
  std::string served = "\"default\"";
  {
    std::lock_guard lock(mu_);
    for (const auto& z : zones_)
      served += ", \"" + z.id + "\"" + (z.name.empty() ? "" : " (" + z.name + ")");
  }
  return "could not route to zone \"" + zone + "\": this edge serves the zone" +
         (served.find(',') == std::string::npos ? " " : "s ") + served + " (api.zones)";
}

json AppsApi::scope() const {
  std::lock_guard lock(mu_);
  if (zones_.empty()) return {{"id", kDefaultZone}, {"name", kDefaultZone}, {"type", "zone"}};
  const config::ApiZone& z = zones_.front();
  return {{"id", z.id}, {"name", z.name.empty() ? z.id : z.name}, {"type", "zone"}};
}

Outcome outcome_of(const ChangeResult& r) {
  Outcome out;
  if (!r.errors.empty())
    add_errors(&out, 400, r.errors);
  else if (r.code != 0)
    out = Outcome::failure(status_of(r.code), r.code, r.message);
  return out;
}

Outcome AppsApi::idempotent(const std::string& key, const std::string& fingerprint, bool deletes,
                            const std::function<Outcome(const std::string&)>& write) {
  if (key.empty()) return write("");  // the store makes a request id up
  if (auto why = IdempotencyKeys::invalid(key))
    return Outcome::failure(400, kErrInvalidValue, *why);
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  const IdempotencyKeys::Start start = keys_.begin(key, fingerprint, now());
  if (start.answer) return *start.answer;
  Outcome out = write(key);
  // The first attempt's outcome was unknown and the object is gone now: it was deleted.
  if (deletes && start.unknown_before && out.status == 404 && !out.errors.empty() &&
      out.errors[0].code == kErrNotFound)
    out = Outcome{};
  keys_.finish(key, out, now());
  return out;
}

Outcome AppsApi::create_app(const std::string& body, const std::string& key) {
  return idempotent(key, IdempotencyKeys::fingerprint("POST", "apps", body), false,
                    [&](const std::string& request_id) {
                      Outcome out;
                      auto j = parse_body(body, &out);
                      if (!j) return out;
                      if (!request_id.empty() && !j->contains("id"))
                        (*j)["id"] = IdempotencyKeys::derived_id(request_id);
                      return app_written(applier_->create_app(*j, request_id));
                    });
}

Outcome AppsApi::replace_app(const std::string& id, const std::string& body,
                             const std::string& key) {
  return idempotent(key, IdempotencyKeys::fingerprint("PUT", "apps/" + id, body), false,
                    [&](const std::string& request_id) {
                      Outcome out;
                      auto j = parse_body(body, &out);
                      if (!j) return out;
                      return app_written(applier_->replace_app(id, *j, based_on(*j), request_id));
                    });
}

Outcome AppsApi::patch_app(const std::string& id, const std::string& body, const std::string& key) {
  return idempotent(key, IdempotencyKeys::fingerprint("PATCH", "apps/" + id, body), false,
                    [&](const std::string& request_id) {
                      Outcome out;
                      auto j = parse_body(body, &out);
                      if (!j) return out;
                      return app_written(applier_->patch_app(id, *j, based_on(*j), request_id));
                    });
}

Outcome AppsApi::delete_app(const std::string& id, const std::string& key) {
  Outcome out =
      idempotent(key, IdempotencyKeys::fingerprint("DELETE", "apps/" + id, ""), true,
                 [&](const std::string&) { return deleted(applier_->delete_app(id), id); });
  if (out.ok()) out.result = {{"id", id}};  // also when a retry found it gone
  return out;
}

Outcome AppsApi::create_rule(const std::string& body, const std::string& key) {
  return idempotent(key, IdempotencyKeys::fingerprint("POST", "rules", body), false,
                    [&](const std::string& request_id) {
                      std::vector<config::ConfigError> errs;
                      Outcome out;
                      auto j = config::parse_json_object(body, errs);
                      if (j && !request_id.empty() && !j->contains("id"))
                        (*j)["id"] = IdempotencyKeys::derived_id(request_id);
                      std::optional<config::IpAccessRule> rule;
                      if (j) rule = config::decode_rule(*j, errs);
                      if (!rule) {
                        add_errors(&out, 400, errs);
                        return out;
                      }
                      const ChangeResult r = applier_->create_rule(*rule, request_id);
                      out = outcome_of(r);
                      if (out.ok() && r.rule) out.result = rule_json(*r.rule, scope());
                      return out;
                    });
}

Outcome AppsApi::patch_rule(const std::string& id, const std::string& body,
                            const std::string& key) {
  return idempotent(key, IdempotencyKeys::fingerprint("PATCH", "rules/" + id, body), false,
                    [&](const std::string& request_id) {
                      Outcome out;
                      auto j = parse_body(body, &out);
                      if (!j) return out;
                      const ChangeResult r = applier_->patch_rule(id, *j, based_on(*j), request_id);
                      out = outcome_of(r);
                      if (out.ok() && r.rule) out.result = rule_json(*r.rule, scope());
                      return out;
                    });
}

Outcome AppsApi::delete_rule(const std::string& id, const std::string& key) {
  Outcome out =
      idempotent(key, IdempotencyKeys::fingerprint("DELETE", "rules/" + id, ""), true,
                 [&](const std::string&) { return deleted(applier_->delete_rule(id), id); });
  if (out.ok()) out.result = {{"id", id}};  // also when a retry found it gone
  return out;
}

}  // namespace rampart::control
