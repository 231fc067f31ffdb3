// The libbpf implementation of xdp::UdpRelay (relay_udp_stub.cc without libbpf).
#include "xdp/relay_udp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "guard/policy.h"
#include "xdp/libbpf_util.h"

namespace rampart::xdp {

// relay_udp.bpf.o, embedded at build time (cmake/xdp.cmake).
extern const unsigned char kRelayUdpBpfObject[];
extern const size_t kRelayUdpBpfObjectSize;

namespace {
// enum bpf_attach_type's BPF_TCX_INGRESS (kernel 6.6); libbpf 1.1's headers predate it.
constexpr int kTcxIngress = 46;
}  // namespace

struct UdpRelay::Impl {
  bpf_object* obj = nullptr;
  int prog = -1;
  int flows = -1;
  int bans = -1;
  int counters = -1;
  std::vector<int> links;               // tcx links: closing them detaches
  std::vector<int> tc_filters;          // ifindexes with a classic clsact filter (older kernels)
  std::vector<core::UniqueFd> adopted;  // the program's and maps' descriptors from an upgrade

  ~Impl() {
    for (int l : links) close(l);
    for (int ifindex : tc_filters) {
      bpf_tc_hook hook{};
      hook.sz = sizeof hook;
      hook.ifindex = ifindex;
      hook.attach_point = BPF_TC_INGRESS;
      bpf_tc_opts o{};
      o.sz = sizeof o;
      o.handle = 0x52;
      o.priority = 0x52;
      bpf_tc_detach(&hook, &o);
    }
    if (obj != nullptr) bpf_object__close(obj);
  }
};

UdpRelay::UdpRelay() : impl_(std::make_unique<Impl>()) {}
UdpRelay::~UdpRelay() = default;

bool UdpRelay::supported() {
  return true;
}
bool UdpRelay::loaded() const {
  return impl_->prog >= 0;
}
int UdpRelay::prog_fd() const {
  return impl_->prog;
}
int UdpRelay::flows_fd() const {
  return impl_->flows;
}
int UdpRelay::bans_fd() const {
  return impl_->bans;
}

bool UdpRelay::load(uint32_t max_flows, int bans_fd, std::string* error) {
  if (loaded()) return true;
  lo_ifindex_ = static_cast<int>(if_nametoindex("lo"));
  bpf_object_open_opts opts{};
  opts.sz = sizeof opts;
  opts.object_name = "rampart_relay";
  bpf_object* obj = bpf_object__open_mem(kRelayUdpBpfObject, kRelayUdpBpfObjectSize, &opts);
  if (obj == nullptr) {
    *error = std::string("cannot open the embedded program: ") + strerror(errno);
    return false;
  }
  max_flows_ = max_flows > 0 ? max_flows : 1;
  bpf_map* flows = bpf_object__find_map_by_name(obj, "relay_flows");
  bpf_map* bans = bpf_object__find_map_by_name(obj, "bans");
  if (flows == nullptr || bans == nullptr || bpf_map__set_max_entries(flows, 2 * max_flows_) != 0 ||
      (bans_fd >= 0 && bpf_map__reuse_fd(bans, bans_fd) != 0)) {
    *error = "the embedded program lacks its maps, or the guard's ban map does not fit";
    bpf_object__close(obj);
    return false;
  }
  if (int rc = bpf_object__load(obj); rc != 0) {
    *error = load_error_text(rc);
    bpf_object__close(obj);
    return false;
  }
  Impl& m = *impl_;
  m.obj = obj;
  m.prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "rampart_relay_udp"));
  m.flows = bpf_map__fd(flows);
  m.bans = bpf_map__fd(bans);
  m.counters = bpf_object__find_map_fd_by_name(obj, "relay_counters");
  if (m.prog < 0 || m.flows < 0 || m.bans < 0 || m.counters < 0) {
    *error = "the embedded program lacks a map or its entry point";
    m.prog = -1;
    return false;
  }
  return true;
}

