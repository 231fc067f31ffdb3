// xdp::UdpRelay for builds without libbpf: it never loads, and every UDP flow stays in user space.
#include "xdp/relay_udp.h"

namespace rampart::xdp {

struct UdpRelay::Impl {};

UdpRelay::UdpRelay() = default;
UdpRelay::~UdpRelay() = default;
bool UdpRelay::supported() {
  return false;
}
bool UdpRelay::loaded() const {
  return false;
}
int UdpRelay::prog_fd() const {
  return -1;
}
int UdpRelay::flows_fd() const {
  return -1;
}
int UdpRelay::bans_fd() const {
  return -1;
}
bool UdpRelay::load(uint32_t, int, std::string* error) {
  *error = "this build has no BPF support (built without libbpf)";
  return false;
}
bool UdpRelay::attach(int, std::string* error) {
  *error = "this build has no BPF support (built without libbpf)";
  return false;
}
size_t UdpRelay::attach_all(const std::vector<std::string>&) {
  return 0;
}
void UdpRelay::put_addr(const net::SockAddr& a, uint8_t out[16], uint16_t* port_be) {
  const auto m = a.ip().as_v6_mapped();
  for (size_t i = 0; i < 16; ++i) out[i] = m[i];
  *port_be = static_cast<uint16_t>((a.port() >> 8) | (a.port() << 8));
}
bool UdpRelay::add(const rrelay_key&, const rrelay_flow&, const rrelay_key&, const rrelay_flow&) {
  return false;
}
void UdpRelay::remove(const rrelay_key&, const rrelay_key&) {}
bool UdpRelay::read(const rrelay_key&, rrelay_flow*) const {
  return false;
}
bool UdpRelay::take(const rrelay_key&, rrelay_flow*) {
  return false;
}
uint32_t UdpRelay::app_no(const std::string&) {
  return 0;
}
void UdpRelay::banned(const net::Cidr&, int64_t) {}
void UdpRelay::unban(const net::Cidr&) {}
RelayCounters UdpRelay::counters() const {
  return {};
}

std::string UdpRelay::handover_state() const {
  return "";
}
std::vector<int> UdpRelay::handover_fds() const {
  return {};
}
bool UdpRelay::adopt(const std::string&, std::vector<core::UniqueFd>, std::string* why) {
  *why = "this build has no kernel relay (built without libbpf)";
  return false;
}
void UdpRelay::release() {}
bool UdpRelay::shares_bans_with(int) const {
  return false;
}
std::string UdpRelay::object_hash() {
  return "";
}

}  // namespace rampart::xdp
