// AppsApi reads: lists with Spectrum's paging/ordering parameters, and single objects, from the
// ConfigApplier's records.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/app_json.h"
#include "control/apps_api.h"
#include "net/ip_addr.h"

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

// Cloudflare's per_page bounds for these lists: 20 when absent, at most 1000.
constexpr int kMaxPerPage = 1000;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A rule value in a comparable form: addresses and CIDRs in their canonical text ("2001:DB8::1"
// and "2001:db8:0::1" are one address), AS numbers without "AS", anything else lower-case.
std::string canonical_value(const std::string& v) {
  if (auto ip = net::IpAddr::parse(v)) return ip->to_string();
  if (size_t slash = v.find('/'); slash != std::string::npos)
    if (auto ip = net::IpAddr::parse(std::string_view(v).substr(0, slash)))
      return ip->to_string() + lower(v.substr(slash));
  std::string l = lower(v);
  if (l.size() > 2 && l.rfind("as", 0) == 0 && std::isdigit(static_cast<unsigned char>(l[2])))
    return l.substr(2);
  return l;
}

// The filters and order of GET .../firewall/access_rules/rules (Cloudflare's semantics: every
// given filter must match, or any one of them with match=any; notes is a case-insensitive
// substring search; no filter at all lists every rule).
struct RuleFilter {
  std::string mode, target, value, notes, order;
  bool any = false, descending = false;
  bool matches(const config::IpAccessRule& r) const {
    std::vector<bool> tests;
    if (!mode.empty()) tests.push_back(config::to_string(r.mode) == mode);
    if (!target.empty()) tests.push_back(config::to_string(r.target) == target);
    if (!value.empty()) tests.push_back(canonical_value(r.value) == value);
    if (!notes.empty()) tests.push_back(lower(r.notes).find(notes) != std::string::npos);
    if (tests.empty()) return true;
    return any ? std::find(tests.begin(), tests.end(), true) != tests.end()
               : std::find(tests.begin(), tests.end(), false) == tests.end();
  }
};

Outcome bad_param(const std::string& name, const std::string& given, const std::string& want) {
  return Outcome::failure(400, config::kErrInvalidValue,
                          name + ": \"" + given + "\" is not " + want);
}

Outcome parse_rule_filter(const ListQuery& q, RuleFilter* f) {
  // Cloudflare's modes: challenges are valid filters (they match nothing here: an L4 edge
  // stores block and whitelist rules only).
  static const std::vector<std::string> kModes{"block", "challenge", "whitelist", "js_challenge",
                                               "managed_challenge"};
  if (!q.mode.empty() && std::find(kModes.begin(), kModes.end(), q.mode) == kModes.end())
    return bad_param("mode", q.mode,
                     "one of: block, challenge, whitelist, js_challenge, managed_challenge");
  if (!q.target.empty() && q.target != "ip" && q.target != "ip6" && q.target != "ip_range" &&
      q.target != "asn" && q.target != "country")
    return bad_param("configuration.target", q.target, "one of: ip, ip6, ip_range, asn, country");
  if (!q.match.empty() && q.match != "all" && q.match != "any")
    return bad_param("match", q.match, "all or any");
  if (!q.order.empty() && q.order != "configuration.target" && q.order != "configuration.value" &&
      q.order != "mode")
    return bad_param("order", q.order, "one of: configuration.target, configuration.value, mode");
  if (!q.direction.empty() && q.direction != "asc" && q.direction != "desc")
    return bad_param("direction", q.direction, "asc or desc");
  f->mode = q.mode;
  f->target = q.target;
  f->value = q.value.empty() ? "" : canonical_value(q.value);
  f->notes = lower(q.notes);
  f->order = q.order;
  f->any = q.match == "any";
  f->descending = q.direction == "desc";
  return Outcome{};
}

std::string rule_sort_key(const json& rule, const std::string& order) {
  if (order == "mode") return rule.value("mode", "");
  const json& c = rule["configuration"];
  if (order == "configuration.target") return c.value("target", "");
  // Values of one kind sort naturally: addresses by their bytes, AS numbers by number.
  const std::string v = c.value("value", "");
  std::string key = c.value("target", "") + "/";
  if (auto ip = net::IpAddr::parse(std::string_view(v).substr(0, v.find('/')))) {
    key.append(reinterpret_cast<const char*>(ip->bytes()), ip->size());
    return key + v.substr(std::min(v.size(), v.find('/')));
  }
  std::string digits = canonical_value(v);
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit))
    return key + std::string(12 - std::min<size_t>(12, digits.size()), '0') + digits;
  return key + v;
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
  Outcome out = page_of(std::move(items), q, kMaxPerPage);
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
  RuleFilter f;
  if (Outcome bad = parse_rule_filter(q, &f); !bad.ok()) return bad;
  std::vector<json> items;
  for (const RuleRecord& r : applier_->rules())
    if (f.matches(r.rule)) items.push_back(rule_json(r, scope()));
  if (!f.order.empty())
    std::stable_sort(items.begin(), items.end(), [&](const json& a, const json& b) {
      return rule_sort_key(a, f.order) < rule_sort_key(b, f.order);
    });
  if (f.descending) std::reverse(items.begin(), items.end());
  return page_of(std::move(items), q, kMaxPerPage);
}

Outcome AppsApi::get_rule(const std::string& id) const {
  const std::optional<RuleRecord> r = applier_->rule(id);
  if (!r) return Outcome::failure(404, kErrNotFound, "no access rule with id \"" + id + "\"");
  Outcome out;
  out.result = rule_json(*r, scope());
  return out;
}

}  // namespace rampart::control
