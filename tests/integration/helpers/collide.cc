// collide: writes IPv6 addresses of one /64 whose keys all fell into a single bucket of the
// guard's source table before issue #10 (its unkeyed hash; old_source_hash.h), one per line,
// for `spoof --sources FILE`. Compiled at test time (c++ -O2 -std=c++20 collide.cc).
//
//   collide --prefix fd77:99:0:1:: --app APP_ID --count N [--capacity 100000]
//
// Before writing, it checks that the keys do collide: every old hash is 0 modulo every bucket
// count the old table goes through while it holds N keys; a summary goes to stderr.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "old_source_hash.h"

int main(int argc, char** argv) {
  const char* prefix_s = nullptr;
  std::string app;
  size_t count = 0, capacity = 100'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--prefix"))
      prefix_s = argv[i + 1];
    else if (!std::strcmp(argv[i], "--app"))
      app = argv[i + 1];
    else if (!std::strcmp(argv[i], "--count"))
      count = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--capacity"))
      capacity = std::strtoul(argv[i + 1], nullptr, 10);
  }
  uint8_t addr[16];
  if (prefix_s == nullptr || app.empty() || count == 0 ||
      inet_pton(AF_INET6, prefix_s, addr) != 1) {
    std::fprintf(stderr, "usage: collide --prefix IPV6 --app APP_ID --count N [--capacity C]\n");
    return 2;
  }
  const uint64_t app_key = old_source_hash::app_key(app);
  const auto keys = old_source_hash::colliding_keys(addr, app_key, count, capacity);
  const auto buckets = old_source_hash::bucket_counts(capacity, count);
  if (keys.size() != count) {
    std::fprintf(stderr, "collide: cannot make %zu colliding keys\n", count);
    return 1;
  }
  for (const auto& k : keys)
    for (size_t b : buckets)
      if (old_source_hash::Hash()(k) % b != 0) {
        std::fprintf(stderr, "collide: a key misses bucket 0 of %zu\n", b);
        return 1;
      }
  char text[INET6_ADDRSTRLEN];
  for (const auto& k : keys) {
    inet_ntop(AF_INET6, k.addr, text, sizeof text);
    std::printf("%s\n", text);
  }
  std::string sizes;
  for (size_t b : buckets) sizes += " " + std::to_string(b);
  std::fprintf(stderr,
               "collide: %zu addresses of %s/64 for app %s share bucket 0 of the old table at "
               "every size it takes (bucket counts%s)\n",
               count, prefix_s, app.c_str(), sizes.c_str());
  return 0;
}