bool UdpRelay::attach(int ifindex, std::string* error) {
  if (!loaded()) {
    *error = "not loaded";
    return false;
  }
  if (covers(ifindex)) return true;
  const int link =
      bpf_link_create(impl_->prog, ifindex, static_cast<bpf_attach_type>(kTcxIngress), nullptr);
  if (link >= 0) {
    impl_->links.push_back(link);
    ifindexes_.insert(ifindex);
    return true;
  }
  // Before tcx (kernel < 6.6): a clsact qdisc and a direct-action filter, removed on exit only
  // by the destructor (a crash leaves the filter, whose map then only ever misses).
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  int rc = bpf_tc_hook_create(&hook);
  if (rc != 0 && rc != -EEXIST) {
    *error = std::string("tcx: ") + strerror(-link) + ", clsact: " + strerror(-rc);
    return false;
  }
  bpf_tc_opts o{};
  o.sz = sizeof o;
  o.prog_fd = impl_->prog;
  o.handle = 0x52;
  o.priority = 0x52;
  rc = bpf_tc_attach(&hook, &o);
  if (rc != 0) {
    *error = std::string("tcx: ") + strerror(-link) + ", tc filter: " + strerror(-rc);
    return false;
  }
  impl_->tc_filters.push_back(ifindex);
  ifindexes_.insert(ifindex);
  return true;
}

size_t UdpRelay::attach_all(const std::vector<std::string>& names) {
  std::set<std::string> want(names.begin(), names.end());
  if (want.empty()) {
    ifaddrs* ifs = nullptr;
    if (getifaddrs(&ifs) == 0) {
      for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next)
        if ((i->ifa_flags & IFF_UP) != 0) want.insert(i->ifa_name);
      freeifaddrs(ifs);
    }
  }
  for (const std::string& name : want) {
    const unsigned ifindex = if_nametoindex(name.c_str());
    std::string error;
    if (ifindex == 0)
      RLOG_WARN("kernel relay: no interface ", name);
    else if (!attach(static_cast<int>(ifindex), &error))
      RLOG_WARN("kernel relay: not attached to ", name, ": ", error,
                "; flows arriving there stay in user space");
  }
  return ifindexes_.size();
}

void UdpRelay::put_addr(const net::SockAddr& a, uint8_t out[16], uint16_t* port_be) {
  const auto m = a.ip().as_v6_mapped();
  std::memcpy(out, m.data(), 16);
  *port_be = htons(a.port());
}

bool UdpRelay::add(const rrelay_key& fwd_key, const rrelay_flow& fwd, const rrelay_key& rev_key,
                   const rrelay_flow& rev) {
  if (!loaded()) return false;
  if (bpf_map_update_elem(impl_->flows, &fwd_key, &fwd, BPF_NOEXIST) != 0) return false;
  if (bpf_map_update_elem(impl_->flows, &rev_key, &rev, BPF_NOEXIST) != 0) {
    bpf_map_delete_elem(impl_->flows, &fwd_key);
    return false;
  }
  return true;
}

void UdpRelay::remove(const rrelay_key& fwd_key, const rrelay_key& rev_key) {
  if (!loaded()) return;
  bpf_map_delete_elem(impl_->flows, &fwd_key);
  bpf_map_delete_elem(impl_->flows, &rev_key);
}

bool UdpRelay::read(const rrelay_key& key, rrelay_flow* out) const {
  return loaded() && bpf_map_lookup_elem(impl_->flows, &key, out) == 0;
}

bool UdpRelay::take(const rrelay_key& key, rrelay_flow* out) {
  return loaded() && bpf_map_lookup_and_delete_elem(impl_->flows, &key, out) == 0;
}

uint32_t UdpRelay::app_no(const std::string& app) {
  const uint64_t k = guard::app_key(app);  // the userspace guard's key of the app, folded
  return static_cast<uint32_t>(k ^ (k >> 32));
}

