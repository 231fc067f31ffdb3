// Bounded reads of the files a config names (the config itself, api.token_file, PEM files):
// what is not a regular file (a FIFO, /dev/zero, a directory) and what is larger than a cap is
// refused at once, with a message, instead of blocking or reading without end. Stateless; any
// thread.
#pragma once

#include <cstddef>
#include <string>

namespace rampart::config {

inline constexpr size_t kMaxConfigFileBytes = 4u << 20;   // the YAML config
inline constexpr size_t kMaxSecretFileBytes = 64u << 10;  // api.token_file and the like
inline constexpr size_t kMaxPemFileBytes = 1u << 20;      // a certificate chain, key or CA bundle

// Checks with stat() that `path` is a regular file of at most max_bytes, and only then opens it
// (without blocking; never a device node, a FIFO or a socket: opening /dev/watchdog as root arms
// it), checks the opened file again and reads it whole into *out. False with *error
// ("is a FIFO, not a regular file", "is 5.0 MiB, over the 4.0 MiB limit", strerror) otherwise.
bool read_regular_file(const std::string& path, size_t max_bytes, std::string* out,
                       std::string* error);
// The same checks without reading: for files that another library opens by name (OpenSSL).
bool check_regular_file(const std::string& path, size_t max_bytes, std::string* error);

}  // namespace rampart::config
