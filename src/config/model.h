// The configuration model: plain structs, filled by the YAML (and later JSON) parsers and
// checked by validate(). Values only; any thread may read a const Config.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/ip_addr.h"

namespace rampart::config {

using Duration = std::chrono::milliseconds;

enum class Proto { kTcp, kUdp };
enum class ProxyProtocol { kOff, kV1, kV2, kSimple };
enum class ProxyProtocolUdp { kEvery, kFirst };
enum class TlsMode { kOff, kFlexible, kFull, kStrict };
enum class LbPolicy { kRoundRobin, kLeastConnections, kHash };
enum class EdgeIpsType { kDynamic, kStatic };
enum class Connectivity { kAll, kIpv4, kIpv6 };
enum class Validator { kNone, kSsh, kTls, kRdp, kMinecraft, kMqtt, kPostgres, kRedis };
enum class AccessMode { kBlock, kWhitelist };
enum class AccessTarget { kIp, kIp6, kIpRange, kCountry, kAsn };
enum class XdpMode { kOff, kNative, kGeneric };
// kernel_relay: established TCP connections (sockmap) and UDP flows (tc) moved by the kernel
// (docs/kernel-relay.md). auto: where it measures faster; on: wherever the kernel can; off: never.
enum class KernelRelay { kAuto, kOn, kOff };
// api.tokens: what a token may do. read: GET and HEAD only; write: everything (api.token's scope).
enum class TokenScope { kRead, kWrite };

const char* to_string(Proto p);  // "tcp" / "udp"
const char* to_string(ProxyProtocol p);
const char* to_string(LbPolicy p);
// Added with the parser: the names used in YAML/JSON for every enum (see enum_names.h).
const char* to_string(ProxyProtocolUdp p);
const char* to_string(TlsMode m);
const char* to_string(EdgeIpsType t);
const char* to_string(Connectivity c);
const char* to_string(Validator v);
const char* to_string(AccessMode m);
const char* to_string(AccessTarget t);
const char* to_string(XdpMode m);
const char* to_string(KernelRelay k);
const char* to_string(TokenScope s);

// An inclusive port range; a single port has first == last.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  uint32_t size() const { return uint32_t{last} - first + 1; }
  bool contains(uint16_t p) const { return p >= first && p <= last; }
  bool operator==(const PortRange&) const = default;
};

// edge.anycast: addresses announced through a local BIRD while this edge is healthy
// (docs/anycast.md, docs/adr/0006-anycast.md). No addresses = anycast off.
struct AnycastConfig {
  std::vector<net::IpAddr> addresses;              // each announced as a /32 or /128
  std::string bird_socket = "/run/bird/bird.ctl";  // BIRD's control socket
  std::string protocol = "rampart_anycast";        // the static protocol to enable/disable
  Duration check_interval = std::chrono::milliseconds(500);
  // On SIGTERM: after the withdraw, keep accepting this long (routers converge), then drain.
  Duration convergence_wait = std::chrono::seconds(2);
  bool operator==(const AnycastConfig&) const = default;
};

