#include "core/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace rampart::core {

PipePool::PipePool(size_t pipe_size, size_t max_idle, FdBudget* budget)
    : pipe_size_(pipe_size), max_idle_(max_idle), budget_(budget) {}

PipePool::~PipePool() {
  for (Pipe p : idle_) discard(p);
}

Pipe PipePool::get() {
  if (!idle_.empty()) {
    Pipe p = idle_.back();
    idle_.pop_back();
    return p;
  }
  if (budget_ != nullptr && !budget_->try_acquire(FdBudget::kTcpPipes)) return Pipe{};
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    if (budget_ != nullptr) budget_->release(FdBudget::kTcpPipes);
    return Pipe{};
  }
  if (pipe_size_ > 0) fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
  return Pipe{fds[0], fds[1]};
}

bool PipePool::can_get() const {
  if (!idle_.empty() || budget_ == nullptr) return true;
  return budget_->in_use(FdBudget::kTcpPipes) < budget_->limit(FdBudget::kTcpPipes);
}

void PipePool::put(Pipe p) {
  if (!p.valid()) return;
  // Idle pipes hold budget units other workers may need: one pool keeps at most a quarter of
  // the budget idle.
  const bool hoarding =
      budget_ != nullptr && (idle_.size() + 1) * 4 > budget_->limit(FdBudget::kTcpPipes);
  if (idle_.size() >= max_idle_ || hoarding) {
    discard(p);
    return;
  }
  idle_.push_back(p);
}

void PipePool::discard(Pipe p) {
  if (!p.valid()) return;
  destroy(p);
  if (budget_ != nullptr) budget_->release(FdBudget::kTcpPipes);
}

void PipePool::destroy(Pipe p) {
  if (p.rd >= 0) ::close(p.rd);
  if (p.wr >= 0) ::close(p.wr);
}

}  // namespace rampart::core
