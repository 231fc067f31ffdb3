#include "guard/policy.h"

#include <cctype>

#include "core/fnv.h"
#include "guard/declarations.h"

namespace rampart::guard {

const AclMatch* ZoneRules::match(const net::IpAddr& ip, const GeoInfo& geo) const {
  if (const AclMatch* m = ips.lookup(ip)) return m;
  if (geo.asn != 0 && !asns.empty()) {
    auto it = asns.find(geo.asn);
    if (it != asns.end()) return &it->second;
  }
  if (geo.country[0] != '\0' && !countries.empty()) {
    auto it = countries.find(geo.country);
    if (it != countries.end()) return &it->second;
  }
  return nullptr;
}

void ZoneRules::lookup_geo(const net::IpAddr& ip, GeoInfo* out) const {
  if (country_db) country_db->lookup(ip, out);
  if (asn_db) asn_db->lookup(ip, out);
}

namespace {

std::shared_ptr<const GeoDb> open_db(const std::string& path, const char* what,
                                     std::vector<std::string>* warnings) {
  if (path.empty()) return nullptr;
  std::string error;
  auto db = GeoDb::open(path, &error);
  if (!db)
    warnings->push_back(std::string("geoip.") + what + ": " + error +
                        "; rules and events that need it see no " +
                        (what[0] == 'c' ? "country" : "ASN"));
  return db;
}

}  // namespace

std::shared_ptr<const ZoneRules> compile_zone(const config::Config& cfg,
                                              std::vector<std::string>* warnings,
                                              const ZoneRules* previous, int workers) {
  auto z = std::make_shared<ZoneRules>();
  std::unordered_map<std::string, std::shared_ptr<RuleHits>> kept;
  if (previous != nullptr)
    for (const auto& r : previous->rules) kept.emplace(r.id, r.hits);
  z->rules.reserve(cfg.ip_access_rules.size());
  for (const auto& rule : cfg.ip_access_rules) {
    auto it = kept.find(rule.id);
    z->rules.push_back({rule.id, it != kept.end() && it->second
                                     ? it->second
                                     : std::make_shared<RuleHits>(workers)});
    AclMatch m{rule.mode, rule.target, z->rules.back().hits.get()};
    switch (rule.target) {
      case config::AccessTarget::kIp:
      case config::AccessTarget::kIp6:
      case config::AccessTarget::kIpRange:
        if (auto c = net::Cidr::parse(rule.value)) {
          // Same prefix twice: a block beats a whitelist (fail closed).
          const AclMatch* old = z->ips.find(*c);
          if (old == nullptr || old->mode != config::AccessMode::kBlock) z->ips.insert(*c, m);
        }
        break;
      case config::AccessTarget::kCountry: {
        std::string cc = rule.value;
        for (char& ch : cc) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        auto [it, fresh] = z->countries.emplace(cc, m);
        if (!fresh && m.mode == config::AccessMode::kBlock) it->second = m;
        break;
      }
      case config::AccessTarget::kAsn: {
        std::string_view v = rule.value;
        if (v.size() > 2 && (v[0] == 'A' || v[0] == 'a')) v.remove_prefix(2);
        uint64_t n = 0;
        for (char ch : v) n = n * 10 + static_cast<uint64_t>(ch - '0');
        auto [it, fresh] = z->asns.emplace(static_cast<uint32_t>(n), m);
        if (!fresh && m.mode == config::AccessMode::kBlock) it->second = m;
        break;
      }
    }
  }
  z->country_db = open_db(cfg.geoip.country_db, "country_db", warnings);
  z->asn_db = open_db(cfg.geoip.asn_db, "asn_db", warnings);
  if (!z->countries.empty() && !z->country_db)
    warnings->push_back("ip_access_rules: country rules need geoip.country_db; they match nothing");
  if (!z->asns.empty() && !z->asn_db)
    warnings->push_back("ip_access_rules: asn rules need geoip.asn_db; they match nothing");
  return z;
}

uint64_t app_key(const std::string& app_id) {
  const uint64_t h = core::fnv1a(app_id);
  return h == 0 ? 1 : h;
}

std::shared_ptr<const AppPolicy> compile_app(const config::App& app,
                                             const config::ProtectionConfig& protection,
                                             std::shared_ptr<const ZoneRules> zone,
                                             const AppPolicy* previous,
                                             std::shared_ptr<telemetry::AppStats> stats) {
  auto p = std::make_shared<AppPolicy>();
  p->stats = std::move(stats);
  p->app_id = app.id;
  p->proto = app.proto;
  p->key = app_key(app.id);
  p->ip_firewall = app.ip_firewall;
  p->zone = std::move(zone);
  p->per_ip = protection.per_ip;
  p->v6_prefix = static_cast<int>(protection.ipv6_prefix);
  p->max_connections = protection.max_connections;
  p->autoban = protection.autoban;
  if (app.proto == config::Proto::kUdp) {
    for (uint16_t port : protection.udp_reflection_ports) p->reflection_ports.set(port);
    p->has_reflection_ports = !protection.udp_reflection_ports.empty();
  }
  p->validator = app.proto == config::Proto::kTcp ? app.validate : config::Validator::kNone;
  p->dry_run = dry_run_mask(protection.dry_run);
  p->connections = previous != nullptr && previous->connections
                       ? previous->connections
                       : std::make_shared<std::atomic<int64_t>>(0);
  for (const Filter* f : filter_chain_order()) {
    if (!f->configured(*p)) continue;
    const uint8_t hooks = f->decl().hooks;
    if (p->proto == config::Proto::kTcp) {
      if (hooks & kOnAccept) p->on_accept.push_back(f);
      if (hooks & kOnFirstBytes) p->on_first_bytes.push_back(f);
    } else if (hooks & kOnDatagram) {
      p->on_datagram.push_back(f);
    }
    if (f->decl().source_state && f->keeps_source_state(*p)) p->needs_steering = true;
  }
  return p;
}

}  // namespace rampart::guard
