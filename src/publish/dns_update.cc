#include "publish/dns_update.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
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
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct WireFree {
  void operator()(uint8_t* p) const { free(p); }
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

  ldns_pkt_set_random_id(pkt.get());
  // The resolver object only carries the key for ldns_update_pkt_tsig_add; the message goes out
  // through ldns_udp_send / ldns_tcp_send below, so that an answer refusing the key (unsigned,
  // NOTAUTH with the TSIG error) is read, not dropped as unverifiable.
  std::unique_ptr<ldns_resolver, ResolverFree> res(ldns_resolver_new());
  if (!res) return {Kind::kBadReply, "cannot set up the resolver"};
  ldns_resolver_set_tsig_keyname(res.get(), t.key_name.c_str());
  ldns_resolver_set_tsig_algorithm(res.get(), (t.algorithm + ".").c_str());
  ldns_resolver_set_tsig_keydata(res.get(), t.secret.c_str());
  if (ldns_update_pkt_tsig_add(pkt.get(), res.get()) != LDNS_STATUS_OK)
    return {Kind::kBadReply,
            "cannot sign the UPDATE with the TSIG key (algorithm " + t.algorithm + ")"};
  const ldns_rr* sent_tsig = ldns_pkt_tsig(pkt.get());
  if (sent_tsig == nullptr || ldns_rr_rd_count(sent_tsig) < 4)
    return {Kind::kBadReply, "the signed UPDATE has no TSIG record"};

  std::unique_ptr<ldns_buffer, BufferFree> wire(ldns_buffer_new(LDNS_MAX_PACKETLEN));
  if (!wire || ldns_pkt2buffer_wire(wire.get(), pkt.get()) != LDNS_STATUS_OK)
    return {Kind::kBadReply, "cannot encode the UPDATE message"};
  sockaddr_storage to{};
  socklen_t to_len = 0;
  if (t.server.ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&to);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(t.server.port);
    std::memcpy(&sin->sin_addr, t.server.ip.bytes(), 4);
    to_len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&to);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(t.server.port);
    std::memcpy(&sin6->sin6_addr, t.server.ip.bytes(), 16);
    to_len = sizeof(sockaddr_in6);
  }
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(t.timeout - secs);
  timeval tv{static_cast<time_t>(secs.count()), static_cast<suseconds_t>(usecs.count())};
  // A UDP request must fit one datagram: a large update goes over TCP.
  const bool tcp = ldns_buffer_position(wire.get()) > 512;
  const auto start = std::chrono::steady_clock::now();
  uint8_t* answer = nullptr;
  size_t answer_size = 0;
  const ldns_status st = tcp ? ldns_tcp_send(&answer, wire.get(), &to, to_len, tv, &answer_size)
                             : ldns_udp_send(&answer, wire.get(), &to, to_len, tv, &answer_size);
  std::unique_ptr<uint8_t, WireFree> answer_owner(answer);
  const std::string server = t.server.ip.to_string() + " port " + std::to_string(t.server.port);
  if (st != LDNS_STATUS_OK || answer == nullptr) {
    const bool slow = std::chrono::steady_clock::now() - start >= t.timeout;
    return {
        slow ? Kind::kTimeout : Kind::kUnreachable,
        (slow ? "no answer from " + server + " within " + std::to_string(t.timeout.count()) + " ms"
              : server + " unreachable") +
            " (" + ldns_get_errorstr_by_id(st) + ")"};
  }
  ldns_pkt* raw_reply = nullptr;
  if (ldns_wire2pkt(&raw_reply, answer, answer_size) != LDNS_STATUS_OK || raw_reply == nullptr)
    return {Kind::kBadReply, "the answer of " + server + " is not a DNS message"};
  std::unique_ptr<ldns_pkt, PktFree> reply(raw_reply);
  if (ldns_pkt_id(reply.get()) != ldns_pkt_id(pkt.get()))
    return {Kind::kBadReply, "the answer of " + server + " has another message id"};
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
  // A success must be signed with the same key (RFC 8945 5.3): an unsigned or forged NOERROR
  // would make this edge believe records exist that do not.
  if (!ldns_pkt_tsig_verify(reply.get(), answer, answer_size, t.key_name.c_str(), t.secret.c_str(),
                            ldns_rr_rdf(sent_tsig, 3)))
    return {Kind::kBadReply, "the answer of " + server + " fails TSIG verification"};
  return {Kind::kOk, ""};
}

}  // namespace rampart::publish
