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

// Opens and checks; returns the fd (>= 0) or -1 with *error set.
int open_checked(const std::string& path, size_t max_bytes, struct stat* st, std::string* error) {
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
  if (!S_ISREG(st->st_mode)) {
    *error = path + " is " + kind_of(st->st_mode) + ", not a regular file";
    ::close(fd);
    return -1;
  }
  if (static_cast<uint64_t>(st->st_size) > max_bytes) {
    *error = path + " is " + std::to_string(st->st_size) + " bytes, over the " +
             size_text(max_bytes) + " limit; is it the right file?";
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
