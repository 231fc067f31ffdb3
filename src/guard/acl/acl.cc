#include "guard/acl/acl.h"

#include "guard/guard.h"
#include "guard/policy.h"

namespace rampart::guard::acl {

namespace {

Reason block_reason(config::AccessTarget t) {
  switch (t) {
    case config::AccessTarget::kCountry:
      return Reason::kBlockCountry;
    case config::AccessTarget::kAsn:
      return Reason::kBlockAsn;
    default:
      return Reason::kBlockIp;
  }
}

const char* whitelist_rule(config::AccessTarget t) {
  switch (t) {
    case config::AccessTarget::kCountry:
      return "WHITELIST_COUNTRY";
    case config::AccessTarget::kAsn:
      return "WHITELIST_ASN";
    default:
      return "WHITELIST_IP";
  }
}

// The one evaluation of the rules for `c.ip` with its `geo`; *rule gets the
// ClientMatchedIpFirewall value when a rule matched.
Verdict judge(Call& c, const GeoInfo& geo, const char** rule) {
  const AclMatch* m = c.p.zone->match(c.ip, geo);
  if (m == nullptr) return Verdict::kContinue;
  if (m->mode == config::AccessMode::kWhitelist) {
    *rule = whitelist_rule(m->target);
    return Verdict::kAllowRest;
  }
  c.reason = block_reason(m->target);
  *rule = reason_rule(c.reason);
  // Counted where the rule is known; a dry run refuses nothing, so it counts nothing here.
  if (m->hits != nullptr && !c.p.dry(FilterId::kAcl)) m->hits->refused(c.guard.worker());
  return Verdict::kDrop;
}

}  // namespace

bool AclFilter::configured(const AppPolicy& p) const {
  return p.ip_firewall && p.zone != nullptr;
}

Verdict AclFilter::on_accept(Call& c) const {
  // Events carry the rule that was evaluated: NONE when none matched (also in dry-run).
  c.admission->rule = "NONE";
  static const GeoInfo kNoGeo;
  return judge(c, c.geo != nullptr ? *c.geo : kNoGeo, &c.admission->rule);
}

Verdict AclFilter::on_datagram(Call& c) const {
  const ZoneRules& zone = *c.p.zone;
  if (zone.empty()) return Verdict::kContinue;
  GeoInfo geo;
  if (zone.has_geo_rules()) zone.lookup_geo(c.ip, &geo);
  const char* rule = nullptr;
  return judge(c, geo, &rule);
}

}  // namespace rampart::guard::acl
