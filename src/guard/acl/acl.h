// The IP access rules filter (`ip_access_rules`, apps with ip_firewall): blocks by ip / ip6 /
// ip_range, country or ASN (the most specific rule wins, ZoneRules::match); a whitelist rule
// lets the source skip the per-source filters after it. One evaluation for TCP and UDP.
// Stateless; any worker thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::acl {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kBlockIp, "block_ip", "BLOCK_IP", true},
    {Reason::kBlockCountry, "block_country", "BLOCK_COUNTRY", false},
    {Reason::kBlockAsn, "block_asn", "BLOCK_ASN", false},
};
inline constexpr FilterDecl kDecl{FilterId::kAcl, kReasons, kOnAccept | kOnDatagram, false, false};

class AclFilter final : public Filter {
 public:
  constexpr AclFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy& p) const override;
  Verdict on_accept(Call& c) const override;
  Verdict on_datagram(Call& c) const override;
};

}  // namespace rampart::guard::acl
