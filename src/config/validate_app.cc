// validate_app(): the per-app rules of SPEC §2 with Spectrum's error codes.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/enum_names.h"
#include "config/file_read.h"
#include "config/parse.h"
#include "config/safety.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

namespace rampart::config {
namespace {

class AppChecker {
 public:
  AppChecker(App& app, const std::string& prefix, std::vector<ConfigError>& errors)
      : app_(app), prefix_(prefix), errors_(errors) {}

  void run() {
    check_id();
    check_ports();
    check_origins();
    check_dns();
    check_edge_ips();
    check_protocol_options();
    check_load_balancing();
    check_timeouts();
    check_tls_settings();
    if (app_.protection) validate_protection(*app_.protection, path("protection"), errors_);
  }

 private:
  std::string path(std::string_view field) const { return child_path(prefix_, field); }
  void add(const std::string& p, std::string message, int code = 0) {
    errors_.push_back({p, std::move(message), code});
  }
  const char* proto() const { return to_string(app_.proto); }
  static std::string range_text(const PortRange& r) {
    if (r.first == r.last) return std::to_string(r.first);
    return std::to_string(r.first) + "-" + std::to_string(r.last);
  }

  void check_id() {
    if (app_.id.empty()) {
      app_.id = generate_id();
    } else if (!is_valid_id(app_.id)) {
      add(path("id"),
          "\"" + app_.id + "\" is not a valid id; expected 1-64 of letters, digits, '_', '.', '-'");
    }
  }

  void check_ports() {
    if (app_.ports.first == 0 || app_.ports.first > app_.ports.last)
      add(path("protocol"), "edge ports " + range_text(app_.ports) +
                                " are invalid; expected tcp/PORT or udp/FIRST-LAST with ports "
                                "1-65535");
  }

  // Origin ranges map to the edge range at the same offset, so their sizes must match.
  void check_origin_range(const PortRange& origin, const std::string& p, int code) {
    if (origin.size() == 1 || origin.size() == app_.ports.size() || app_.ports.first == 0) return;
    add(p,
        "origin port range " + range_text(origin) + " has " + std::to_string(origin.size()) +
            " ports but the edge range " + range_text(app_.ports) + " has " +
            std::to_string(app_.ports.size()) +
            "; edge ports map to origin ports at the same offset, so give a range of the "
            "same size or a single port",
        code);
  }

