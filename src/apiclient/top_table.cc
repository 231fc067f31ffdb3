// top_table(): rates from the live series, fixed columns, widths from the data.
#include "apiclient/top_table.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace rampart::apiclient {

using nlohmann::json;

namespace {

long long int_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return 0;
  return obj[key].get<long long>();
}

double num_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return 0;
  return obj[key].get<double>();
}

std::string str_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "-";
  return obj[key].get<std::string>();
}

std::string fixed1(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

AppRates app_rates(const json& app, long long interval_ms, int window) {
  AppRates r;
  if (!app.is_object() || !app.contains("series") || !app["series"].is_array()) return r;
  if (interval_ms <= 0) interval_ms = 1000;
  const json& series = app["series"];
  std::vector<const json*> picked;
  for (auto it = series.rbegin(); it != series.rend() && static_cast<int>(picked.size()) < window;
       ++it)
    picked.push_back(&*it);
  if (picked.empty()) return r;
  for (const json* s : picked) {
    r.connects += num_of(*s, "connects");
    r.bytes_in += num_of(*s, "bytesIngress");
    r.bytes_out += num_of(*s, "bytesEgress");
    r.errors += num_of(*s, "errors");
  }
  double seconds = static_cast<double>(picked.size()) * static_cast<double>(interval_ms) / 1000.0;
  r.connects /= seconds;
  r.bytes_in /= seconds;
  r.bytes_out /= seconds;
  r.errors /= seconds;
  return r;
}

std::string human_rate(double v) {
  static const char* kUnits[] = {"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"};
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[u]);
  else
    snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

std::string top_table(const json& live, int window) {
  using Row = std::vector<std::string>;
  std::vector<Row> rows;
  rows.push_back({"APP", "PROTO", "ACTIVE", "CONN/S", "IN/S", "OUT/S", "ERR/S", "CONNS", "DROPS"});
  const long long interval = int_of(live, "interval_ms");
  std::vector<const json*> apps;
  if (live.is_object() && live.contains("apps") && live["apps"].is_array())
    for (const json& a : live["apps"]) apps.push_back(&a);
  auto active = [](const json* a) {
    return a->contains("totals") ? int_of((*a)["totals"], "connections") : 0;
  };
  std::stable_sort(apps.begin(), apps.end(), [&](const json* a, const json* b) {
    if (active(a) != active(b)) return active(a) > active(b);
    return str_of(*a, "appID") < str_of(*b, "appID");
  });
  for (const json* a : apps) {
    const json totals = a->contains("totals") ? (*a)["totals"] : json::object();
    AppRates r = app_rates(*a, interval, window);
    rows.push_back({str_of(*a, "appID"), str_of(*a, "protocol"),
                    std::to_string(int_of(totals, "connections")), fixed1(r.connects),
                    human_rate(r.bytes_in), human_rate(r.bytes_out), fixed1(r.errors),
                    std::to_string(int_of(totals, "connectionsTotal")),
                    std::to_string(int_of(totals, "drops"))});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const Row& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool left = i < 2;  // names left-aligned, numbers right-aligned
      std::string pad(width[i] - row[i].size(), ' ');
      line += left ? row[i] + pad : pad + row[i];
      if (i + 1 < row.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (apps.empty()) out += "(no apps)\n";
  return out;
}

}  // namespace rampart::apiclient
