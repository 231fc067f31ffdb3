// parse_apps_args(): flags of `rampart apps` -> AppsInvocation.
#include "apiclient/apps_args.h"

#include <functional>
#include <map>

namespace rampart::apiclient {

using nlohmann::json;

const char* const kAppsUsage =
    "usage: rampart apps list                [options]\n"
    "       rampart apps get ID              [options]\n"
    "       rampart apps create (--json FILE|- | APP FLAGS) [options]\n"
    "       rampart apps update ID (--json FILE|- | APP FLAGS) [--replace] [options]\n"
    "       rampart apps delete ID           [options]\n"
    "\n"
    "A client for the Spectrum-compatible REST API (/client/v4/zones/ZONE/spectrum/apps).\n"
    "\n"
    "options:\n"
    "  --api URL          API base URL (default $RAMPART_API_URL or http://127.0.0.1:8788)\n"
    "  --zone ID          zone (default $RAMPART_ZONE or \"default\")\n"
    "  --token TOKEN      API token (default $RAMPART_API_TOKEN)\n"
    "  -o table|json      output: a table (default) or the raw JSON result; list, get and\n"
    "                     delete also take --json for -o json\n"
    "\n"
    "app flags (create, update; with --json FILE they override the file's fields):\n"
    "  --protocol tcp/22            edge protocol and port(s), e.g. udp/27015-27020\n"
    "  --origin tcp://IP:PORT       an origin_direct entry; repeat to load balance\n"
    "  --origin-dns NAME            origin_dns name (with --origin-port N or N-M)\n"
    "  --dns-name NAME              dns.name (dns.type CNAME unless --dns-type ADDRESS)\n"
    "  --proxy-protocol off|v1|v2|simple\n"
    "  --edge-ip IP                 static edge IP (repeatable); or --connectivity all|ipv4|ipv6\n"
    "  --ip-firewall on|off         --tls off|flexible|full|strict   --traffic-type direct\n"
    "  --validate NAME              first-bytes check: none|ssh|tls|rdp|minecraft|mqtt|...\n"
    "  --set PATH=VALUE             any other field, e.g. --set timeouts.idle=2h or\n"
    "                               --set load_balancing.policy=least_connections (VALUE is\n"
    "                               parsed as JSON when it is valid JSON, else a string)\n"
    "  --replace                    update: PUT the full app instead of PATCHing fields\n"
    "\n"
    "exit status: 0 ok, 1 the API refused the request (error CODE: message), 2 usage error,\n"
    "3 the API could not be reached or did not answer like the API\n";

namespace {

std::optional<bool> parse_bool(const std::string& v) {
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  return std::nullopt;
}

// "22" -> 22, "1000-2000" -> "1000-2000" (Spectrum accepts both forms for origin_port).
json port_value(const std::string& v) {
  bool digits =
      !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string::npos;
  if (digits) return std::stoi(v);
  return v;
}

// --set a.b.c=VALUE
std::string set_path(json& fields, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    return "--set: \"" + assignment + "\" is not PATH=VALUE (e.g. timeouts.idle=2h)";
  std::string path = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  json* node = &fields;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) return "--set: \"" + path + "\" has an empty field name";
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return "";
    }
    json& child = (*node)[key];
    if (!child.is_object()) child = json::object();
    node = &child;
    start = dot + 1;
  }
}

}  // namespace

json overlay(json base, const json& fields) {
  if (!base.is_object() || !fields.is_object()) return fields;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it.value().is_object() && base.contains(it.key()) && base[it.key()].is_object())
      base[it.key()] = overlay(base[it.key()], it.value());
    else
      base[it.key()] = it.value();
  }
  return base;
}

