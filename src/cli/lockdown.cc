// `rampart lockdown`: print origin firewall rules that accept the app ports only from the edge's
// egress addresses (SPEC §1). Flag parsing only; the rules come from src/lockdown/.
#include "lockdown/lockdown.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "config/parse.h"

namespace rampart::cli {
namespace {

constexpr const char* kLockdownUsage =
    "usage: rampart lockdown [--format nftables|iptables|ufw] [--port N|N-M|udp/N ...]\n"
    "                        [--proto tcp|udp|both] (--edge-ip CIDR ... | -c FILE)\n"
    "                        [--family ipv4|ipv6]\n"
    "\n"
    "Prints firewall rules for the origin host that accept the app ports only from the edge's\n"
    "egress addresses and drop them from everyone else; other ports are not touched.\n"
    "\n"
    "  --format F      nftables (default; one atomic `nft -f` ruleset), iptables (an sh script\n"
    "                  feeding iptables-restore/ip6tables-restore --noflush) or ufw (ufw "
    "commands)\n"
    "  --port P        a port, a range N-M or PROTO/PORT; repeatable, or comma-separated.\n"
    "                  Default with -c: the origin ports of the config's apps\n"
    "  --proto P       protocol of --port values without one: tcp (default), udp or both\n"
    "  --edge-ip CIDR  an edge egress address or prefix (IPv4 or IPv6); repeatable.\n"
    "                  Default with -c: the config's edge.egress_ips\n"
    "  -c FILE         a rampart config to take the addresses and ports from\n"
    "  --family F      with --format iptables: print the bare iptables-restore (ipv4) or\n"
    "                  ip6tables-restore (ipv6) input instead of the script\n";

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || strchr("-_./:,=@%+", c))) plain = false;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct LockdownFlags {
  std::string format = "nftables";
  std::vector<std::string> ports;
  std::optional<std::string> proto;
  std::vector<std::string> edge_ips;
  std::string config_path;
  std::optional<std::string> family;
};

// Parses the flags into *f. nullopt: go on; else the exit code (Flags::parse).
std::optional<int> parse_flags(const Args& args, LockdownFlags* f) {
  Flags flags("lockdown");
  CLI::App& app = flags.app();
  app.add_option("-f,--format", f->format);
  flags.add_list("-p,--port", &f->ports);
  flags.add_list("--edge-ip", &f->edge_ips);
  app.add_option("-c,--config", f->config_path);
  app.add_option("--proto", f->proto);
  app.add_option("--family", f->family);
  return flags.parse(args, kLockdownUsage);
}

}  // namespace

int cmd_lockdown(const Args& args) {
  LockdownFlags f;
  if (auto rc = parse_flags(args, &f)) return *rc;
  auto format = lockdown::parse_format(f.format);
  if (!format) {
    fprintf(stderr, "--format: \"%s\" is not a format; expected nftables, iptables or ufw\n",
            f.format.c_str());
    return kExitUsage;
  }
  lockdown::IptablesOutput ipt = lockdown::IptablesOutput::kScript;
  if (f.family) {
    if (*format != lockdown::Format::kIptables) {
      fprintf(stderr, "--family: only applies to --format iptables\n");
      return kExitUsage;
    }
    if (*f.family == "ipv4" || *f.family == "4") {
      ipt = lockdown::IptablesOutput::kIpv4Restore;
    } else if (*f.family == "ipv6" || *f.family == "6") {
      ipt = lockdown::IptablesOutput::kIpv6Restore;
    } else {
      fprintf(stderr, "--family: \"%s\" is not a family; expected ipv4 or ipv6\n",
              f.family->c_str());
      return kExitUsage;
    }
  }
  std::vector<config::Proto> protos = {config::Proto::kTcp};
  if (f.proto) {
    std::string why;
    auto p = lockdown::parse_protos(*f.proto, &why);
    if (!p) {
      fprintf(stderr, "--proto: %s\n", why.c_str());
      return kExitUsage;
    }
    protos = *p;
  }

  lockdown::Spec spec;
  for (const std::string& text : f.edge_ips) {
    std::string why;
    auto cidr = lockdown::parse_edge_address(text, &why);
    if (!cidr) {
      fprintf(stderr, "--edge-ip: %s\n", why.c_str());
      return kExitInvalid;
    }
    spec.sources.push_back(*cidr);
  }
  for (const std::string& text : f.ports) {
    std::string why;
    if (!lockdown::parse_port_arg(text, protos, &spec.ports, &why)) {
      fprintf(stderr, "--port: %s\n", why.c_str());
      return kExitInvalid;
    }
  }

  if (!f.config_path.empty()) {
    config::LoadResult r = config::load_file(f.config_path);
    if (!r.ok()) {
      for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.to_string().c_str());
      return kExitInvalid;
    }
    if (f.edge_ips.empty()) {
      const auto& egress = r.config->edge.egress_ips;
      for (size_t i = 0; i < egress.size(); ++i) {
        std::string why;
        auto cidr = lockdown::parse_edge_address(egress[i], &why);
        if (!cidr) {
          fprintf(stderr, "edge.egress_ips[%zu]: %s\n", i, why.c_str());
          return kExitInvalid;
        }
        spec.sources.push_back(*cidr);
      }
      if (egress.empty()) {
        fprintf(stderr,
                "edge.egress_ips: empty in %s; set the edge's egress addresses there or pass "
                "--edge-ip CIDR\n",
                f.config_path.c_str());
        return kExitInvalid;
      }
    }
    if (f.ports.empty()) {
      for (const auto& p : lockdown::ports_from_config(*r.config)) {
        // --proto, when given, narrows the config's ports to those protocols.
        bool wanted = !f.proto;
        for (config::Proto proto : protos) wanted = wanted || p.proto == proto;
        if (wanted) spec.ports.push_back(p);
      }
      if (spec.ports.empty()) {
        fprintf(stderr, "--port: %s has no app origin ports%s; give --port N\n",
                f.config_path.c_str(), f.proto ? " of that protocol" : "");
        return kExitInvalid;
      }
    }
  }
  if (spec.sources.empty()) {
    fprintf(stderr, "--edge-ip: no edge addresses; give --edge-ip CIDR or -c FILE\n");
    return kExitInvalid;
  }
  if (spec.ports.empty()) {
    fprintf(stderr, "--port: no ports; give --port N (or N-M), or -c FILE with apps\n");
    return kExitInvalid;
  }
  lockdown::normalize(&spec);
  spec.generated_by = "rampart lockdown";
  for (const auto& a : args) spec.generated_by += " " + shell_quote(a);

  for (const auto& w : lockdown::warnings(spec))
    fprintf(stderr, "rampart lockdown: warning: %s\n", w.c_str());
  std::string text = lockdown::render(*format, spec, ipt);
  if (fwrite(text.data(), 1, text.size(), stdout) != text.size() || fflush(stdout) != 0) {
    fprintf(stderr, "rampart lockdown: writing the rules failed: %s\n", strerror(errno));
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace rampart::cli
