// xdp::TcpRelayLoader for builds without libbpf: it never loads, and every plain-TCP connection
// is relayed in user space (docs/kernel-relay.md, "Fallbacks").
#include "xdp/tcp_relay_loader.h"

namespace rampart::xdp {

TcpRelayLoader::TcpRelayLoader() = default;
TcpRelayLoader::~TcpRelayLoader() = default;

bool TcpRelayLoader::supported() {
  return false;
}

bool TcpRelayLoader::load(uint32_t, std::string* error) {
  *error = "this build has no BPF support (built without libbpf)";
  return false;
}

}  // namespace rampart::xdp