struct EdgeConfig {
  std::string colo = "LOCAL";
  std::vector<net::IpAddr> listen;      // default: 0.0.0.0 and ::
  std::vector<std::string> egress_ips;  // addresses or CIDRs, as written
  // Interfaces the UDP kernel relay attaches to at start (docs/kernel-relay-udp.md); empty =
  // every interface that is up.
  std::vector<std::string> kernel_relay_interfaces;
  int workers = 0;  // 0 = one per CPU
  std::string data_dir = "./var";
  Duration drain_timeout = std::chrono::seconds(30);
  // Descriptor budgets (README "Resource budgets"; 0 = derived from RLIMIT_NOFILE, and a
  // value above what the limit allows is clamped with a warning).
  uint32_t max_connections = 0;            // TCP sessions of all apps (HAProxy's maxconn)
  uint32_t max_udp_flows = 0;              // UDP flows of all apps together
  uint32_t max_udp_unconfirmed_flows = 0;  // of which unconfirmed (0 = half)
  // Kernel pipe for splicing bulk TCP transfers, per direction while bytes are in flight
  // (HAProxy's tune.pipesize). 0 = the kernel default (64 KiB).
  uint32_t pipe_size = 1 << 20;
  // Caps on listening ports (docs/hardening.md, "Config safety"): an app's port range, and all
  // apps' ports counted once per edge address (what costs a socket per worker). 0 = no cap.
  uint32_t max_ports = 4096;
  uint32_t max_ports_per_app = 1024;
  AnycastConfig anycast;
  // Where clients reach this edge (anycast or not): what dns_publish publishes for apps with
  // dynamic edge_ips (docs/dns_publish.md).
  std::vector<net::IpAddr> public_ips;
  // Privilege drop (docs/operations.md): after the listeners, XDP and keys, switch to this user
  // (and group; empty = the user's primary group), keeping only CAP_NET_BIND_SERVICE.
  std::string user;
  std::string group;
  // The running edge's pid, written at startup and rewritten by a zero-loss upgrade
  // (`rampart upgrade --pid-file`). Empty = none.
  std::string pid_file;
  bool operator==(const EdgeConfig&) const = default;
};

// api.zones: one zone the API answers for, by Cloudflare's zone id (32 hex) and, optionally, its
// name (reported as the access rules' scope.name).
struct ApiZone {
  std::string id;
  std::string name;
  bool operator==(const ApiZone&) const = default;
};

// api.tokens: a named token beside api.token, with its scope (docs/dashboard.md, "Tokens").
struct ApiToken {
  std::string name;        // names it in logs and audit lines: [A-Za-z0-9_.-]{1,64}
  std::string token;       // after ${ENV} expansion
  std::string token_file;  // read at startup and on SIGHUP when token is empty
  TokenScope scope = TokenScope::kRead;
  bool operator==(const ApiToken&) const = default;
};

struct ApiConfig {
  std::string listen = "127.0.0.1:8788";
  std::string token;       // after ${ENV} expansion
  std::string token_file;  // read at startup when token is empty
  std::vector<ApiToken> tokens;
  // Dashboard sessions end this long after sign-in, and after this long without an
  // authenticated request (0 = no idle timeout). Applied at once by a SIGHUP reload.
  Duration session_timeout = std::chrono::hours(12);
  Duration session_idle_timeout = std::chrono::hours(1);
  bool allow_insecure_remote = false;
  // Apps written through the API may point at loopback and link-local origins (the edge host
  // itself, cloud metadata at 169.254.169.254). Off: such writes are refused (error 11002).
  bool allow_private_origins = false;
  // api.tls: serve the API over HTTPS with this certificate (PEM, chain after the leaf) and key.
  std::string tls_certificate;
  std::string tls_private_key;
  // Hardening (docs/hardening.md, "API"). The request line, headers and body must all arrive
  // within request_timeout of the request's first byte (of the accept, for a connection's first
  // request, TLS handshake included), and a response must be sent within it too: nginx's
  // client_header_timeout + client_body_timeout + send_timeout in one deadline.
  Duration request_timeout = std::chrono::seconds(10);
  // An idle keep-alive connection is closed after this (nginx's keepalive_timeout); 0 = one
  // request per connection.
  Duration keepalive_timeout = std::chrono::seconds(5);
  // API connections open at once. A new one past it closes the oldest connection that has no
  // request being handled (idle or still sending), else it is closed itself; both counted.
  uint32_t max_connections = 256;
  // API connections of one source (an IPv4 address or an IPv6 /64) at once; a new one past it is
  // closed (nginx's limit_conn keyed by address). 0 = no per-source cap; at most max_connections
  // in effect.
  uint32_t max_connections_per_source = 32;
  // Names a request's Host header may carry besides the address it reached, loopback addresses
  // and "localhost" (nginx's server_name; "*.example.com" covers subdomains).
  std::vector<std::string> server_name;
  // Zones besides `default` that the API's paths may name (aliases of one set of apps and rules).
  std::vector<ApiZone> zones;
  bool operator==(const ApiConfig&) const = default;
};

