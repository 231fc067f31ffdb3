#include "core/keyed_hash.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/clock.h"
#include "core/log.h"

namespace rampart::core {

namespace {

bool fill_random(uint8_t* out, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(out + got, len - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (got == len) return true;
  // getrandom(2) is missing only on kernels older than 3.17; the device then.
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, out + got, len - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (!(n < 0 && errno == EINTR)) {
      break;
    }
  }
  ::close(fd);
  return got == len;
}

HashKey draw_key() {
  uint8_t bytes[16];
  if (!fill_random(bytes, sizeof bytes)) {
    // No entropy source at all: refusing to start would take the edge down for a table's
    // sake, and a predictable key only brings back the old unkeyed behaviour. Say so.
    RLOG_ERROR(
        "keyed hash: no random source (getrandom, /dev/urandom); table hashes use a "
        "clock-derived key, which an attacker may guess");
    const uint64_t t = static_cast<uint64_t>(monotonic_ns()) ^
                       (static_cast<uint64_t>(realtime_ns()) << 1) ^
                       static_cast<uint64_t>(getpid()) << 32;
    for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(t >> (8 * (i % 8)) ^ (i * 131));
  }
  return HashKey::from_bytes(bytes);
}

}  // namespace

const HashKey& process_hash_key() {
  static const HashKey key = draw_key();
  return key;
}

}  // namespace rampart::core
