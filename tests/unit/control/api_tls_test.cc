// make_api_tls_context: what is not a regular PEM file of at most 1 MiB is refused at once, before
// OpenSSL reads it (api.tls.certificate: /dev/zero used to hang serve at start).
#include "control/api_tls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "config/file_read.h"
#include "test_support.h"

namespace rampart::control {
namespace {

TEST(ApiTls, DevicesAndOversizedFilesAreRefusedBeforeLoading) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  EXPECT_EQ(make_api_tls_context("/dev/zero", "/dev/zero", &error), nullptr);
  EXPECT_NE(error.find("api.tls.certificate: cannot read /dev/zero: /dev/zero is a character "
                       "device"),
            std::string::npos)
      << error;
  rampart::testing::TempDir dir;
  const std::string big = dir.file("big.pem");
  std::FILE* f = std::fopen(big.c_str(), "w");
  ASSERT_NE(f, nullptr);
  const std::string chunk(64 * 1024, '#');
  for (size_t i = 0; i <= config::kMaxPemFileBytes / chunk.size(); ++i)
    std::fputs(chunk.c_str(), f);
  std::fclose(f);
  error.clear();
  EXPECT_EQ(make_api_tls_context(big, big, &error), nullptr);
  EXPECT_NE(error.find("over the 1.0 MiB limit"), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace rampart::control
