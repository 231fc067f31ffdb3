// A per-worker pool of kernel pipes for splice(2). A connection borrows a pipe only while bytes
// sit in it and gives it back when it is empty, so idle connections hold no pipe (two fds and
// up to `pipe_size` of kernel memory saved per direction). Owned by one worker thread.
#pragma once

#include <cstddef>
#include <vector>

namespace rampart::core {

struct Pipe {
  int rd = -1;
  int wr = -1;
  bool valid() const { return rd >= 0; }
};

class PipePool {
 public:
  // pipe_size 0 keeps the kernel default (64 KiB); max_idle caps the pipes kept for reuse.
  explicit PipePool(size_t pipe_size = 0, size_t max_idle = 256);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  // An empty pipe, or an invalid Pipe when none can be made (EMFILE...).
  Pipe get();
  // Gives back a pipe that holds no bytes.
  void put(Pipe p);
  // Closes a pipe whose content is unknown (a connection aborted with bytes inside).
  static void destroy(Pipe p);
  size_t idle() const { return idle_.size(); }

 private:
  size_t pipe_size_;
  size_t max_idle_;
  std::vector<Pipe> idle_;
};

}  // namespace rampart::core