// fleet: how edges of one etcd fleet call each other's API (the analytics fan-out). A credential
// of its own, never the admin api.token: peers accept it only on the read endpoint the fan-out
// uses, only over HTTPS, and this edge calls peers only over HTTPS with their certificate
// verified against ca_file (default: the system's CA store). docs/fleet.md.
struct FleetConfig {
  std::string token;
  std::string token_file;  // read at startup and on SIGHUP when token is empty
  std::string ca_file;
  bool operator==(const FleetConfig&) const = default;
};

struct GeoipConfig {
  std::string country_db;
  std::string asn_db;
  bool operator==(const GeoipConfig&) const = default;
};

struct IpAccessRule {
  std::string id;  // optional in the file
  AccessMode mode = AccessMode::kBlock;
  AccessTarget target = AccessTarget::kIp;
  std::string value;
  std::string notes;
  bool operator==(const IpAccessRule&) const = default;
};

// 0 means "no limit" everywhere in this struct.
struct PerIpLimits {
  uint32_t max_connections = 64;
  uint32_t new_connections_per_second = 20;
  uint32_t burst = 40;
  uint32_t udp_packets_per_second = 2000;
  uint32_t udp_burst = 4000;
  bool operator==(const PerIpLimits&) const = default;
};

struct AutobanConfig {
  uint32_t violations = 5;
  Duration window = std::chrono::seconds(10);
  Duration duration = std::chrono::minutes(10);
  bool operator==(const AutobanConfig&) const = default;
};

struct XdpConfig {
  std::string interface;
  XdpMode mode = XdpMode::kOff;
  bool operator==(const XdpConfig&) const = default;
};

struct ProtectionConfig {
  PerIpLimits per_ip;
  uint64_t max_connections = 100000;  // per app, all sources
  AutobanConfig autoban;
  Duration handshake_timeout = std::chrono::seconds(10);
  std::vector<uint16_t> udp_reflection_ports = {19, 53, 123, 161, 389, 1900, 11211};
  XdpConfig xdp;
  // Guard filters that only log and count what they would drop (SPEC §6 dry-run): any of
  // acl, conn_limit, rate_limit, autoban, validate, reflection, table, or "all".
  std::vector<std::string> dry_run;
  // IPv6 clients are one source per prefix of this length for per-source limits, autoban and
  // bans (HAProxy's ipmask): 64 = a subscriber's /64, 128 = every address on its own. 1-128.
  // Per app for the per-source limits; autoban state and bans use the zone's value.
  uint32_t ipv6_prefix = 64;
  // Entries of each worker's source table (zone-wide only; shared by all apps). A full table
  // evicts its least recently seen idle entry (docs/guard.md, "Source table").
  uint64_t source_table_size = 100000;
  bool operator==(const ProtectionConfig&) const = default;
};

// A per-app protection override as given through the API (only the fields set, the YAML
// schema of an app's `protection:` block minus the zone-wide xdp and source_table_size). The
// rest comes from the zone's protection when the API's apps are merged with the file
// (resolve()), so a zone change reaches the fields the app does not set.
struct ProtectionOverride {
  struct PerIp {
    std::optional<uint32_t> max_connections;
    std::optional<uint32_t> new_connections_per_second;
    std::optional<uint32_t> burst;
    std::optional<uint32_t> udp_packets_per_second;
    std::optional<uint32_t> udp_burst;
    bool operator==(const PerIp&) const = default;
  } per_ip;
  std::optional<uint64_t> max_connections;
  struct Autoban {
    std::optional<uint32_t> violations;
    std::optional<Duration> window;
    std::optional<Duration> duration;
    bool operator==(const Autoban&) const = default;
  } autoban;
  std::optional<Duration> handshake_timeout;
  std::optional<std::vector<uint16_t>> udp_reflection_ports;
  std::optional<std::vector<std::string>> dry_run;
  std::optional<uint32_t> ipv6_prefix;
  // `zone` with the fields set here replaced.
  ProtectionConfig resolve(const ProtectionConfig& zone) const;
  bool operator==(const ProtectionOverride&) const = default;
};

