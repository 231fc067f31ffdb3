#include "xdp/udp_generations.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/socket_util.h"
#include "xdp/reuseport_types.h"

#ifdef RAMPART_HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace rampart::xdp {
extern const unsigned char kReuseportBpfObject[];
extern const size_t kReuseportBpfObjectSize;
}  // namespace rampart::xdp
#endif

namespace rampart::xdp {

namespace {

// Unused in builds without libbpf (every caller is under RAMPART_HAVE_LIBBPF).
[[maybe_unused]] rrp_group_key group_key(const net::SockAddr& addr) {
  rrp_group_key k{};
  const sockaddr* sa = addr.get();
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    k.addr[0] = in->sin_addr.s_addr;
    k.family = AF_INET;
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::memcpy(k.addr, &in6->sin6_addr, 16);
    k.family = AF_INET6;
  }
  k.port = addr.port();
  return k;
}

}  // namespace

UdpGenerations::UdpGenerations() : used_(RRP_MAX_SOCKETS, false) {}
UdpGenerations::~UdpGenerations() = default;

#ifdef RAMPART_HAVE_LIBBPF

bool UdpGenerations::load(std::string* error) {
  bpf_object_open_opts opts{};
  opts.sz = sizeof opts;
  opts.object_name = "rampart_reuseport";
  bpf_object* obj = bpf_object__open_mem(kReuseportBpfObject, kReuseportBpfObjectSize, &opts);
  if (obj == nullptr) {
    *error = std::string("cannot open the embedded reuseport program: ") + strerror(errno);
    return false;
  }
  if (int rc = bpf_object__load(obj); rc != 0) {
    *error =
        std::string("the kernel refused the reuseport program: ") + strerror(rc < 0 ? -rc : rc);
    bpf_object__close(obj);
    return false;
  }
  auto dup_of = [](int fd) {
    return core::UniqueFd(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1);
  };
  prog_ = dup_of(bpf_program__fd(bpf_object__find_program_by_name(obj, "rrp_select")));
  sockets_ = dup_of(bpf_object__find_map_fd_by_name(obj, "rrp_sockets"));
  groups_ = dup_of(bpf_object__find_map_fd_by_name(obj, "rrp_groups"));
  flows_ = dup_of(bpf_object__find_map_fd_by_name(obj, "rrp_flows"));
  bpf_object__close(obj);
  if (!prog_.valid() || !sockets_.valid() || !groups_.valid() || !flows_.valid()) {
    *error = "the embedded reuseport program lacks a map or its entry point";
    prog_.reset();
    return false;
  }
  return true;
}

bool UdpGenerations::write_group(const Group& g, uint32_t active) {
  rrp_group_key k = group_key(g.addr);
  rrp_group v{g.base, g.workers, active, g.v6_prefix};
  return bpf_map_update_elem(groups_.get(), &k, &v, BPF_ANY) == 0;
}

