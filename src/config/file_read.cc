#include "config/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rampart::config {
namespace {

std::string size_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20))
    snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
  else if (bytes >= 1024)
    snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The checks of what stat() says: a regular file of at most max_bytes.
bool acceptable(const std::string& path, const struct stat& st, size_t max_bytes,
                std::string* error) {
  if (!S_ISREG(st.st_mode)) {
    *error = path + " is " + kind_of(st.st_mode) + ", not a regular file";
    return false;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *error = path + " is " + std::to_string(st.st_size) + " bytes, over the " +
             size_text(max_bytes) + " limit; is it the right file?";
    return false;
  }
  return true;
}

// Checks, then opens; returns the fd (>= 0) or -1 with *error set. What the path names is looked
// at with stat() before any open(): the edge often runs as root, and opening a device node can
// act on it (/dev/watchdog arms the watchdog, a tape rewinds), so only a regular file is opened.
// The opened fd is checked again (the path may have been swapped in between).
int open_checked(const std::string& path, size_t max_bytes, struct stat* st, std::string* error) {
  if (::stat(path.c_str(), st) != 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return -1;
  }
  if (!acceptable(path, *st, max_bytes, error)) return -1;
  const dev_t dev = st->st_dev;
  const ino_t ino = st->st_ino;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return -1;
  }
  if (::fstat(fd, st) != 0) {
    *error = "cannot stat " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (!acceptable(path, *st, max_bytes, error)) {
    ::close(fd);
    return -1;
  }
  if (st->st_dev != dev || st->st_ino != ino) {
    *error = path + " was replaced while being opened";
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool read_regular_file(const std::string& path, size_t max_bytes, std::string* out,
                       std::string* error) {
  struct stat st {};
  int fd = open_checked(path, max_bytes, &st, error);
  if (fd < 0) return false;
  out->clear();
  out->reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    // The file grew since fstat: still bounded.
    if (out->size() > max_bytes) {
      *error = path + " grew past the " + size_text(max_bytes) + " limit while being read";
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

bool check_regular_file(const std::string& path, size_t max_bytes, std::string* error) {
  struct stat st {};
  int fd = open_checked(path, max_bytes, &st, error);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace rampart::config
