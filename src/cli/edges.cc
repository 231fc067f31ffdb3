// `rampart edges`: the live edges of a fleet (the etcd registry), from any edge's API
// (GET /client/v4/zones/{zone}/rampart/edges). A single-box edge lists itself.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "apiclient/http_client.h"
#include "cli/commands.h"
#include "cli/flags.h"

namespace rampart::cli {
namespace {

using nlohmann::json;

constexpr const char* kEdgesUsage =
    "usage: rampart edges [--api URL] [--token TOKEN] [--zone ZONE] [-o table|json]\n"
    "\n"
    "Lists the live edges of the fleet: each edge keeps a key with its colo, addresses, version\n"
    "and health on an etcd lease; a dead edge disappears when its lease ends (10 s).\n"
    "\n"
    "  --api URL      the API of any edge (default $RAMPART_API_URL or http://127.0.0.1:8788)\n"
    "  --token TOKEN  API token (default $RAMPART_API_TOKEN)\n"
    "  --zone ZONE    zone (default $RAMPART_ZONE or \"default\")\n"
    "  -o table|json  output: a table (default) or the raw JSON result\n";

std::string text(const json& j, const char* key) {
  if (!j.contains(key)) return "-";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v)
      out += (out.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
    return out.empty() ? "-" : out;
  }
  return v.dump();
}

}  // namespace

int cmd_edges(const Args& args) {
  std::string api = env_or("RAMPART_API_URL", "http://127.0.0.1:8788");
  std::string token = env_or("RAMPART_API_TOKEN", "");
  std::string zone = env_or("RAMPART_ZONE", "default");
  std::string output = "table";
  Flags flags("edges");
  CLI::App& app = flags.app();
  app.add_option("--api", api);
  app.add_option("--token", token);
  app.add_option("--zone", zone);
  app.add_option("-o,--output", output);
  if (auto rc = flags.parse(args, kEdgesUsage)) return *rc;
  if (output != "json" && output != "table") {
    fprintf(stderr, "rampart edges: -o %s: expected table or json\n", output.c_str());
    return kExitUsage;
  }
  const bool as_json = output == "json";
  std::string why;
  auto url = apiclient::parse_api_url(api, &why);
  if (!url) {
    fprintf(stderr, "--api: %s\n", why.c_str());
    return kExitUsage;
  }
  if (token.empty()) {
    fprintf(stderr, "--token: no API token; pass --token TOKEN or set RAMPART_API_TOKEN\n");
    return kExitUsage;
  }
  apiclient::HttpClient client(*url, token);
  std::string path = url->prefix + (url->has_v4 ? "" : "/client/v4") + "/zones/" +
                     apiclient::encode_segment(zone) + "/rampart/edges";
  apiclient::HttpResult r = client.send("GET", path);
  if (!r.connected) {
    fprintf(stderr, "rampart edges: cannot reach the API at %s: %s\n", api.c_str(),
            r.error.c_str());
    return kExitRuntime;
  }
  auto env = apiclient::parse_envelope(r.body, &why);
  if (!env) {
    fprintf(stderr, "rampart edges: GET %s answered HTTP %d, but %s\n", path.c_str(), r.status,
            why.c_str());
    return kExitRuntime;
  }
  if (!env->success || r.status >= 400) {
    for (const auto& line : apiclient::error_lines(*env, r.status))
      fprintf(stderr, "%s\n", line.c_str());
    return kExitInvalid;
  }
  if (as_json) {
    printf("%s\n", env->result.dump(2).c_str());
    return kExitOk;
  }
  printf("%-32s %-8s %-28s %-8s %-8s %s\n", "NAME", "COLO", "ADDRESSES", "VERSION", "HEALTH",
         "STARTED");
  if (env->result.is_array())
    for (const auto& e : env->result) {
      std::string name = text(e, "name");
      if (e.value("self", false)) name += "*";  // the edge that answered
      printf("%-32s %-8s %-28s %-8s %-8s %s\n", name.c_str(), text(e, "colo").c_str(),
             text(e, "addresses").c_str(), text(e, "version").c_str(), text(e, "health").c_str(),
             text(e, "started_on").c_str());
    }
  return kExitOk;
}

}  // namespace rampart::cli