std::vector<core::UniqueFd> UdpGenerations::open_group(const std::string& key,
                                                       const net::SockAddr& addr, size_t workers,
                                                       int v6_prefix, std::string* error) {
  std::vector<core::UniqueFd> out;
  auto it = groups_by_key_.find(key);
  if (it != groups_by_key_.end() && it->second.workers != workers) {
    *error = "the group of " + key + " has " + std::to_string(it->second.workers) +
             " sockets per half, not " + std::to_string(workers);
    return out;
  }
  if (it == groups_by_key_.end()) {
    Group g;
    g.addr = addr;
    g.workers = static_cast<uint32_t>(workers);
    g.v6_prefix = static_cast<uint32_t>(v6_prefix);
    g.half = 0;
    const uint32_t base = allocate(2 * g.workers);
    if (base == UINT32_MAX) {
      *error = "no room left in the reuseport socket array";
      return out;
    }
    g.base = base;
    auto fail = [&](const std::string& why) {
      *error = why;
      for (uint32_t i = 0; i < 2 * g.workers; ++i) {
        const uint32_t slot = g.base + i;
        bpf_map_delete_elem(sockets_.get(), &slot);
        used_[slot] = false;
      }
      const rrp_group_key k = group_key(addr);
      bpf_map_delete_elem(groups_.get(), &k);
      return std::vector<core::UniqueFd>{};
    };
    for (uint32_t i = 0; i < 2 * g.workers; ++i) {
      core::UniqueFd fd = core::open_listener(addr, core::SockType::kDgram, 0, error);
      if (!fd.valid()) return fail(*error);
      // The first socket takes the program before any other joins the group.
      const int prog = prog_.get();
      if (i == 0 &&
          setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof prog) != 0)
        return fail(std::string("SO_ATTACH_REUSEPORT_EBPF: ") + strerror(errno));
      const uint32_t slot = g.base + i;
      const uint64_t value = static_cast<uint64_t>(fd.get());
      if (bpf_map_update_elem(sockets_.get(), &slot, &value, BPF_ANY) != 0)
        return fail(std::string("reuseport socket array: ") + strerror(errno));
      g.all.push_back(std::move(fd));
      // This half complete: registered, so the program picks only among its sockets.
      if (i + 1 == g.workers && !write_group(g, 0))
        return fail(std::string("reuseport group map: ") + strerror(errno));
    }
    std::lock_guard lock(mu_);
    it = groups_by_key_.emplace(key, std::move(g)).first;
  } else if (it->second.v6_prefix != static_cast<uint32_t>(v6_prefix)) {
    set_steering(key, v6_prefix);
  }
  const Group& g = it->second;
  for (uint32_t w = 0; w < g.workers; ++w)
    out.emplace_back(::fcntl(g.all[g.half * g.workers + w].get(), F_DUPFD_CLOEXEC, 0));
  return out;
}

void UdpGenerations::set_steering(const std::string& key, int v6_prefix) {
  auto it = groups_by_key_.find(key);
  if (it == groups_by_key_.end() || it->second.v6_prefix == static_cast<uint32_t>(v6_prefix))
    return;
  it->second.v6_prefix = static_cast<uint32_t>(v6_prefix);
  const rrp_group_key k = group_key(it->second.addr);
  rrp_group v{};
  if (bpf_map_lookup_elem(groups_.get(), &k, &v) == 0) {
    v.v6_prefix = it->second.v6_prefix;
    bpf_map_update_elem(groups_.get(), &k, &v, BPF_EXIST);
  }
}

void UdpGenerations::close_group(const std::string& key) {
  auto it = groups_by_key_.find(key);
  if (it == groups_by_key_.end()) return;
  const Group& g = it->second;
  const rrp_group_key k = group_key(g.addr);
  bpf_map_delete_elem(groups_.get(), &k);
  for (uint32_t i = 0; i < 2 * g.workers; ++i) {
    const uint32_t slot = g.base + i;
    bpf_map_delete_elem(sockets_.get(), &slot);
    used_[slot] = false;
  }
  std::lock_guard lock(mu_);
  groups_by_key_.erase(it);
}

void UdpGenerations::flip() {
  for (const auto& [key, g] : groups_by_key_) {
    const rrp_group_key k = group_key(g.addr);
    rrp_group v{};
    if (bpf_map_lookup_elem(groups_.get(), &k, &v) != 0) continue;
    v.active = 1 - g.half;
    bpf_map_update_elem(groups_.get(), &k, &v, BPF_EXIST);
  }
}

#else  // !RAMPART_HAVE_LIBBPF

bool UdpGenerations::load(std::string* error) {
  *error = "built without libbpf";
  return false;
}
bool UdpGenerations::write_group(const Group&, uint32_t) {
  return false;
}
std::vector<core::UniqueFd> UdpGenerations::open_group(const std::string&, const net::SockAddr&,
                                                       size_t, int, std::string* error) {
  *error = "built without libbpf";
  return {};
}
void UdpGenerations::set_steering(const std::string&, int) {}
void UdpGenerations::close_group(const std::string&) {}
void UdpGenerations::flip() {}

