// Descriptors for the upgrade-handover tests (server/kernel_handover_test, xdp/xdp_handover_test,
// xdp/udp_generations_test): distinct open files to pass around, told apart by inode, and the
// duplicates SCM_RIGHTS would deliver for borrowed descriptors.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

#include "core/unique_fd.h"

namespace rampart::testing {

// n descriptors of n distinct files (memfds): unlike a pipe's two ends, no two share an inode.
inline std::vector<core::UniqueFd> distinct_files(size_t n) {
  std::vector<core::UniqueFd> out;
  for (size_t i = 0; i < n; ++i) out.emplace_back(::memfd_create("rampart-test", MFD_CLOEXEC));
  return out;
}

// The file behind `fd` (0 when it cannot tell).
inline ino_t inode_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// What the receiving process gets for `borrowed`: duplicates, in order.
inline std::vector<core::UniqueFd> duplicates_of(const std::vector<int>& borrowed) {
  std::vector<core::UniqueFd> out;
  for (int fd : borrowed) out.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  return out;
}

}  // namespace rampart::testing
