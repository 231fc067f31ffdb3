// The libbpf implementation of xdp::Loader (built when libbpf is found; loader_stub.cc otherwise).
#include "xdp/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config/enum_names.h"
#include "core/clock.h"
#include "core/log.h"
#include "xdp/libbpf_util.h"
#include "xdp/shared_types.h"

namespace rampart::xdp {

// guard.bpf.o, embedded at build time (cmake/xdp.cmake).
extern const unsigned char kGuardBpfObject[];
extern const size_t kGuardBpfObjectSize;

namespace {

// libbpf's own messages only at debug level: a failure is reported by the one line of attach().
int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || !core::log_enabled(core::LogLevel::kDebug)) return 0;
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, args);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  RLOG_DEBUG("libbpf: ", buf);
  return 0;
}

std::string why(int err, const std::string& ifname, config::XdpMode mode) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "permission denied (needs CAP_BPF and CAP_NET_ADMIN, e.g. root)";
    case EOPNOTSUPP:
      return mode == config::XdpMode::kNative
                 ? "the driver of " + ifname + " has no native XDP (try mode: generic)"
                 : "XDP is not supported on " + ifname;
    case EBUSY:
    case EEXIST:
      return "another XDP program is already attached to " + ifname;
    default:
      return strerror(err);
  }
}

template <typename Key>
bool sync_trie(int fd, const std::vector<std::pair<Key, uint32_t>>& want) {
  auto bytes = [](const Key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
  };
  std::set<std::string> wanted;
  for (const auto& [k, _] : want) wanted.insert(bytes(k));
  std::vector<Key> stale;
  Key cur{}, next{};
  const Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (wanted.count(bytes(next)) == 0) stale.push_back(next);
    cur = next;
    prev = &cur;
  }
  bool ok = true;
  for (const Key& k : stale) ok = bpf_map_delete_elem(fd, &k) == 0 && ok;
  for (const auto& [k, mode] : want) {
    rxdp_acl_value v{mode};
    ok = bpf_map_update_elem(fd, &k, &v, BPF_ANY) == 0 && ok;
  }
  return ok;
}

}  // namespace

struct Loader::Impl {
  bpf_object* obj = nullptr;
  int prog = -1;
  int link = -1;
  int acl_v4 = -1;
  int acl_v6 = -1;
  int bans = -1;
  int ports = -1;
  int profiles = -1;
  int counters = -1;
  std::vector<uint16_t> ports_set;      // ports written by the last sync()
  std::vector<core::UniqueFd> adopted;  // the program's and maps' descriptors from an upgrade
  // An upgrade to another program: the old process's link, updated to this program by the first
  // sync(), once the maps hold this process's plan (until then the old program keeps judging).
  int pending_link = -1;
  bool frozen = false;     // sync() writes nothing: during an upgrade, and after release()
  bool took_over = false;  // link or pending_link is the old process's

  ~Impl() {
    if (link >= 0) close(link);
    if (pending_link >= 0) close(pending_link);
    if (obj != nullptr) bpf_object__close(obj);
  }
};

Loader::Loader() : impl_(std::make_unique<Impl>()) {}

Loader::~Loader() {
  detach();
}

bool Loader::supported() {
  return true;
}

bool Loader::loaded() const {
  return impl_->prog >= 0;
}

bool Loader::attached() const {
  return impl_->link >= 0 || impl_->pending_link >= 0;
}

int Loader::prog_fd() const {
  return impl_->prog;
}

int Loader::bans_fd() const {
  return impl_->bans;
}

bool Loader::load(std::string* error) {
  if (loaded()) return true;
  libbpf_set_print(libbpf_log);
  bpf_object_open_opts opts{};
  opts.sz = sizeof opts;
  opts.object_name = "rampart_guard";
  bpf_object* obj = bpf_object__open_mem(kGuardBpfObject, kGuardBpfObjectSize, &opts);
  if (obj == nullptr) {
    *error = std::string("cannot open the embedded program: ") + strerror(errno);
    return false;
  }
  if (int rc = bpf_object__load(obj); rc != 0) {
    *error = load_error_text(rc);
    bpf_object__close(obj);
    return false;
  }
  Impl& m = *impl_;
  m.obj = obj;
  m.prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "rampart_guard"));
  m.acl_v4 = bpf_object__find_map_fd_by_name(obj, "acl_v4");
  m.acl_v6 = bpf_object__find_map_fd_by_name(obj, "acl_v6");
  m.bans = bpf_object__find_map_fd_by_name(obj, "bans");
  m.ports = bpf_object__find_map_fd_by_name(obj, "ports");
  m.profiles = bpf_object__find_map_fd_by_name(obj, "profiles");
  m.counters = bpf_object__find_map_fd_by_name(obj, "counters");
  if (m.prog < 0 || m.acl_v4 < 0 || m.acl_v6 < 0 || m.bans < 0 || m.ports < 0 || m.profiles < 0 ||
      m.counters < 0) {
    *error = "the embedded program lacks a map or its entry point";
    bpf_object__close(obj);
    m.obj = nullptr;
    m.prog = m.acl_v4 = m.acl_v6 = m.bans = m.ports = m.profiles = m.counters = -1;
    return false;
  }
  return true;
}

