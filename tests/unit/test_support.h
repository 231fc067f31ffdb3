// Helpers shared by the unit tests of every folder (tests/unit/<folder>/*_test.cc): a temporary
// directory, polling for a condition, reproducible random payloads, addresses from text, and
// the config pieces the guard and XDP tests build by hand.
//
// The test binaries are unity builds (CMakeLists.txt: up to 8 test files in one translation
// unit), so a helper that more than one file needs lives here rather than being copied into
// each file's anonymous namespace, where the copies would clash within a batch.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::testing {

// A fresh directory under the system temp dir (<tmp>/<prefix>-XXXXXX), removed with everything
// in it when the object goes away, also when the test fails. Owned by the test's thread.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "rampart-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path_ = std::move(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory (not created).
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Polls `pred` every 2 ms until it holds (true) or `limit` has passed (false). For conditions
// another thread or process makes true; the test waits for the condition, not for a fixed time.
template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// `n` pseudo-random bytes, the same for the same seed (payloads to relay and compare).
inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// An address from its text form; throws (failing the test) if the text is not an address.
inline net::IpAddr ip(std::string_view text) {
  return net::IpAddr::parse(text).value();
}

// An ip_access_rules entry (config/model.h).
inline config::IpAccessRule rule(config::AccessMode mode, config::AccessTarget target,
                                 const char* value) {
  config::IpAccessRule r;
  r.mode = mode;
  r.target = target;
  r.value = value;
  return r;
}

// Protection with every limit off (0 = none), so a test turns on only what it checks.
inline config::ProtectionConfig no_limits() {
  config::ProtectionConfig p;
  p.per_ip = {0, 0, 0, 0, 0};
  p.max_connections = 0;
  p.autoban.violations = 0;
  p.udp_reflection_ports.clear();
  return p;
}

}  // namespace rampart::testing
