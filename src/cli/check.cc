// `rampart check -c FILE`: validate a config and print one line per problem.
#include <cstdio>

#include "cli/commands.h"
#include "config/anycast_config.h"
#include "config/dns_publish_config.h"
#include "config/parse.h"
#include "config/safety.h"
#include "control/api_server.h"

namespace rampart::cli {

int cmd_check(const Args& args) {
  std::string path;
  if (auto rc = parse_config_flag(args, "check", &path)) return *rc;
  config::LoadResult r = config::load_file(path);
  if (!r.ok()) {
    for (const auto& e : r.errors) {
      // `rampart serve` would start and run this one app disabled: still a problem to fix.
      fprintf(stderr, "%s%s\n", e.to_string().c_str(),
              e.unavailable ? " (serve would start with this app disabled)" : "");
    }
    return kExitInvalid;
  }
  // The tokens (api.token / api.token_file, fleet.*) and the listen rule, as serve checks them.
  config::Credentials credentials;
  std::string error;
  if (!control::resolve_api_settings(*r.config, &credentials, &error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return kExitInvalid;
  }
  // dns_publish: the secret file as serve reads it; names outside the zone are named.
  if (const config::DnsPublishConfig& d = r.config->dns_publish; d.enabled()) {
    std::string secret;
    if (!config::read_tsig_secret(d.tsig_secret_file, &secret, &error)) {
      fprintf(stderr, "%s\n", error.c_str());
      return kExitInvalid;
    }
  }
  printf("%s: OK (%zu apps)\n", path.c_str(), r.config->apps.size());
  if (const config::DnsPublishConfig& d = r.config->dns_publish; d.enabled()) {
    printf("dns_publish: apps' dns.name in zone %s at %s (TSIG key %s, %s, ttl %u)\n",
           config::fqdn(d.zone).c_str(), d.server.c_str(), config::fqdn(d.tsig_name).c_str(),
           d.tsig_algorithm.c_str(), d.ttl);
    for (const auto& note : config::dns_publish_notes(*r.config))
      fprintf(stderr, "warning: dns_publish: %s\n", note.c_str());
  }
  for (const auto& note : config::safety_notes(*r.config))
    fprintf(stderr, "note: %s\n", note.c_str());
  if (const config::AnycastConfig& a = r.config->edge.anycast; !a.addresses.empty()) {
    std::string prefixes;
    for (const auto& ip : a.addresses)
      prefixes += (prefixes.empty() ? "" : ", ") + config::anycast_prefix(ip);
    printf("anycast: %s announced while healthy by BIRD at %s (protocol %s)\n", prefixes.c_str(),
           a.bird_socket.c_str(), a.protocol.c_str());
  }
  return kExitOk;
}

}  // namespace rampart::cli