bool Loader::attach(const config::XdpConfig& x) {
  if (attached()) return true;
  const std::string where = x.interface + " (" + config::to_string(x.mode) + ")";
  auto refuse = [&](const std::string& reason) {
    RLOG_WARN("xdp: not attached to ", where, ": ", reason, "; the guard runs in userspace only");
    return false;
  };
  if (x.mode == config::XdpMode::kOff) return false;
  const unsigned ifindex = if_nametoindex(x.interface.c_str());
  if (ifindex == 0) return refuse("no such interface");
  std::string error;
  if (!load(&error)) return refuse(error);
  bpf_link_create_opts opts{};
  opts.sz = sizeof opts;
  opts.flags = x.mode == config::XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  const int link = bpf_link_create(impl_->prog, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (link < 0) return refuse(why(-link, x.interface, x.mode));
  impl_->link = link;
  attached_cfg_ = x;
  RLOG_INFO("xdp: attached to ", where, "; the guard drops bans, blocked ranges, reflection and ",
            "per-source floods before the socket layer");
  return true;
}

void Loader::detach() {
  if (impl_->link < 0) return;
  close(impl_->link);  // the link was the only reference: the kernel detaches the program
  impl_->link = -1;
  const Counters c = counters();
  RLOG_INFO("xdp: detached from ", attached_cfg_.interface, "; passed ", c.passed, ", dropped ",
            c.total_drops(), " (banned ", c.banned, ", block_ip ", c.block_ip, ", reflection ",
            c.reflection, ", syn_rate ", c.syn_rate, ", udp_rate ", c.udp_rate, ")");
  attached_cfg_ = config::XdpConfig{};
}

bool Loader::sync(const MapPlan& plan) {
  if (!loaded() || impl_->frozen) return false;
  Impl& m = *impl_;
  for (const auto& w : plan.warnings) RLOG_WARN(w);
  bool ok = true;
  for (uint32_t i = 0; i < plan.profiles.size(); ++i)
    ok = bpf_map_update_elem(m.profiles, &i, &plan.profiles[i], BPF_ANY) == 0 && ok;
  std::set<uint16_t> now;
  for (const auto& [port, entry] : plan.ports) {
    uint32_t k = port;
    ok = bpf_map_update_elem(m.ports, &k, &entry, BPF_ANY) == 0 && ok;
    now.insert(port);
  }
  for (uint16_t port : m.ports_set) {
    if (now.count(port) != 0) continue;
    uint32_t k = port;
    rxdp_port none{};
    ok = bpf_map_update_elem(m.ports, &k, &none, BPF_ANY) == 0 && ok;
  }
  m.ports_set.assign(now.begin(), now.end());
  ok = sync_trie(m.acl_v4, plan.acl_v4) && ok;
  ok = sync_trie(m.acl_v6, plan.acl_v6) && ok;
  if (!ok)
    RLOG_WARN("xdp: some map updates failed (", strerror(errno), "); the userspace guard ",
              "still applies every rule");
  RLOG_INFO("xdp: maps synced: ", plan.ports.size(), " ports, ", plan.profiles.size(),
            " profiles, ", plan.acl_v4.size() + plan.acl_v6.size(), " ip access rules");
  if (m.pending_link >= 0) {
    // The maps hold this process's plan: now this program may take the old one's place.
    const int link = std::exchange(m.pending_link, -1);
    if (bpf_link_update(link, m.prog, nullptr) != 0) {
      RLOG_WARN("xdp: cannot replace the old process's program on ", attached_cfg_.interface, " (",
                strerror(errno), "); the guard runs in userspace only");
      close(link);
      attached_cfg_ = config::XdpConfig{};
      return false;
    }
    m.link = link;
    RLOG_INFO("xdp: this binary's program replaced the old one on ", attached_cfg_.interface,
              " without a gap");
  }
  return ok;
}

void Loader::banned(const net::Cidr& source, int64_t duration_ms) {
  if (impl_->bans < 0) return;
  rxdp_addr k;
  const auto a = source.base().as_v6_mapped();  // the base has its host bits cleared
  std::memcpy(k.addr, a.data(), sizeof k.addr);
  rxdp_ban v{static_cast<uint64_t>(core::monotonic_ns() + duration_ms * 1'000'000)};
  if (bpf_map_update_elem(impl_->bans, &k, &v, BPF_ANY) != 0)
    RLOG_WARN("xdp: cannot add the ban of ", guard::source_text(source), ": ", strerror(errno));
}

void Loader::unban(const net::Cidr& source) {
  if (impl_->bans < 0) return;
  rxdp_addr k;
  const auto a = source.base().as_v6_mapped();
  std::memcpy(k.addr, a.data(), sizeof k.addr);
  if (bpf_map_delete_elem(impl_->bans, &k) != 0 && errno != ENOENT)
    RLOG_WARN("xdp: cannot lift the ban of ", guard::source_text(source), ": ", strerror(errno));
}

namespace {
// The order of handover_fds() and adopt().
enum HandoverFd { kLink, kProg, kAclV4, kAclV6, kBans, kPorts, kProfiles, kCounters, kFdCount };

// Copies the bans of `from` into `to` when both maps have the same key and value sizes (a new
// program whose ban layout changed starts with none; the guard's own bans repopulate it).
size_t copy_bans(int from, int to) {
  bpf_map_info a{}, b{};
  uint32_t la = sizeof a, lb = sizeof b;
  if (bpf_obj_get_info_by_fd(from, &a, &la) != 0 || bpf_obj_get_info_by_fd(to, &b, &lb) != 0 ||
      a.key_size != sizeof(rxdp_addr) || b.key_size != sizeof(rxdp_addr) ||
      a.value_size != sizeof(rxdp_ban) || b.value_size != sizeof(rxdp_ban))
    return 0;
  size_t n = 0;
  rxdp_addr cur{}, next{};
  const rxdp_addr* prev = nullptr;
  while (bpf_map_get_next_key(from, prev, &next) == 0) {
    rxdp_ban v{};
    if (bpf_map_lookup_elem(from, &next, &v) == 0 &&
        bpf_map_update_elem(to, &next, &v, BPF_NOEXIST) == 0)
      ++n;
    cur = next;
    prev = &cur;
  }
  return n;
}
}  // namespace

std::string Loader::object_hash() {
  return fnv1a_hex(kGuardBpfObject, kGuardBpfObjectSize);
}

std::string Loader::handover_state() const {
  if (!attached()) return "";
  return nlohmann::json{{"interface", attached_cfg_.interface},
                        {"mode", config::to_string(attached_cfg_.mode)},
                        {"hash", object_hash()},
                        {"ports", impl_->ports_set}}
      .dump();
}

std::vector<int> Loader::handover_fds() const {
  if (!attached()) return {};
  const Impl& m = *impl_;
  return {m.link, m.prog, m.acl_v4, m.acl_v6, m.bans, m.ports, m.profiles, m.counters};
}

bool Loader::adopt(const std::string& state, std::vector<core::UniqueFd> fds,
                   const config::XdpConfig& want) {
  if (attached() || want.mode == config::XdpMode::kOff) return attached();
  const nlohmann::json j = nlohmann::json::parse(state, nullptr, false);
  auto text = [&j](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  const bool readable = j.is_object() && !text("hash").empty() && j.contains("ports") &&
                        j["ports"].is_array() && fds.size() == kFdCount;
  if (!readable) {
    RLOG_WARN("xdp: the old process's attachment is unreadable; attaching anew");
    return attach(want);
  }
  config::XdpConfig running = want;
  if (text("interface") != want.interface || text("mode") != config::to_string(want.mode)) {
    // As on a reload: protection.xdp takes effect at the next restart. The running attachment is
    // kept (attaching anew would meet the old link on that interface, and the old one lets go of
    // it once this process serves).
    const auto mode = config::enum_from_string(config::kXdpModeNames, text("mode"));
    if (!mode || *mode == config::XdpMode::kOff || text("interface").empty()) return attach(want);
    running.interface = text("interface");
    running.mode = *mode;
    RLOG_WARN("protection.xdp changed: takes effect at the next restart; the upgrade keeps the ",
              "running attachment to ", running.interface, " (", config::to_string(running.mode),
              ")");
  }
  const std::string at = running.interface + " (" + config::to_string(running.mode) + ")";
  Impl& m = *impl_;
  if (text("hash") == object_hash()) {
    m.link = fds[kLink].release();
    m.prog = fds[kProg].get();
    m.acl_v4 = fds[kAclV4].get();
    m.acl_v6 = fds[kAclV6].get();
    m.bans = fds[kBans].get();
    m.ports = fds[kPorts].get();
    m.profiles = fds[kProfiles].get();
    m.counters = fds[kCounters].get();
    for (const auto& p : j["ports"])
      if (p.is_number_unsigned() && p.get<uint32_t>() <= 65535)
        m.ports_set.push_back(p.get<uint16_t>());
    for (size_t i = kProg; i < kFdCount; ++i) m.adopted.push_back(std::move(fds[i]));
    m.took_over = true;
    attached_cfg_ = running;
    RLOG_INFO("xdp: kept attached to ", at,
              " across the upgrade (the same program): its bans and counters carry over");
    return true;
  }
  // Another program: this process's takes the old one's place on the same link once its maps
  // hold this process's plan (the first sync()), so no packet passes unjudged in between. Loading
  // it needs CAP_BPF, which a privilege-dropped edge no longer has.
  std::string error;
  if (!load(&error)) {
    RLOG_WARN("xdp: not attached to ", at, ": this binary's XDP program differs from the ",
              "running one and cannot be loaded (", error,
              "); the guard runs in userspace only until a restart as root");
    return false;
  }
  m.pending_link = fds[kLink].release();
  m.took_over = true;
  attached_cfg_ = running;
  const size_t bans = copy_bans(fds[kBans].get(), m.bans);
  RLOG_INFO("xdp: this binary's program differs from the running one on ", at, ": loaded, ", bans,
            " bans carried over; it takes the old one's place on its link at the first sync");
  return true;
}

bool Loader::took_over() const {
  return impl_->took_over && attached();
}

void Loader::freeze() {
  impl_->frozen = true;
}

void Loader::release() {
  impl_->frozen = true;  // the maps are the new process's to sync now
  if (impl_->link < 0) return;
  close(impl_->link);  // the new process holds the link: the program stays attached
  impl_->link = -1;
  RLOG_INFO("xdp: the attachment to ", attached_cfg_.interface,
            " is the new process's now; this one's bans still reach its maps while it drains");
  attached_cfg_ = config::XdpConfig{};
}

void Loader::reclaim(const MapPlan& plan) {
  Impl& m = *impl_;
  m.frozen = false;
  if (m.link < 0 || m.prog < 0) return;
  if (bpf_link_update(m.link, m.prog, nullptr) != 0)
    RLOG_WARN("xdp: cannot put this process's program back on ", attached_cfg_.interface, ": ",
              strerror(errno));
  // The new process may have written its own plan into these maps: every port set there is
  // cleared unless this plan has it, then this plan is written again.
  m.ports_set.clear();
  for (uint32_t k = 0; k < RXDP_PORTS; ++k) {
    rxdp_port v{};
    static const rxdp_port kNone{};
    if (bpf_map_lookup_elem(m.ports, &k, &v) == 0 && std::memcmp(&v, &kNone, sizeof v) != 0)
      m.ports_set.push_back(static_cast<uint16_t>(k));
  }
  sync(plan);
}

Counters Loader::counters() const {
  Counters c;
  uint64_t sums[RXDP_COUNTER_MAX] = {};
  if (!sum_percpu_counters(impl_->counters, RXDP_COUNTER_MAX, sums)) return c;
  c.passed = sums[RXDP_PASS];
  c.whitelisted = sums[RXDP_WHITELISTED];
  c.banned = sums[RXDP_DROP_BANNED];
  c.block_ip = sums[RXDP_DROP_BLOCK_IP];
  c.reflection = sums[RXDP_DROP_REFLECTION];
  c.syn_rate = sums[RXDP_DROP_SYN_RATE];
  c.udp_rate = sums[RXDP_DROP_UDP_RATE];
  return c;
}

}  // namespace rampart::xdp