std::string parse_apps_args(const std::vector<std::string>& args, AppsInvocation* out) {
  if (args.empty()) return "missing ACTION (list, get, create, update or delete)";
  const std::string& verb = args[0];
  static const std::map<std::string, AppsAction> kActions = {
      {"list", AppsAction::kList},     {"ls", AppsAction::kList},
      {"get", AppsAction::kGet},       {"show", AppsAction::kGet},
      {"create", AppsAction::kCreate}, {"update", AppsAction::kUpdate},
      {"delete", AppsAction::kDelete}, {"rm", AppsAction::kDelete},
      {"help", AppsAction::kHelp},     {"--help", AppsAction::kHelp},
      {"-h", AppsAction::kHelp}};
  auto found = kActions.find(verb);
  if (found == kActions.end())
    return "unknown action \"" + verb + "\"; expected list, get, create, update or delete";
  out->action = found->second;
  if (out->action == AppsAction::kHelp) return "";
  const bool writes = out->action == AppsAction::kCreate || out->action == AppsAction::kUpdate;
  const bool wants_id = out->action == AppsAction::kGet || out->action == AppsAction::kUpdate ||
                        out->action == AppsAction::kDelete;

  json& f = out->fields;
  std::vector<std::string> origins, edge_ips;
  std::optional<std::string> connectivity, dns_type;
  // Flags that take a value; each stores it.
  using Setter = std::function<std::string(const std::string&)>;
  auto field = [&](const char* key) -> Setter {
    return [&f, key](const std::string& v) {
      f[key] = v;
      return std::string();
    };
  };
  auto boolean = [&](const char* key, const char* flag) -> Setter {
    return [&f, key, flag](const std::string& v) {
      auto b = parse_bool(v);
      if (!b) return std::string(flag) + ": \"" + v + "\" is not on/off (or true/false)";
      f[key] = *b;
      return std::string();
    };
  };
  std::map<std::string, Setter> common = {
      {"--api", [&](const std::string& v) { return out->api = v, std::string(); }},
      {"--zone", [&](const std::string& v) { return out->zone = v, std::string(); }},
      {"--token", [&](const std::string& v) { return out->token = v, std::string(); }},
      {"-o",
       [&](const std::string& v) {
         if (v == "json")
           out->output = OutputMode::kJson;
         else if (v == "table")
           out->output = OutputMode::kTable;
         else
           return "-o: \"" + v + "\" is not an output mode; expected table or json";
         return std::string();
       }},
  };
  common["--output"] = common["-o"];
  std::map<std::string, Setter> app_flags = {
      {"--json", [&](const std::string& v) { return out->body_file = v, std::string(); }},
      {"--protocol", field("protocol")},
      {"--origin", [&](const std::string& v) { return origins.push_back(v), std::string(); }},
      {"--origin-dns",
       [&](const std::string& v) {
         return f["origin_dns"] = {{"name", v}}, std::string();
       }},
      {"--origin-port",
       [&](const std::string& v) { return f["origin_port"] = port_value(v), std::string(); }},
      {"--dns-name", [&](const std::string& v) { return f["dns"]["name"] = v, std::string(); }},
      {"--dns-type", [&](const std::string& v) { return dns_type = v, std::string(); }},
      {"--proxy-protocol", field("proxy_protocol")},
      {"--edge-ip", [&](const std::string& v) { return edge_ips.push_back(v), std::string(); }},
      {"--connectivity", [&](const std::string& v) { return connectivity = v, std::string(); }},
      {"--ip-firewall", boolean("ip_firewall", "--ip-firewall")},
      {"--argo-smart-routing", boolean("argo_smart_routing", "--argo-smart-routing")},
      {"--tls", field("tls")},
      {"--traffic-type", field("traffic_type")},
      {"--validate", field("validate")},
      {"--set", [&](const std::string& v) { return set_path(f, v); }},
  };
  app_flags["--data"] = app_flags["--json"];

  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
    }
    if (a == "-h" || a == "--help") {
      out->action = AppsAction::kHelp;
      return "";
    }
    if (!writes && a == "--json" && !inline_value) {
      out->output = OutputMode::kJson;
      continue;
    }
    if (writes && a == "--replace") {
      if (out->action != AppsAction::kUpdate) return "--replace: only applies to update";
      out->replace = true;
      continue;
    }
    Setter* setter = nullptr;
    if (auto it = common.find(a); it != common.end()) setter = &it->second;
    if (writes)
      if (auto it = app_flags.find(a); it != app_flags.end()) setter = &it->second;
    if (!setter) {
      if (a.size() > 1 && a[0] == '-') return "unknown flag \"" + args[i] + "\" for apps " + verb;
      positional.push_back(args[i]);
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return a + " needs a value";
    }
    if (std::string why = (*setter)(value); !why.empty()) return why;
  }

  if (wants_id) {
    if (positional.empty()) return "apps " + verb + " needs an app ID";
    out->id = positional[0];
    positional.erase(positional.begin());
  }
  if (!positional.empty()) return "unexpected argument \"" + positional[0] + "\"";

  if (!origins.empty()) f["origin_direct"] = origins;
  if (!edge_ips.empty() && connectivity)
    return "--edge-ip and --connectivity exclude each other (static or dynamic edge IPs)";
  if (!edge_ips.empty()) f["edge_ips"] = {{"type", "static"}, {"ips", edge_ips}};
  if (connectivity) f["edge_ips"] = {{"type", "dynamic"}, {"connectivity", *connectivity}};
  if (dns_type) f["dns"]["type"] = *dns_type;
  if (out->action == AppsAction::kCreate && f.contains("dns") && !f["dns"].contains("type"))
    f["dns"]["type"] = "CNAME";
  if (writes && !out->body_file && f.empty())
    return "apps " + verb + " needs the app: --json FILE (or - for stdin) or flags such as " +
           "--protocol tcp/22 --origin tcp://192.0.2.1:22";
  return "";
}

}  // namespace rampart::apiclient
