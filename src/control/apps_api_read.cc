// AppsApi reads: lists with Spectrum's paging/ordering parameters, and single objects, from the
// ConfigApplier's records.
#include <algorithm>
#include <charconv>

#include "config/app_json.h"
#include "control/apps_api.h"

namespace rampart::control {

using nlohmann::json;

namespace {

// Parses a positive page / per_page value; empty means `fallback`.
bool parse_count(const std::string& text, int fallback, int max, int* out) {
  if (text.empty()) {
    *out = fallback;
    return true;
  }
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 1 || v > max) return false;
  *out = v;
  return true;
}

// Applies page/per_page to `items` and fills result/result_info.
Outcome page_of(std::vector<json> items, const ListQuery& q, int max_per_page) {
  int page = 1, per_page = 20;
  if (!parse_count(q.page, 1, 1 << 30, &page))
    return Outcome::failure(400, config::kErrInvalidValue,
                            "page: \"" + q.page + "\" is not a page number (1 or more)");
  if (!parse_count(q.per_page, 20, max_per_page, &per_page))
    return Outcome::failure(
        400, config::kErrInvalidValue,
        "per_page: \"" + q.per_page + "\" is not 1-" + std::to_string(max_per_page));
  Outcome out;
  size_t total = items.size();
  size_t start = std::min(total, static_cast<size_t>(page - 1) * static_cast<size_t>(per_page));
  size_t end = std::min(total, start + static_cast<size_t>(per_page));
  out.result = json::array();
  for (size_t i = start; i < end; ++i) out.result.push_back(std::move(items[i]));
  out.result_info = {
      {"page", page},
      {"per_page", per_page},
      {"count", end - start},
      {"total_count", total},
      {"total_pages", (total + static_cast<size_t>(per_page) - 1) / static_cast<size_t>(per_page)}};
  return out;
}

std::string sort_key(const json& app, const std::string& order) {
  if (order == "app_id") return app.value("id", "");
  if (order == "created_on") return app.value("created_on", "");
  if (order == "modified_on") return app.value("modified_on", "");
  if (order == "dns") return app.contains("dns") ? app["dns"].value("name", "") : "";
  // protocol: "tcp/22" sorts by scheme, then numerically by first port.
  std::string p = app.value("protocol", "");
  size_t slash = p.find('/');
  int port = 0;
  if (slash != std::string::npos) std::from_chars(p.data() + slash + 1, p.data() + p.size(), port);
  char buf[16];
  snprintf(buf, sizeof buf, "%05d", port);
  return p.substr(0, slash) + "/" + buf;
}

}  // namespace

Outcome AppsApi::list_apps(const ListQuery& q) const {
  std::string order = q.order.empty() ? "created_on" : q.order;
  if (order != "protocol" && order != "app_id" && order != "created_on" && order != "modified_on" &&
      order != "dns")
    return Outcome::failure(
        400, config::kErrInvalidValue,
        "order: \"" + q.order + "\" is not one of: protocol, app_id, created_on, modified_on, dns");
  if (!q.direction.empty() && q.direction != "asc" && q.direction != "desc")
    return Outcome::failure(400, config::kErrInvalidValue,
                            "direction: \"" + q.direction + "\" is not asc or desc");
  const AppStatus status = app_status();
  std::vector<json> items;
  for (const AppRecord& a : applier_->apps()) items.push_back(app_json(a));
  std::stable_sort(items.begin(), items.end(), [&](const json& a, const json& b) {
    return sort_key(a, order) < sort_key(b, order);
  });
  if (q.direction == "desc") std::reverse(items.begin(), items.end());
  std::vector<ApiError> notes;
  for (const auto& item : items)
    if (std::string why = status ? status(item.value("id", "")) : ""; !why.empty())
      notes.push_back(
          {kNoteAppDisabled, "app \"" + item.value("id", "") + "\" is disabled: " + why});
  Outcome out = page_of(std::move(items), q, 1000);
  if (out.ok()) out.messages = std::move(notes);
  return out;
}

Outcome AppsApi::get_app(const std::string& id) const {
  const AppStatus status = app_status();
  const std::optional<AppRecord> a = applier_->app(id);
  if (!a) return Outcome::failure(404, kErrNotFound, "no app with id \"" + id + "\"");
  Outcome out;
  out.result = app_json(*a);
  if (!a->left_out.empty())
    out.messages.push_back({kNoteAppLeftOut, "app \"" + id + "\" is not running: " + a->left_out +
                                                 "; fix it with PUT or PATCH, or DELETE it"});
  // The data plane's view: an app whose certificate is gone serves no one; say so and why.
  if (std::string why = status ? status(id) : ""; !why.empty())
    out.messages.push_back({kNoteAppDisabled, "app \"" + id + "\" is disabled: " + why +
                                                  "; its listeners stay closed until this is "
                                                  "fixed (then reload with SIGHUP or write the "
                                                  "app again)"});
  return out;
}

Outcome AppsApi::list_rules(const ListQuery& q) const {
  if (!q.mode.empty() && q.mode != "block" && q.mode != "whitelist")
    return Outcome::failure(400, config::kErrInvalidValue,
                            "mode: \"" + q.mode + "\" is not block or whitelist");
  std::vector<json> items;
  for (const RuleRecord& r : applier_->rules()) items.push_back(rule_json(r));
  if (!q.mode.empty())
    std::erase_if(items, [&](const json& r) { return r.value("mode", "") != q.mode; });
  return page_of(std::move(items), q, 1000);
}

Outcome AppsApi::get_rule(const std::string& id) const {
  const std::optional<RuleRecord> r = applier_->rule(id);
  if (!r) return Outcome::failure(404, kErrNotFound, "no access rule with id \"" + id + "\"");
  Outcome out;
  out.result = rule_json(*r);
  return out;
}

}  // namespace rampart::control
