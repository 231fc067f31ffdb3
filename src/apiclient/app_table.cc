// app_table(): fixed columns, widths from the data.
#include "apiclient/app_table.h"

#include <algorithm>
#include <array>
#include <vector>

namespace rampart::apiclient {

using nlohmann::json;

namespace {

// A scalar as text ("" for null/missing, numbers and booleans as JSON).
std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string field(const json& app, const char* key) {
  if (!app.is_object() || !app.contains(key)) return "";
  return text_of(app[key]);
}

}  // namespace

std::string origin_summary(const json& app) {
  if (!app.is_object()) return "-";
  std::string out;
  if (app.contains("origin_direct") && app["origin_direct"].is_array()) {
    for (const json& o : app["origin_direct"]) out += (out.empty() ? "" : ",") + text_of(o);
  }
  if (out.empty() && app.contains("origin_dns") && app["origin_dns"].is_object()) {
    out = field(app["origin_dns"], "name");
    std::string port = field(app, "origin_port");
    if (!port.empty()) out += ":" + port;
  }
  return out.empty() ? "-" : out;
}

std::string app_table(const json& apps) {
  constexpr size_t kCols = 6;
  using Row = std::array<std::string, kCols>;
  std::vector<Row> rows = {{"ID", "PROTOCOL", "DNS", "ORIGIN", "PROXY_PROTOCOL", "MODIFIED"}};
  auto add = [&](const json& app) {
    std::string dns = app.is_object() && app.contains("dns") ? field(app["dns"], "name") : "";
    Row r = {field(app, "id"),    field(app, "protocol"),       dns,
             origin_summary(app), field(app, "proxy_protocol"), field(app, "modified_on")};
    for (auto& cell : r)
      if (cell.empty()) cell = "-";
    rows.push_back(std::move(r));
  };
  if (apps.is_array()) {
    for (const json& app : apps) add(app);
  } else if (apps.is_object()) {
    add(apps);
  }
  std::array<size_t, kCols> width{};
  for (const Row& r : rows)
    for (size_t c = 0; c < kCols; ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  for (const Row& r : rows) {
    std::string line;
    for (size_t c = 0; c < kCols; ++c) {
      line += r[c];
      if (c + 1 < kCols) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace rampart::apiclient
