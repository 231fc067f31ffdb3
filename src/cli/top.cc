// `rampart top`: a live per-app table in the terminal (active connections, rates, errors, drops)
// from the same API the dashboard reads (GET .../spectrum/analytics/live), refreshed every
// --interval seconds; --once prints one table and exits (scripts, tests).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <thread>

#include "apiclient/http_client.h"
#include "apiclient/top_table.h"
#include "cli/commands.h"
#include "cli/flags.h"

namespace rampart::cli {
namespace {

constexpr const char* kTopUsage =
    "usage: rampart top [--once] [--interval SECONDS] [--api URL] [--token TOKEN] [--zone ID]\n"
    "\n"
    "A live table of the edge's apps: ACTIVE connections now, new connections (CONN/S), bytes\n"
    "in (client -> edge) and out (edge -> client) per second, ERR/S (events with an error\n"
    "status), CONNS since start and DROPS (refused by the guard) since start. Rates are averaged\n"
    "over the last --interval seconds.\n"
    "\n"
    "  --once             print one table and exit\n"
    "  --interval S       refresh period and rate window in seconds (default 2, 1-60)\n"
    "  --api URL          default $RAMPART_API_URL or http://127.0.0.1:8788\n"
    "  --token TOKEN      default $RAMPART_API_TOKEN\n"
    "  --zone ID          default $RAMPART_ZONE or default\n";

struct TopArgs {
  bool once = false;
  int interval = 2;
  std::string api, token, zone;
};

// Parses the flags into *out. nullopt: go on; else the exit code (Flags::parse).
std::optional<int> parse_top_args(const Args& args, TopArgs* out) {
  out->api = env_or("RAMPART_API_URL", "http://127.0.0.1:8788");
  out->token = env_or("RAMPART_API_TOKEN", "");
  out->zone = env_or("RAMPART_ZONE", "default");
  std::string interval;
  Flags flags("top");
  CLI::App& app = flags.app();
  app.add_flag("--once", out->once);
  app.add_option("--interval", interval);
  app.add_option("--api", out->api);
  app.add_option("--token", out->token);
  app.add_option("--zone", out->zone);
  if (auto rc = flags.parse(args, kTopUsage)) return rc;
  if (app.count("--interval") > 0) {
    char* end = nullptr;
    long n = strtol(interval.c_str(), &end, 10);
    if (interval.empty() || *end != '\0' || n < 1 || n > 60) {
      fprintf(stderr,
              "rampart top: --interval: \"%s\" is not a whole number of seconds from 1 to 60\n\n%s",
              interval.c_str(), kTopUsage);
      return kExitUsage;
    }
    out->interval = static_cast<int>(n);
  }
  return std::nullopt;
}

std::string live_path(const apiclient::ApiUrl& url, const std::string& zone) {
  return url.prefix + (url.has_v4 ? "" : "/client/v4") + "/zones/" +
         apiclient::encode_segment(zone) + "/spectrum/analytics/live";
}

// One GET of the live endpoint. On failure *why says what went wrong and *fatal whether retrying
// cannot help (auth or API errors, as opposed to an unreachable edge).
std::optional<nlohmann::json> fetch_live(const apiclient::HttpClient& client,
                                         const std::string& path, std::string* why, bool* fatal) {
  apiclient::HttpResult r = client.send("GET", path);
  *fatal = false;
  if (!r.connected) {
    *why = "cannot reach the API at " + client.url().to_string() + ": " + r.error +
           ". Is `rampart serve` running there? (--api URL)";
    return std::nullopt;
  }
  std::string parse_error;
  auto env = apiclient::parse_envelope(r.body, &parse_error);
  if (!env) {
    *why = "GET " + path + " answered HTTP " + std::to_string(r.status) + ", but " + parse_error;
    *fatal = true;
    return std::nullopt;
  }
  if (!env->success || r.status >= 400) {
    why->clear();
    for (const auto& line : apiclient::error_lines(*env, r.status))
      *why += (why->empty() ? "" : "\n") + line;
    if (r.status == 404)
      *why += "\n(this edge has no live analytics endpoint: is it an older rampart?)";
    *fatal = true;
    return std::nullopt;
  }
  if (!env->result.is_object()) {
    *why = "GET " + path + ": \"result\" is not an object";
    *fatal = true;
    return std::nullopt;
  }
  return env->result;
}

std::string clock_now() {
  time_t t = time(nullptr);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[16];
  strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

int cmd_top(const Args& args) {
  TopArgs opt;
  if (auto rc = parse_top_args(args, &opt)) return *rc;
  std::string why;
  auto url = apiclient::parse_api_url(opt.api, &why);
  if (!url) {
    fprintf(stderr, "--api: %s\n", why.c_str());
    return kExitUsage;
  }
  if (opt.token.empty()) {
    fprintf(stderr,
            "--token: no API token; pass --token TOKEN or set RAMPART_API_TOKEN (the api.token "
            "of the edge's config)\n");
    return kExitUsage;
  }
  apiclient::HttpClient client(*url, opt.token, 5, 10);
  const std::string path = live_path(*url, opt.zone);

  if (opt.once) {
    bool fatal = false;
    auto live = fetch_live(client, path, &why, &fatal);
    if (!live) {
      fprintf(stderr, "rampart top: %s\n", why.c_str());
      return fatal ? kExitInvalid : kExitRuntime;
    }
    fputs(apiclient::top_table(*live, opt.interval).c_str(), stdout);
    return kExitOk;
  }

  const bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    auto started = std::chrono::steady_clock::now();
    bool fatal = false;
    auto live = fetch_live(client, path, &why, &fatal);
    if (!live && fatal) {
      fprintf(stderr, "rampart top: %s\n", why.c_str());
      return kExitInvalid;
    }
    std::string frame = "rampart top  " + url->to_string() + "  " + clock_now() + "  (every " +
                        std::to_string(opt.interval) + "s; Ctrl-C quits)\n\n";
    frame += live ? apiclient::top_table(*live, opt.interval) : "API unreachable: " + why + "\n";
    if (tty) fputs("\x1b[H\x1b[2J", stdout);  // home + clear: redraw in place
    fputs(frame.c_str(), stdout);
    if (!tty) fputs("\n", stdout);
    fflush(stdout);
    std::this_thread::sleep_until(started + std::chrono::seconds(opt.interval));
  }
}

}  // namespace rampart::cli
