// prepare_data_dir / make_db_private.
#include "control/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace rampart::control {

bool prepare_data_dir(const std::string& dir, std::string* error) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      *error = "edge.data_dir: " + dir + " is not a directory";
      return false;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      RLOG_WARN("edge.data_dir: ", dir, " is writable by ",
                (st.st_mode & S_IWOTH) != 0 ? "every user" : "its group",
                ", who could replace the edge's databases; chmod 700 ", dir);
    return true;
  }
  std::error_code ec;
  const std::filesystem::path p(dir);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec || (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)) {
    *error = "edge.data_dir: cannot create " + dir + ": " +
             (ec ? ec.message() : std::string(std::strerror(errno)));
    return false;
  }
  ::chmod(dir.c_str(), 0700);  // mkdir's mode passes through the umask
  return true;
}

bool make_db_private(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int chmod_errno = errno;
  ::close(fd);
  if (!ok) {
    *error = "cannot make " + path + " private (chmod 600): " + std::strerror(chmod_errno);
    return false;
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string side = path + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      *error = "cannot make " + side + " private (chmod 600): " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

}  // namespace rampart::control
