// Parsing and normalisation of a lockdown spec. The renderers are in render_*.cc.
#include "lockdown/lockdown.h"

#include <algorithm>
#include <tuple>

#include "config/parse.h"

namespace rampart::lockdown {
namespace {

bool set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Orders IPv4 before IPv6, then by address, then shorter prefixes first.
bool cidr_less(const net::Cidr& a, const net::Cidr& b) {
  auto key = [](const net::Cidr& c) {
    return std::make_tuple(c.base().is_v6(), c.base().as_v6_mapped(), c.prefix_len());
  };
  return key(a) < key(b);
}

// `inner` lies entirely within `outer` (same family).
bool covers(const net::Cidr& outer, const net::Cidr& inner) {
  return outer.base().family() == inner.base().family() &&
         outer.prefix_len() <= inner.prefix_len() && outer.contains(inner.base());
}

}  // namespace

std::optional<Format> parse_format(std::string_view text) {
  if (text == "nftables" || text == "nft") return Format::kNftables;
  if (text == "iptables") return Format::kIptables;
  if (text == "ufw") return Format::kUfw;
  return std::nullopt;
}

std::optional<net::Cidr> parse_edge_address(std::string_view text, std::string* error) {
  if (text.find('/') == std::string_view::npos) {
    auto ip = net::IpAddr::parse(text);
    if (!ip) {
      set_error(error, quoted(text) +
                           " is not an IP address or CIDR; expected e.g. 192.0.2.10, "
                           "192.0.2.0/28 or 2001:db8::10");
      return std::nullopt;
    }
    net::IpAddr addr = ip->unmapped();
    if (addr.is_unspecified()) {
      set_error(error, quoted(text) +
                           " is the unspecified address; expected the edge's egress "
                           "address, e.g. 192.0.2.10");
      return std::nullopt;
    }
    return net::Cidr::from(addr, addr.is_v4() ? 32 : 128);
  }
  net::IpAddr base;
  int len = 0;
  if (!config::parse_cidr(text, &base, &len, error)) return std::nullopt;
  if (len == 0) {
    set_error(error, quoted(text) +
                         " allows every address, which locks nothing down; expected the "
                         "edge's egress addresses, e.g. 192.0.2.10 or 192.0.2.0/28");
    return std::nullopt;
  }
  auto cidr = net::Cidr::from(base, len);
  if (!cidr) set_error(error, quoted(text) + " is not a valid prefix");
  return cidr;
}

std::optional<std::vector<config::Proto>> parse_protos(std::string_view text, std::string* error) {
  using config::Proto;
  if (text == "tcp") return std::vector<Proto>{Proto::kTcp};
  if (text == "udp") return std::vector<Proto>{Proto::kUdp};
  if (text == "both" || text == "tcp,udp" || text == "udp,tcp")
    return std::vector<Proto>{Proto::kTcp, Proto::kUdp};
  set_error(error, quoted(text) + " is not a protocol; expected tcp, udp or both");
  return std::nullopt;
}

bool parse_port_arg(std::string_view text, const std::vector<config::Proto>& protos,
                    std::vector<ProtoPorts>* out, std::string* error) {
  if (text.find('/') != std::string_view::npos) {
    config::Proto proto;
    config::PortRange range;
    std::string why;
    if (!config::parse_protocol(text, &proto, &range, &why))
      return set_error(error, why.empty() ? quoted(text) + " is not PROTO/PORT" : why);
    out->push_back({proto, range});
    return true;
  }
  std::string why;
  auto range = config::parse_port_range(text, &why);
  if (!range)
    return set_error(error, why.empty()
                                ? quoted(text) + " is not a port; expected 1-65535 or a range N-M"
                                : why);
  for (config::Proto p : protos) out->push_back({p, *range});
  return true;
}

std::vector<ProtoPorts> ports_from_config(const config::Config& config) {
  std::vector<ProtoPorts> ports;
  for (const config::App& app : config.apps) {
    for (const config::OriginDirect& od : app.origin_direct) ports.push_back({app.proto, od.ports});
    if (app.origin_dns) ports.push_back({app.proto, app.origin_port.value_or(app.ports)});
  }
  return ports;
}

void normalize(Spec* spec) {
  auto& src = spec->sources;
  std::sort(src.begin(), src.end(), cidr_less);
  std::vector<net::Cidr> kept;
  for (const net::Cidr& c : src) {
    bool inside =
        std::any_of(kept.begin(), kept.end(), [&](const net::Cidr& k) { return covers(k, c); });
    if (!inside) kept.push_back(c);
  }
  src = std::move(kept);

  auto& ports = spec->ports;
  std::sort(ports.begin(), ports.end(), [](const ProtoPorts& a, const ProtoPorts& b) {
    return std::make_tuple(a.proto, a.ports.first, a.ports.last) <
           std::make_tuple(b.proto, b.ports.first, b.ports.last);
  });
  std::vector<ProtoPorts> merged;
  for (const ProtoPorts& p : ports) {
    if (!merged.empty() && merged.back().proto == p.proto &&
        uint32_t{p.ports.first} <= uint32_t{merged.back().ports.last} + 1) {
      merged.back().ports.last = std::max(merged.back().ports.last, p.ports.last);
    } else {
      merged.push_back(p);
    }
  }
  ports = std::move(merged);
}

std::string check(const Spec& spec) {
  if (spec.sources.empty())
    return "no edge addresses; give --edge-ip CIDR or -c FILE with edge.egress_ips";
  if (spec.ports.empty())
    return "no ports; give --port N (or a range N-M), or -c FILE with apps that have "
           "origin_direct entries";
  return "";
}

std::vector<std::string> warnings(const Spec& spec) {
  std::vector<std::string> out;
  for (const ProtoPorts& p : spec.ports) {
    if (p.proto == config::Proto::kTcp && p.ports.contains(22)) {
      out.push_back(
          "tcp port 22 (SSH) is one of the locked-down ports: once applied, this host accepts "
          "SSH only from the edge addresses (that is, through the edge). Keep a console or "
          "another way in open while you check it.");
    }
  }
  return out;
}

std::string render(Format format, const Spec& spec, IptablesOutput iptables) {
  switch (format) {
    case Format::kNftables:
      return render_nftables(spec);
    case Format::kIptables:
      return render_iptables(spec, iptables);
    case Format::kUfw:
      return render_ufw(spec);
  }
  return "";
}

}  // namespace rampart::lockdown