struct DnsRecord {
  std::string type;  // CNAME | ADDRESS
  std::string name;
  bool operator==(const DnsRecord&) const = default;
};

struct EdgeIps {
  EdgeIpsType type = EdgeIpsType::kDynamic;
  Connectivity connectivity = Connectivity::kAll;
  std::vector<net::IpAddr> ips;  // static only
  bool operator==(const EdgeIps&) const = default;
};

// One origin_direct entry: "tcp://IP:PORT" or "tcp://IP:FIRST-LAST".
struct OriginDirect {
  net::IpAddr ip;
  PortRange ports;
  std::string text;  // as written, for messages and the API
  bool operator==(const OriginDirect&) const = default;
};

struct OriginDns {
  std::string name;
  uint32_t ttl = 0;
  std::string type;
  bool operator==(const OriginDns&) const = default;
};

struct HealthCheck {
  bool enabled = true;
  Duration interval = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(2);
  uint32_t rise = 2;  // successes to mark an origin up again
  uint32_t fall = 3;  // failures (checks or live connects) to mark it down
  bool operator==(const HealthCheck&) const = default;
};

struct LoadBalancing {
  LbPolicy policy = LbPolicy::kRoundRobin;
  HealthCheck health_check;
  bool operator==(const LoadBalancing&) const = default;
};

struct Timeouts {
  Duration connect = std::chrono::seconds(5);
  Duration idle = std::chrono::hours(1);
  Duration udp_flow_idle = std::chrono::seconds(60);
  // origin_dns: how long the last good answer is kept while lookups fail.
  Duration dns_hold = std::chrono::hours(1);
  bool operator==(const Timeouts&) const = default;
};

// One certificate the edge presents to TLS clients (PEM files; the certificate file may hold
// the chain after the leaf).
struct TlsCertificate {
  std::string certificate;
  std::string private_key;
  bool operator==(const TlsCertificate&) const = default;
};

// Rampart extension: how an app with tls != off terminates TLS (see README, "TLS").
struct TlsSettings {
  // Picked by the ClientHello's server name (SAN/CN, wildcards); the first is the default.
  // None: a self-signed certificate for dns.name is generated.
  std::vector<TlsCertificate> certificates;
  std::string min_version = "1.2";  // client leg: "1.2" or "1.3"
  std::string origin_ca_file;       // strict: CA bundle for the origin; empty = system default
  std::string origin_server_name;   // full/strict: SNI (and strict: checked name); default dns.name
  bool operator==(const TlsSettings&) const = default;
};

struct App {
  std::string id;  // 32 hex chars when generated
  Proto proto = Proto::kTcp;
  PortRange ports;  // edge ports
  DnsRecord dns;
  EdgeIps edge_ips;
  std::vector<OriginDirect> origin_direct;
  std::optional<OriginDns> origin_dns;
  std::optional<PortRange> origin_port;  // with origin_dns
  ProxyProtocol proxy_protocol = ProxyProtocol::kOff;
  ProxyProtocolUdp proxy_protocol_udp = ProxyProtocolUdp::kEvery;
  bool ip_firewall = false;
  TlsMode tls = TlsMode::kOff;
  TlsSettings tls_settings;
  std::string traffic_type = "direct";
  bool argo_smart_routing = false;
  // Cloudflare's fields with no meaning on a self-hosted edge: stored, echoed, noted.
  std::string virtual_network_id;  // Cloudflare Tunnel virtual network
  std::string origin_worker_id;    // traffic_type: worker
  Validator validate = Validator::kNone;
  KernelRelay kernel_relay = KernelRelay::kAuto;
  LoadBalancing load_balancing;
  Timeouts timeouts;
  std::optional<ProtectionConfig> protection;  // full override, defaults from the zone
  // API apps: the override as written; `protection` is resolved from it when merged.
  std::optional<ProtectionOverride> protection_override;
  bool operator==(const App&) const = default;
};
// "tcp/22", "udp/2000-2010": Spectrum's `protocol` field of the app.
std::string protocol_text(const App& app);

