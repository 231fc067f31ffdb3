// A per-worker pool of kernel pipes for splice(2). A connection borrows a pipe only while bytes
// sit in it and gives it back when it is empty, so idle connections hold no pipe (two fds and
// up to `pipe_size` of kernel memory saved per direction). With a budget, every pipe made
// (idle in the pool or lent out) holds one unit of FdBudget::kTcpPipes: when the budget is
// spent, get() fails and callers relay without a pipe. Owned by one worker thread.
#pragma once

#include <cstddef>
#include <vector>

#include "core/fd_budget.h"

namespace rampart::core {

struct Pipe {
  int rd = -1;
  int wr = -1;
  bool valid() const { return rd >= 0; }
};

class PipePool {
 public:
  // pipe_size 0 keeps the kernel default (64 KiB); max_idle caps the pipes kept for reuse;
  // budget (may be null: no limit) is shared with the other workers' pools.
  explicit PipePool(size_t pipe_size = 0, size_t max_idle = 256, FdBudget* budget = nullptr);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  // An empty pipe, or an invalid Pipe when none can be made (budget spent, EMFILE...).
  Pipe get();
  // Whether get() would give a pipe now (one is idle, or the budget has room).
  bool can_get() const;
  // Gives back a pipe that holds no bytes.
  void put(Pipe p);
  // Closes a pipe of this pool whose content is unknown (a connection aborted with bytes
  // inside) and gives its budget unit back.
  void discard(Pipe p);
  // Closes both ends of a pipe (no budget involved).
  static void destroy(Pipe p);
  size_t idle() const { return idle_.size(); }

 private:
  size_t pipe_size_;
  size_t max_idle_;
  FdBudget* budget_;
  std::vector<Pipe> idle_;
};

}  // namespace rampart::core