  void check_origins() {
    bool direct = !app_.origin_direct.empty();
    bool dns = app_.origin_dns.has_value();
    if (direct && dns) {
      add(prefix_, "both origin_direct and origin_dns are set; give exactly one of them",
          kErrOriginConfig);
    } else if (!direct && !dns) {
      add(prefix_,
          std::string("no origin; give origin_direct (e.g. [\"") + proto() +
              "://192.0.2.1:22\"]) or origin_dns with origin_port",
          kErrOriginConfig);
    }
    if (!dns && app_.origin_port)
      add(path("origin_port"),
          "origin_port is only used with origin_dns; put the port in each origin_direct entry",
          kErrOriginConfig);
    const std::string scheme = std::string(proto()) + "://";
    for (size_t i = 0; i < app_.origin_direct.size(); ++i) {
      const OriginDirect& o = app_.origin_direct[i];
      std::string p = index_path(path("origin_direct"), i);
      if (!o.text.empty() && o.text.rfind(scheme, 0) != 0) {
        add(p,
            "invalid origin \"" + o.text + "\": the app protocol is " + proto() +
                ", so the origin must use " + scheme,
            kErrOriginAddress);
      } else if (o.ports.first == 0 || o.ports.first > o.ports.last) {
        add(p,
            "invalid origin \"" + o.text + "\": expected " + scheme + "IP:PORT with ports " +
                "1-65535",
            kErrOriginAddress);
      } else if (o.ip.is_unspecified()) {
        add(p, "invalid origin \"" + o.text + "\": the unspecified address cannot be an origin",
            kErrOriginAddress);
      } else if (never_an_origin(origin_scope(o.ip))) {
        add(p,
            "invalid origin \"" + o.text + "\": " + scope_text(origin_scope(o.ip)) +
                " cannot be an origin; give the address of one host",
            kErrOriginAddress);
      } else {
        check_origin_range(o.ports, p, kErrOriginAddress);
      }
      for (size_t j = 0; j < i; ++j)
        if (o.ports.first != 0 && o.ip == app_.origin_direct[j].ip &&
            o.ports == app_.origin_direct[j].ports) {
          add(p, "origin \"" + o.text + "\" is listed twice; give each origin once",
              kErrOriginAddress);
          break;
        }
    }
    if (!dns) return;
    const OriginDns& od = *app_.origin_dns;
    if (!is_valid_hostname(od.name))
      add(path("origin_dns.name"),
          "\"" + od.name + "\" is not a valid hostname; expected e.g. origin.example.com",
          kErrOriginDns);
    if (od.type != "" && od.type != "A" && od.type != "AAAA")
      add(path("origin_dns.type"), "invalid value \"" + od.type + "\"; expected \"\", A or AAAA",
          kErrOriginDns);
    if (!app_.origin_port) {
      add(path("origin_port"),
          "missing; origin_dns needs origin_port (a port such as 22 or a "
          "range of the edge range's size)",
          kErrOriginDns);
    } else if (app_.origin_port->first == 0 || app_.origin_port->first > app_.origin_port->last) {
      add(path("origin_port"), "invalid port range; expected ports 1-65535", kErrOriginDns);
    } else {
      check_origin_range(*app_.origin_port, path("origin_port"), kErrOriginDns);
    }
  }

  void check_dns() {
    const DnsRecord& d = app_.dns;
    if (d.type.empty() && d.name.empty()) return;  // dns is optional for a self-hosted edge
    if (d.type != "CNAME" && d.type != "ADDRESS")
      add(path("dns.type"), "invalid DNS type \"" + d.type + "\"; expected CNAME or ADDRESS",
          kErrDns);
    if (!is_valid_hostname(d.name, true))
      add(path("dns.name"),
          "\"" + d.name +
              "\" is not a valid hostname; expected e.g. "
              "ssh.example.com",
          kErrDns);
  }

