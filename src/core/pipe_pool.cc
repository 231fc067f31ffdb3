#include "core/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace rampart::core {

PipePool::PipePool(size_t pipe_size, size_t max_idle)
    : pipe_size_(pipe_size), max_idle_(max_idle) {}

PipePool::~PipePool() {
  for (Pipe p : idle_) destroy(p);
}

Pipe PipePool::get() {
  if (!idle_.empty()) {
    Pipe p = idle_.back();
    idle_.pop_back();
    return p;
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return Pipe{};
  if (pipe_size_ > 0) fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
  return Pipe{fds[0], fds[1]};
}

void PipePool::put(Pipe p) {
  if (!p.valid()) return;
  if (idle_.size() >= max_idle_) {
    destroy(p);
    return;
  }
  idle_.push_back(p);
}

void PipePool::destroy(Pipe p) {
  if (p.rd >= 0) ::close(p.rd);
  if (p.wr >= 0) ::close(p.wr);
}

}  // namespace rampart::core