// events: the connection event log (NDJSON under edge.data_dir) and its optional syslog copy.
struct EventsConfig {
  bool enabled = true;  // false: no connection events at all (log, syslog, progress, analytics)
  uint64_t max_size = 256ull << 20;  // rotate before a file would grow past this (bytes)
  int keep_files = 5;                // rotated files kept (events.ndjson.1 ..); 0 = none
  Duration progress_interval{0};     // >0: a progress event per open TCP connection this often
  std::string syslog_address;        // "" = off; udp://IP:PORT, udp://[IPv6]:PORT, unix:///PATH
  std::string syslog_facility = "local0";
  std::string syslog_tag = "rampart";  // RFC 5424 APP-NAME
  bool operator==(const EventsConfig&) const = default;
};

// analytics: the per-minute rollups of the store.
struct AnalyticsConfig {
  bool enabled = true;  // false: no live counters (/metrics, dashboard, aggregate/current)
  Duration retention = std::chrono::hours(24 * 7);
  bool operator==(const AnalyticsConfig&) const = default;
};

// store: where the objects made through the API live. "sqlite": <edge.data_dir>/rampart.db, one
// edge. "etcd://HOST:PORT[,HOST:PORT...]": an etcd cluster shared by a fleet of edges
// (docs/fleet.md); store_tls: { ca, certificate, private_key } to reach it over TLS.
struct StoreConfig {
  std::string url = "sqlite";
  std::string tls_ca;
  std::string tls_certificate;  // client certificate, when etcd checks clients
  std::string tls_private_key;
  bool is_etcd() const { return url.rfind("etcd://", 0) == 0; }
  bool operator==(const StoreConfig&) const = default;
};

// dns_publish: RFC 2136 updates, signed with TSIG, of each app's dns.name on the operator's
// primary (docs/dns_publish.md). Off when `server` is empty.
struct DnsPublishConfig {
  std::string server;  // "192.0.2.53:53", "[2001:db8::53]:53" or an address alone (port 53)
  std::string zone;    // "example.com." (a trailing dot is added)
  std::string tsig_name;
  std::string tsig_algorithm = "hmac-sha256";
  std::string tsig_secret_file;  // the base64 secret alone; read at start and on SIGHUP
  uint32_t ttl = 60;
  bool enabled() const { return !server.empty(); }
  bool operator==(const DnsPublishConfig&) const = default;
};

struct Config {
  EdgeConfig edge;
  DnsPublishConfig dns_publish;
  ApiConfig api;
  FleetConfig fleet;
  StoreConfig store;
  GeoipConfig geoip;
  std::vector<IpAccessRule> ip_access_rules;
  ProtectionConfig protection;
  std::vector<App> apps;
  EventsConfig events;
  AnalyticsConfig analytics;
  bool operator==(const Config&) const = default;
};

// One problem in a config: "apps[0].origin_direct[1]: message". code is Spectrum's error code
// where one exists (11000, 11002, ...), else 0.
struct ConfigError {
  std::string path;
  std::string message;
  int code = 0;
  // A file the app needs cannot be used now (a certificate removed or unreadable). `rampart
  // check` and API writes refuse it like any error; a running edge (start, reload, stored apps)
  // disables that one app instead of refusing the whole config.
  bool unavailable = false;
  // The field as a JSON pointer into an API request's body, when `path` cannot say it exactly
  // (an unknown field whose name has '.' or '['); "" = derived from `path` (api_pointer()).
  std::string pointer = {};
  std::string to_string() const;  // "path: message (error CODE)"
};

// Maps an edge port of `app` to the origin port of `origin` (offset mapping for ranges).
uint16_t origin_port_for(const PortRange& edge, const PortRange& origin, uint16_t edge_port);

}  // namespace rampart::config
