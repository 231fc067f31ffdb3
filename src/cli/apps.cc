// `rampart apps list|get|create|update|delete`: a client for the Spectrum-compatible REST API
// (SPEC §1, §3). Flag parsing, URL and envelope handling live in src/apiclient/; this file does the
// I/O: reading the --json body, sending requests, printing results and errors.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "apiclient/app_table.h"
#include "apiclient/apps_args.h"
#include "apiclient/http_client.h"
#include "cli/commands.h"
#include "config/file_read.h"

namespace rampart::cli {
namespace {

using apiclient::AppsAction;
using apiclient::Envelope;
using apiclient::HttpClient;
using nlohmann::json;

constexpr const char* kDefaultApi = "http://127.0.0.1:8788";
// Spectrum caps per_page; 100 is accepted by it and by Rampart.
constexpr int kPerPage = 100;
constexpr int kMaxPages = 10000;

// Reads the --json body: a file, or stdin for "-". Sets *rc and returns nullopt on failure.
std::optional<json> read_body(const std::string& file, int* rc) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    // Bounded: /dev/zero or a FIFO would never end.
    std::string error;
    if (!config::read_regular_file(file, config::kMaxConfigFileBytes, &text, &error)) {
      fprintf(stderr, "--json: %s; expected a file with the app's JSON (or - for stdin)\n",
              error.c_str());
      *rc = kExitInvalid;
      return std::nullopt;
    }
  }
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    fprintf(stderr,
            "--json: %s is not a JSON object; expected e.g. {\"protocol\": \"tcp/22\", "
            "\"origin_direct\": [\"tcp://192.0.2.1:22\"]}\n",
            file == "-" ? "stdin" : file.c_str());
    *rc = kExitInvalid;
    return std::nullopt;
  }
  return body;
}

// Sends one request and checks the answer. On failure prints why, sets *rc (1 for an API error,
// 3 when there was no usable answer) and returns nullopt. Prints the envelope's messages.
std::optional<Envelope> call(const HttpClient& client, const std::string& method,
                             const std::string& path, const std::string& body, int* rc) {
  apiclient::HttpResult r = client.send(method, path, body);
  const std::string where = client.url().origin + path;
  if (!r.connected) {
    fprintf(stderr,
            "rampart apps: cannot reach the API at %s (%s): %s. Is `rampart serve` running with "
            "an api: section there? (--api URL)\n",
            client.url().to_string().c_str(), method.c_str(), r.error.c_str());
    *rc = kExitRuntime;
    return std::nullopt;
  }
  std::string why;
  auto env = apiclient::parse_envelope(r.body, &why);
  if (!env) {
    std::string snippet = r.body.substr(0, 200);
    for (char& c : snippet)
      if (c == '\n' || c == '\r') c = ' ';
    fprintf(stderr, "rampart apps: %s %s answered HTTP %d, but %s%s%s\n", method.c_str(),
            where.c_str(), r.status, why.c_str(), snippet.empty() ? "" : ": ", snippet.c_str());
    *rc = kExitRuntime;
    return std::nullopt;
  }
  for (const auto& m : env->messages) fprintf(stderr, "note: %s\n", m.message.c_str());
  if (!env->success || r.status >= 400) {
    for (const auto& line : apiclient::error_lines(*env, r.status))
      fprintf(stderr, "%s\n", line.c_str());
    *rc = kExitInvalid;
    return std::nullopt;
  }
  return env;
}

// GETs every page of the app list into one array.
std::optional<json> list_all(const HttpClient& client, const std::string& path, int* rc) {
  json all = json::array();
  for (int page = 1; page <= kMaxPages; ++page) {
    std::string query = "?page=" + std::to_string(page) + "&per_page=" + std::to_string(kPerPage);
    auto env = call(client, "GET", path + query, "", rc);
    if (!env) return std::nullopt;
    if (!env->result.is_array()) {
      fprintf(stderr, "rampart apps: GET %s: \"result\" is not a list of apps\n", path.c_str());
      *rc = kExitRuntime;
      return std::nullopt;
    }
    for (auto& app : env->result) all.push_back(std::move(app));
    const json& info = env->result_info;
    int total_pages =
        info.is_object() && info.contains("total_pages") && info["total_pages"].is_number_integer()
            ? info["total_pages"].get<int>()
            : 0;
    if (page >= total_pages || env->result.size() < static_cast<size_t>(kPerPage) ||
        env->result.empty())
      break;
  }
  return all;
}

void print_result(const json& result, apiclient::OutputMode mode) {
  if (mode == apiclient::OutputMode::kJson) {
    printf("%s\n", result.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    fputs(apiclient::app_table(result).c_str(), stdout);
  }
}

}  // namespace

int cmd_apps(const Args& args) {
  apiclient::AppsInvocation inv;
  if (std::string why = apiclient::parse_apps_args(args, &inv); !why.empty()) {
    fprintf(stderr, "rampart apps: %s\n\n%s", why.c_str(), apiclient::kAppsUsage);
    return kExitUsage;
  }
  if (inv.action == AppsAction::kHelp) {
    fputs(apiclient::kAppsUsage, stdout);
    return kExitOk;
  }
  std::string api = inv.api.value_or(env_or("RAMPART_API_URL", kDefaultApi));
  std::string why;
  auto url = apiclient::parse_api_url(api, &why);
  if (!url) {
    fprintf(stderr, "--api: %s\n", why.c_str());
    return kExitUsage;
  }
  std::string zone = inv.zone.value_or(env_or("RAMPART_ZONE", "default"));
  std::string token = inv.token.value_or(env_or("RAMPART_API_TOKEN", ""));
  if (token.empty()) {
    fprintf(stderr,
            "--token: no API token; pass --token TOKEN or set RAMPART_API_TOKEN (the "
            "api.token of the edge's config)\n");
    return kExitUsage;
  }
  HttpClient client(*url, token);
  const std::string path = apiclient::apps_path(*url, zone, inv.id);
  int rc = kExitOk;

  switch (inv.action) {
    case AppsAction::kList: {
      auto apps = list_all(client, path, &rc);
      if (!apps) return rc;
      print_result(*apps, inv.output);
      return kExitOk;
    }
    case AppsAction::kGet: {
      auto env = call(client, "GET", path, "", &rc);
      if (!env) return rc;
      print_result(env->result, inv.output);
      return kExitOk;
    }
    case AppsAction::kCreate:
    case AppsAction::kUpdate: {
      json body = json::object();
      if (inv.body_file) {
        auto file_body = read_body(*inv.body_file, &rc);
        if (!file_body) return rc;
        body = *file_body;
      }
      body = apiclient::overlay(body, inv.fields);
      std::string method = inv.action == AppsAction::kCreate ? "POST"
                           : inv.replace                     ? "PUT"
                                                             : "PATCH";
      auto env = call(client, method, path, body.dump(), &rc);
      if (!env) return rc;
      print_result(env->result, inv.output);
      return kExitOk;
    }
    case AppsAction::kDelete: {
      auto env = call(client, "DELETE", path, "", &rc);
      if (!env) return rc;
      if (inv.output == apiclient::OutputMode::kJson)
        print_result(env->result, inv.output);
      else
        printf("deleted app %s\n", inv.id.c_str());
      return kExitOk;
    }
    case AppsAction::kHelp:
      break;
  }
  return kExitOk;
}

}  // namespace rampart::cli