#endif

uint32_t UdpGenerations::allocate(uint32_t n) {
  for (uint32_t base = 0; base + n <= used_.size(); ++base) {
    bool free = true;
    for (uint32_t i = 0; i < n && free; ++i) free = !used_[base + i];
    if (!free) continue;
    for (uint32_t i = 0; i < n; ++i) used_[base + i] = true;
    return base;
  }
  return UINT32_MAX;
}

int UdpGenerations::slot(const std::string& key, size_t worker) const {
  std::lock_guard lock(mu_);
  auto it = groups_by_key_.find(key);
  if (it == groups_by_key_.end() || worker >= it->second.workers) return -1;
  return static_cast<int>(it->second.base + it->second.half * it->second.workers + worker);
}

std::string UdpGenerations::handover_state() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [key, g] : groups_by_key_)
    groups.push_back({{"key", key},
                      {"addr", g.addr.to_string()},
                      {"base", g.base},
                      {"workers", g.workers},
                      {"half", g.half},
                      {"v6_prefix", g.v6_prefix}});
  return nlohmann::json{{"groups", groups}}.dump();
}

std::vector<int> UdpGenerations::handover_fds() const {
  std::vector<int> out{prog_.get(), sockets_.get(), groups_.get(), flows_.get()};
  for (const auto& [key, g] : groups_by_key_)
    for (const auto& fd : g.all) out.push_back(fd.get());
  return out;
}

bool UdpGenerations::adopt(const std::string& state, std::vector<core::UniqueFd> fds,
                           std::string* error) {
  // The old process's words: every field is checked before anything is taken, so a state this
  // binary cannot read fails the upgrade (the old process keeps serving), never half-adopts.
  const nlohmann::json j = nlohmann::json::parse(state, nullptr, false);
  *error = "upgrade: unreadable UDP generation state";
  if (!j.is_object() || !j.contains("groups") || !j["groups"].is_array() || fds.size() < 4)
    return false;
  auto number = [](const nlohmann::json& e, const char* k, uint32_t max, uint32_t* out) {
    if (!e.contains(k) || !e[k].is_number_unsigned() || e[k].get<uint64_t>() > max) return false;
    *out = e[k].get<uint32_t>();
    return true;
  };
  std::vector<std::pair<std::string, Group>> parsed;
  size_t i = 4;
  const auto slots = static_cast<uint32_t>(used_.size());
  for (const auto& e : j["groups"]) {
    Group g;
    uint32_t half = 0;
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string() || !e.contains("addr") ||
        !e["addr"].is_string() || !number(e, "base", slots, &g.base) ||
        !number(e, "workers", slots / 2, &g.workers) || g.workers == 0 ||
        g.base + 2 * g.workers > slots || !number(e, "half", 1, &half) ||
        !number(e, "v6_prefix", 128, &g.v6_prefix))
      return false;
    auto addr = net::SockAddr::parse(e["addr"].get<std::string>());
    if (!addr) return false;
    g.addr = *addr;
    g.half = 1 - half;  // the other half: the old process reads its own
    if (fds.size() - i < 2 * g.workers) {
      *error = "upgrade: sockets of " + e["key"].get<std::string>() + " missing";
      return false;
    }
    for (uint32_t k = 0; k < 2 * g.workers; ++k) g.all.push_back(std::move(fds[i++]));
    parsed.emplace_back(e["key"].get<std::string>(), std::move(g));
  }
  error->clear();
  prog_ = std::move(fds[0]);
  sockets_ = std::move(fds[1]);
  groups_ = std::move(fds[2]);
  flows_ = std::move(fds[3]);
  std::lock_guard lock(mu_);
  for (auto& [key, g] : parsed) {
    for (uint32_t k = 0; k < 2 * g.workers; ++k) used_[g.base + k] = true;
    groups_by_key_.emplace(key, std::move(g));
  }
  return true;
}

}  // namespace rampart::xdp
