#include "publish/dns_update.h"

#include <ldns/ldns.h>

#include <memory>

namespace rampart::publish {
namespace {

struct ResolverFree {
  void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct ListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

// An A/AAAA RR of `r`: class IN with the ttl (add), or class NONE with ttl 0 (delete this one
// RR from its RRset, RFC 2136 2.5.4).
ldns_rr* make_rr(const Record& r, uint32_t ttl, bool remove) {
  ldns_rr* rr = ldns_rr_new_frm_type(r.ip.is_v4() ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
  ldns_rdf* owner = ldns_dname_new_frm_str(r.name.c_str());
  ldns_rdf* addr = ldns_rdf_new_frm_str(r.ip.is_v4() ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                        r.ip.to_string().c_str());
  if (rr == nullptr || owner == nullptr || addr == nullptr) {
    ldns_rr_free(rr);
    ldns_rdf_deep_free(owner);
    ldns_rdf_deep_free(addr);
    return nullptr;
  }
  ldns_rr_set_owner(rr, owner);
  ldns_rr_set_rdf(rr, addr, 0);
  ldns_rr_set_class(rr, remove ? LDNS_RR_CLASS_NONE : LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, remove ? 0 : ttl);
  return rr;
}

const char* tsig_error_name(uint16_t e) {
  switch (e) {
    case 16:
      return "BADSIG";
    case 17:
      return "BADKEY";
    case 18:
      return "BADTIME";
    case 22:
      return "BADTRUNC";
    default:
      return nullptr;
  }
}

// The TSIG error field of an answer (RFC 8945: the sixth rdata field), 0 when absent.
uint16_t tsig_error(const ldns_pkt* reply) {
  const ldns_rr* tsig = ldns_pkt_tsig(reply);
  if (tsig == nullptr || ldns_rr_rd_count(tsig) < 6) return 0;
  const ldns_rdf* f = ldns_rr_rdf(tsig, 5);
  return f != nullptr && ldns_rdf_size(f) == 2 ? ldns_rdf2native_int16(f) : 0;
}

std::string rcode_name(ldns_pkt_rcode rc) {
  const ldns_lookup_table* t = ldns_lookup_by_id(ldns_rcodes, rc);
  return t != nullptr ? t->name : "RCODE " + std::to_string(static_cast<int>(rc));
}

}  // namespace

const char* result_label(UpdateResult::Kind k) {
  switch (k) {
    case UpdateResult::Kind::kOk:
      return "ok";
    case UpdateResult::Kind::kNotAuth:
      return "notauth";
    case UpdateResult::Kind::kRefused:
      return "refused";
    case UpdateResult::Kind::kRcode:
      return "rcode";
    case UpdateResult::Kind::kTimeout:
      return "timeout";
    case UpdateResult::Kind::kUnreachable:
      return "unreachable";
    case UpdateResult::Kind::kBadReply:
      return "bad_reply";
  }
  return "rcode";
}

UpdateResult send_update(const UpdateTarget& t, const Diff& diff) {
  using Kind = UpdateResult::Kind;
  std::unique_ptr<ldns_rr_list, ListFree> updates(ldns_rr_list_new());
  for (const Record& r : diff.remove) {
    ldns_rr* rr = make_rr(r, t.ttl, true);
    if (rr == nullptr) return {Kind::kBadReply, "cannot encode " + r.to_string()};
    ldns_rr_list_push_rr(updates.get(), rr);
  }
  for (const Record& r : diff.add) {
    ldns_rr* rr = make_rr(r, t.ttl, false);
    if (rr == nullptr) return {Kind::kBadReply, "cannot encode " + r.to_string()};
    ldns_rr_list_push_rr(updates.get(), rr);
  }
  ldns_rdf* zone = ldns_dname_new_frm_str(t.zone.c_str());
  if (zone == nullptr) return {Kind::kBadReply, "cannot encode the zone " + t.zone};
  // The packet takes the zone name and copies the update list.
  std::unique_ptr<ldns_pkt, PktFree> pkt(
      ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
  if (!pkt) return {Kind::kBadReply, "cannot build the UPDATE message"};

  std::unique_ptr<ldns_resolver, ResolverFree> res(ldns_resolver_new());
  std::unique_ptr<ldns_rdf, RdfFree> ns(ldns_rdf_new_frm_str(
      t.server.ip.is_v4() ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, t.server.ip.to_string().c_str()));
  if (!res || !ns || ldns_resolver_push_nameserver(res.get(), ns.get()) != LDNS_STATUS_OK)
    return {Kind::kBadReply, "cannot set up the resolver"};
  ldns_resolver_set_port(res.get(), t.server.port);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(t.timeout - secs);
  ldns_resolver_set_timeout(
      res.get(), {static_cast<time_t>(secs.count()), static_cast<suseconds_t>(usecs.count())});
  ldns_resolver_set_retry(res.get(), 1);
  ldns_resolver_set_retrans(res.get(), 1);
  ldns_resolver_set_fallback(res.get(), false);
  // Many records make a large message: TCP then (a UDP request must fit one datagram).
  ldns_resolver_set_usevc(res.get(), diff.add.size() + diff.remove.size() > 16);
  ldns_resolver_set_tsig_keyname(res.get(), t.key_name.c_str());
  ldns_resolver_set_tsig_algorithm(res.get(), (t.algorithm + ".").c_str());
  ldns_resolver_set_tsig_keydata(res.get(), t.secret.c_str());
  if (ldns_update_pkt_tsig_add(pkt.get(), res.get()) != LDNS_STATUS_OK)
    return {Kind::kBadReply,
            "cannot sign the UPDATE with the TSIG key (algorithm " + t.algorithm + ")"};

  const auto start = std::chrono::steady_clock::now();
  ldns_pkt* raw_reply = nullptr;
  const ldns_status st = ldns_resolver_send_pkt(&raw_reply, res.get(), pkt.get());
  std::unique_ptr<ldns_pkt, PktFree> reply(raw_reply);
  const std::string server = t.server.ip.to_string() + " port " + std::to_string(t.server.port);
  if (!reply) {
    const bool slow = std::chrono::steady_clock::now() - start >= t.timeout;
    return {
        slow ? Kind::kTimeout : Kind::kUnreachable,
        (slow ? "no answer from " + server + " within " + std::to_string(t.timeout.count()) + " ms"
              : server + " unreachable") +
            " (" + ldns_get_errorstr_by_id(st) + ")"};
  }
  const ldns_pkt_rcode rc = ldns_pkt_get_rcode(reply.get());
  if (rc == LDNS_RCODE_NOTAUTH) {
    const char* te = tsig_error_name(tsig_error(reply.get()));
    return {Kind::kNotAuth, "NOTAUTH from " + server +
                                (te ? std::string(" (TSIG error ") + te + ")" : "") +
                                ": the server does not accept key " + t.key_name +
                                " with this secret and algorithm"};
  }
  if (rc == LDNS_RCODE_REFUSED)
    return {Kind::kRefused, "REFUSED from " + server + ": no update policy lets key " + t.key_name +
                                " change zone " + t.zone};
  if (rc != LDNS_RCODE_NOERROR)
    return {Kind::kRcode, rcode_name(rc) + " from " + server + " for zone " + t.zone};
  if (st != LDNS_STATUS_OK)
    return {Kind::kBadReply, "the answer of " + server + " fails verification (" +
                                 ldns_get_errorstr_by_id(st) + ")"};
  return {Kind::kOk, ""};
}

}  // namespace rampart::publish
