// Origin lockdown (SPEC §1 `rampart lockdown`): firewall rules for the origin host that accept the
// app ports only from the edge's egress addresses and drop them from everyone else, rendered for
// nftables, iptables-restore or ufw. Other ports are never touched. Pure functions over values: any
// thread may call them; none throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "net/cidr.h"

namespace rampart::lockdown {

enum class Format { kNftables, kIptables, kUfw };

// "nftables" (also "nft"), "iptables", "ufw"; nullopt otherwise.
std::optional<Format> parse_format(std::string_view text);

// Which iptables text to print: a POSIX sh script that applies both families idempotently, or the
// bare iptables-restore / ip6tables-restore input of one family.
enum class IptablesOutput { kScript, kIpv4Restore, kIpv6Restore };

// A protocol and an inclusive port range.
struct ProtoPorts {
  config::Proto proto = config::Proto::kTcp;
  config::PortRange ports;
  bool operator==(const ProtoPorts&) const = default;
};

// What to lock down. Build it with the parsers below, then normalize().
struct Spec {
  std::vector<net::Cidr> sources;  // the edge's egress addresses/prefixes
  std::vector<ProtoPorts> ports;   // the app ports on the origin
  std::string generated_by;        // the command line, quoted in the header ("" = none)
};

// An edge address: "192.0.2.10", "2001:db8::10" (a host) or "192.0.2.0/28", "2001:db8::/64" (host
// bits must be zero). A prefix of length 0 is refused: it would allow everyone.
std::optional<net::Cidr> parse_edge_address(std::string_view text, std::string* error = nullptr);

// "--proto" values: "tcp", "udp", or both as "tcp,udp" / "both".
std::optional<std::vector<config::Proto>> parse_protos(std::string_view text,
                                                       std::string* error = nullptr);

// One --port value: "22", "1000-2000", or with an explicit protocol "udp/53", "tcp/1000-2000".
// Without a protocol it applies to each of `protos`. Appends to `out`.
bool parse_port_arg(std::string_view text, const std::vector<config::Proto>& protos,
                    std::vector<ProtoPorts>* out, std::string* error = nullptr);

// The origin ports of a config's apps: each origin_direct entry's port(s) (and origin_port of
// origin_dns apps) with the app's protocol.
std::vector<ProtoPorts> ports_from_config(const config::Config& config);

// Sorts and de-duplicates: sources contained in another source are dropped; port ranges of one
// protocol that overlap or touch are merged. Render functions expect a normalized spec.
void normalize(Spec* spec);

// Why a spec cannot be rendered ("" when it can): no sources, no ports.
std::string check(const Spec& spec);

// Human warnings about the spec (e.g. tcp port 22 is locked down: SSH only through the edge). They
// are also embedded as comments in the rendered rules.
std::vector<std::string> warnings(const Spec& spec);

// The rules text, starting with comments that say what it is and how to apply it.
std::string render(Format format, const Spec& spec,
                   IptablesOutput iptables = IptablesOutput::kScript);
std::string render_nftables(const Spec& spec);
std::string render_iptables(const Spec& spec, IptablesOutput output);
std::string render_ufw(const Spec& spec);

// The nftables table and the iptables chain the rules live in.
inline constexpr const char* kNftTable = "rampart_lockdown";
inline constexpr const char* kIptablesChain = "RAMPART-LOCKDOWN";

}  // namespace rampart::lockdown
