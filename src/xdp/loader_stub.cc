// xdp::Loader for builds without libbpf (the documented fallback, docs/xdp.md): it never loads
// anything, says so once, and the guard runs in userspace only.
#include "core/log.h"
#include "xdp/loader.h"

namespace rampart::xdp {

struct Loader::Impl {};

Loader::Loader() = default;
Loader::~Loader() = default;
bool Loader::supported() {
  return false;
}
bool Loader::loaded() const {
  return false;
}
bool Loader::attached() const {
  return false;
}
int Loader::prog_fd() const {
  return -1;
}
int Loader::bans_fd() const {
  return -1;
}

bool Loader::load(std::string* error) {
  *error = "this build has no XDP support (built without libbpf)";
  return false;
}

bool Loader::attach(const config::XdpConfig& x) {
  if (x.mode == config::XdpMode::kOff) return false;
  RLOG_WARN("xdp: not attached to ", x.interface,
            ": this build has no XDP support (built without libbpf); the guard runs in userspace "
            "only");
  return false;
}

void Loader::detach() {}
bool Loader::sync(const MapPlan&) {
  return false;
}
void Loader::banned(const net::Cidr&, int64_t) {}
void Loader::unban(const net::Cidr&) {}
Counters Loader::counters() const {
  return {};
}
std::string Loader::handover_state() const {
  return "";
}
std::vector<int> Loader::handover_fds() const {
  return {};
}
bool Loader::adopt(const std::string&, std::vector<core::UniqueFd>, const config::XdpConfig& want) {
  return attach(want);
}
bool Loader::took_over() const {
  return false;
}
void Loader::freeze() {}
void Loader::release() {}
void Loader::reclaim(const MapPlan&) {}
std::string Loader::object_hash() {
  return "";
}

}  // namespace rampart::xdp