  void check_edge_ips() {
    const EdgeIps& e = app_.edge_ips;
    std::string p = path("edge_ips.ips");
    if (e.type == EdgeIpsType::kDynamic) {
      if (!e.ips.empty())
        add(p,
            "ips is for type: static; type: dynamic uses edge.listen (choose with "
            "connectivity)");
      return;
    }
    if (e.ips.empty()) add(p, "missing; type: static needs at least one address");
    for (size_t i = 0; i < e.ips.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (e.ips[i] == e.ips[j]) {
          add(index_path(p, i), e.ips[i].to_string() + " is listed twice");
          break;
        }
  }

  void check_protocol_options() {
    bool tcp = app_.proto == Proto::kTcp;
    if (tcp && app_.proxy_protocol == ProxyProtocol::kSimple)
      add(path("proxy_protocol"),
          "simple (Simple Proxy Protocol) is UDP only; for tcp apps use off, v1 or v2");
    if (!tcp && app_.proxy_protocol == ProxyProtocol::kV1)
      add(path("proxy_protocol"), "v1 is TCP only; for udp apps use off, v2 or simple");
    if (!tcp && app_.tls != TlsMode::kOff)
      add(path("tls"),
          std::string("tls ") + to_string(app_.tls) + " is TCP only; udp apps must use tls: off");
    // http/https/worker are Spectrum's HTTP pipeline (caching, WAF) and Workers: SPEC §3 has
    // Cloudflare's fields stored and echoed, never refused, so they are accepted, proxied as
    // direct, and the API says so in `messages` (control/apps_api.cc).
    if (std::find(kTrafficTypes.begin(), kTrafficTypes.end(), app_.traffic_type) ==
        kTrafficTypes.end())
      add(path("traffic_type"), "invalid value \"" + app_.traffic_type +
                                    "\"; expected one of: direct, http, https, worker");
    if (!tcp && app_.validate != Validator::kNone)
      add(path("validate"), std::string("validate: ") + to_string(app_.validate) +
                                " checks a TCP stream; udp apps support only validate: none");
  }

  void check_load_balancing() {
    const HealthCheck& hc = app_.load_balancing.health_check;
    std::string p = path("load_balancing.health_check");
    if (!hc.enabled) return;
    if (hc.interval.count() <= 0)
      add(child_path(p, "interval"), "must be more than 0; expected e.g. 5s");
    if (hc.timeout.count() <= 0)
      add(child_path(p, "timeout"), "must be more than 0; expected e.g. 2s");
    else if (hc.interval.count() > 0 && hc.timeout > hc.interval)
      add(child_path(p, "timeout"),
          "is longer than interval; a check must end before the next "
          "one starts");
    if (hc.rise == 0) add(child_path(p, "rise"), "must be 1 or more");
    if (hc.fall == 0) add(child_path(p, "fall"), "must be 1 or more");
  }

  void check_timeouts() {
    const Timeouts& t = app_.timeouts;
    if (t.connect.count() <= 0) add(path("timeouts.connect"), "must be more than 0; e.g. 5s");
    if (t.idle.count() <= 0) add(path("timeouts.idle"), "must be more than 0; e.g. 1h");
    if (t.udp_flow_idle.count() <= 0)
      add(path("timeouts.udp_flow_idle"), "must be more than 0; e.g. 60s");
    if (t.dns_hold.count() <= 0) add(path("timeouts.dns_hold"), "must be more than 0; e.g. 1h");
  }

  // Files must be readable now: a certificate that cannot be read at load would otherwise only
  // show when the first client connects. Their contents are checked when the snapshot is built.
  // A file that exists now but not later (a certificate removed before a restart) disables
  // this one app at run time: the error is marked `unavailable` (see ConfigError).
  void check_readable(const std::string& file, const std::string& p) {
    std::string why;
    if (file.empty()) {
      add(p, "empty; expected a path to a PEM file");
    } else if (::access(file.c_str(), R_OK) != 0) {
      errors_.push_back({p, "cannot read " + file + ": " + std::strerror(errno), 0, true});
    } else if (!check_regular_file(file, kMaxPemFileBytes, &why)) {
      errors_.push_back({p, "cannot use " + file + ": " + why, 0, true});
    }
  }

  void check_tls_settings() {
    const TlsSettings& t = app_.tls_settings;
    const std::string p = path("tls_settings");
    if (t == TlsSettings{}) return;
    if (app_.proto != Proto::kTcp) {
      add(p, "tls_settings is TCP only; udp apps must not set it");
      return;
    }
    if (t.min_version != "1.2" && t.min_version != "1.3")
      add(child_path(p, "min_version"),
          "invalid value \"" + t.min_version + "\"; expected \"1.2\" or \"1.3\"");
    for (size_t i = 0; i < t.certificates.size(); ++i) {
      const std::string cp = index_path(child_path(p, "certificates"), i);
      check_readable(t.certificates[i].certificate, child_path(cp, "certificate"));
      check_readable(t.certificates[i].private_key, child_path(cp, "private_key"));
    }
    if (!t.origin_ca_file.empty())
      check_readable(t.origin_ca_file, child_path(p, "origin_ca_file"));
  }

  App& app_;
  const std::string& prefix_;
  std::vector<ConfigError>& errors_;
};

}  // namespace

bool validate_app(App& app, const std::string& path_prefix, std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  AppChecker(app, path_prefix, errors).run();
  return errors.size() == before;
}

}  // namespace rampart::config
