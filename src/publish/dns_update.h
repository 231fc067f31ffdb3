// One RFC 2136 UPDATE, signed with TSIG, built and sent with ldns (NLnet Labs' DNS library,
// Debian libldns-dev; docs/dns_publish.md): the records of a Diff added (class IN, the ttl) and
// deleted one by one ("delete an RR from an RRset", class NONE), in one message, so the server
// applies all or nothing. The answer's TSIG is verified. Blocking (up to the timeout); called
// only on the publisher's thread. No state: any thread may call it.
#pragma once

#include <chrono>
#include <string>

#include "config/dns_publish_config.h"
#include "publish/plan.h"

namespace rampart::publish {

struct UpdateTarget {
  config::DnsServer server;
  std::string zone;       // fqdn
  std::string key_name;   // fqdn
  std::string algorithm;  // "hmac-sha256"
  std::string secret;     // base64
  uint32_t ttl = 60;
  std::chrono::milliseconds timeout{2000};
};

struct UpdateResult {
  // ok; notauth (the server refused the key or signature: BADKEY, BADSIG, BADTIME); refused
  // (REFUSED: no update policy for this key or zone); rcode (another error code); timeout;
  // unreachable (the network said so at once); bad_reply (an answer that fails TSIG verification
  // or makes no sense).
  enum class Kind { kOk, kNotAuth, kRefused, kRcode, kTimeout, kUnreachable, kBadReply };
  Kind kind = Kind::kOk;
  std::string detail;  // a sentence for the log and /metrics ("NOTAUTH (TSIG error BADSIG)")
  bool ok() const { return kind == Kind::kOk; }
};
const char* result_label(UpdateResult::Kind k);  // "ok", "notauth", ... (the metric's label)

UpdateResult send_update(const UpdateTarget& target, const Diff& diff);

}  // namespace rampart::publish