void UdpRelay::banned(const net::Cidr& source, int64_t duration_ms) {
  if (impl_->bans < 0) return;
  rxdp_addr k;
  const auto a = source.base().as_v6_mapped();
  std::memcpy(k.addr, a.data(), sizeof k.addr);
  rxdp_ban v{static_cast<uint64_t>(core::monotonic_ns() + duration_ms * 1'000'000)};
  if (bpf_map_update_elem(impl_->bans, &k, &v, BPF_ANY) != 0)
    RLOG_WARN("kernel relay: cannot add the ban of ", guard::source_text(source), ": ",
              strerror(errno));
}

void UdpRelay::unban(const net::Cidr& source) {
  if (impl_->bans < 0) return;
  rxdp_addr k;
  const auto a = source.base().as_v6_mapped();
  std::memcpy(k.addr, a.data(), sizeof k.addr);
  bpf_map_delete_elem(impl_->bans, &k);
}

std::string UdpRelay::object_hash() {
  return fnv1a_hex(kRelayUdpBpfObject, kRelayUdpBpfObjectSize);
}

std::string UdpRelay::handover_state() const {
  if (!loaded() || !impl_->tc_filters.empty() || impl_->links.empty()) return "";
  return nlohmann::json{
      {"hash", object_hash()}, {"max_flows", max_flows_}, {"ifindexes", ifindexes_}}
      .dump();
}

std::vector<int> UdpRelay::handover_fds() const {
  if (handover_state().empty()) return {};
  const Impl& m = *impl_;
  std::vector<int> out = {m.prog, m.flows, m.bans, m.counters};
  out.insert(out.end(), m.links.begin(), m.links.end());
  return out;
}

bool UdpRelay::adopt(const std::string& state, std::vector<core::UniqueFd> fds, std::string* why) {
  if (loaded()) return true;
  const nlohmann::json j = nlohmann::json::parse(state, nullptr, false);
  const bool readable = j.is_object() && j.contains("hash") && j["hash"].is_string() &&
                        j.contains("max_flows") && j["max_flows"].is_number_unsigned() &&
                        j.contains("ifindexes") && j["ifindexes"].is_array() &&
                        fds.size() == 4 + j["ifindexes"].size();
  if (!readable) {
    *why = "the old process's relay state is unreadable";
    return false;
  }
  if (j["hash"].get<std::string>() != object_hash()) {
    *why = "this binary's relay program differs from the running one";
    return false;
  }
  std::set<int> ifs;
  for (const auto& i : j["ifindexes"])
    if (i.is_number_integer()) ifs.insert(i.get<int>());
  if (ifs.size() != j["ifindexes"].size()) {
    *why = "the old process's relay state is unreadable";
    return false;
  }
  Impl& m = *impl_;
  m.prog = fds[0].get();
  m.flows = fds[1].get();
  m.bans = fds[2].get();
  m.counters = fds[3].get();
  for (size_t i = 4; i < fds.size(); ++i) m.links.push_back(fds[i].release());
  for (size_t i = 0; i < 4; ++i) m.adopted.push_back(std::move(fds[i]));
  lo_ifindex_ = static_cast<int>(if_nametoindex("lo"));
  max_flows_ = j["max_flows"].get<uint32_t>();
  ifindexes_ = std::move(ifs);
  return true;
}

void UdpRelay::release() {
  for (int l : impl_->links) close(l);  // the new process holds them: still attached
  impl_->links.clear();
}

bool UdpRelay::shares_bans_with(int map_fd) const {
  return impl_->bans >= 0 && map_fd >= 0 && map_id(impl_->bans) != 0 &&
         map_id(impl_->bans) == map_id(map_fd);
}

RelayCounters UdpRelay::counters() const {
  RelayCounters c;
  uint64_t sums[RRELAY_COUNTER_MAX] = {};
  if (!sum_percpu_counters(impl_->counters, RRELAY_COUNTER_MAX, sums)) return c;
  c.relayed = sums[RRELAY_RELAYED];
  c.drop_banned = sums[RRELAY_DROP_BANNED];
  c.drop_udp_rate = sums[RRELAY_DROP_UDP_RATE];
  c.failed = sums[RRELAY_FAILED];
  return c;
}

}  // namespace rampart::xdp
