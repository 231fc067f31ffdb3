#include "xdp/tcp_relay_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace rampart::xdp {
extern const unsigned char kRelayTcpBpfObject[];
extern const size_t kRelayTcpBpfObjectSize;

namespace {
// The mmap of ktr_pauses: one __u64 per worker, rounded to pages.
constexpr size_t kPausesBytes = (KTR_MAX_WORKERS * sizeof(uint64_t) + 4095) / 4096 * 4096;
}  // namespace

TcpRelayLoader::TcpRelayLoader() = default;
TcpRelayLoader::~TcpRelayLoader() {
  maps_.reset();
  if (pauses_map_ != nullptr) ::munmap(pauses_map_, kPausesBytes);
}

bool TcpRelayLoader::supported() {
  return true;
}

bool TcpRelayLoader::load(uint32_t connections, std::string* error) {
  if (loaded()) return true;
  if (connections == 0) connections = 1;
  const uint32_t sockets = connections > UINT32_MAX / 2 ? UINT32_MAX : 2 * connections;
  bpf_object_open_opts opts{};
  opts.sz = sizeof opts;
  opts.object_name = "rampart_relay_tcp";
  bpf_object* obj = bpf_object__open_mem(kRelayTcpBpfObject, kRelayTcpBpfObjectSize, &opts);
  if (obj == nullptr) {
    *error = std::string("cannot open the embedded sockmap program: ") + std::strerror(errno);
    return false;
  }
  // Both SOCKHASHes and the direction map hold every relayed socket.
  for (const char* name : {"ktr_socks", "ktr_targets", "ktr_dirs"})
    bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, name), sockets);
  if (int rc = bpf_object__load(obj); rc != 0) {
    *error =
        std::string("the kernel refused the sockmap program: ") + std::strerror(rc < 0 ? -rc : rc);
    bpf_object__close(obj);
    return false;
  }
  auto dup_of = [](int fd) {
    return core::UniqueFd(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1);
  };
  prog_ = dup_of(bpf_program__fd(bpf_object__find_program_by_name(obj, "ktr_verdict")));
  socks_ = dup_of(bpf_object__find_map_fd_by_name(obj, "ktr_socks"));
  targets_ = dup_of(bpf_object__find_map_fd_by_name(obj, "ktr_targets"));
  dirs_ = dup_of(bpf_object__find_map_fd_by_name(obj, "ktr_dirs"));
  pauses_ = dup_of(bpf_object__find_map_fd_by_name(obj, "ktr_pauses"));
  bpf_object__close(obj);
  if (!prog_.valid() || !socks_.valid() || !targets_.valid() || !dirs_.valid() ||
      !pauses_.valid()) {
    *error = "the embedded sockmap program lacks a map or its entry point";
    prog_.reset();
    return false;
  }
  if (bpf_prog_attach(prog_.get(), socks_.get(), BPF_SK_SKB_STREAM_VERDICT, 0) != 0) {
    *error = std::string("cannot attach the stream verdict program: ") + std::strerror(errno);
    prog_.reset();
    return false;
  }
  void* pauses = ::mmap(nullptr, kPausesBytes, PROT_READ, MAP_SHARED, pauses_.get(), 0);
  if (pauses == MAP_FAILED) {
    *error = std::string("cannot map the pause counters: ") + std::strerror(errno);
    prog_.reset();
    return false;
  }
  pauses_map_ = pauses;
  maps_ = std::make_unique<tcp::KernelRelayMaps>(socks_.get(), targets_.get(), dirs_.get(),
                                                 connections, static_cast<const uint64_t*>(pauses));
  return true;
}

}  // namespace rampart::xdp
