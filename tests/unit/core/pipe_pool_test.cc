// PipePool: pipes are reused, the idle cap closes the surplus, the size option is applied, and a
// budget bounds the pipes made.
#include "core/pipe_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace rampart::core {
namespace {

bool fd_open(int fd) {
  return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

TEST(PipePool, GetMakesAWorkingNonBlockingPipe) {
  PipePool pool;
  Pipe p = pool.get();
  ASSERT_TRUE(p.valid());
  EXPECT_TRUE(fcntl(p.rd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(p.wr, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(p.rd, F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(write(p.wr, "abc", 3), 3);
  char buf[4];
  ASSERT_EQ(read(p.rd, buf, sizeof buf), 3);
  EXPECT_EQ(read(p.rd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  pool.put(p);
  EXPECT_EQ(pool.idle(), 1u);
}

TEST(PipePool, ReusesReturnedPipes) {
  PipePool pool;
  Pipe a = pool.get();
  Pipe b = pool.get();
  ASSERT_TRUE(a.valid());
  ASSERT_TRUE(b.valid());
  EXPECT_NE(a.rd, b.rd);
  pool.put(a);
  pool.put(b);
  EXPECT_EQ(pool.idle(), 2u);
  Pipe c = pool.get();
  Pipe d = pool.get();
  EXPECT_EQ(pool.idle(), 0u);
  // Same kernel pipes handed out again (LIFO), no new fds.
  EXPECT_EQ(c.rd, b.rd);
  EXPECT_EQ(c.wr, b.wr);
  EXPECT_EQ(d.rd, a.rd);
  EXPECT_EQ(d.wr, a.wr);
  pool.put(c);
  pool.put(d);
}

TEST(PipePool, IdleCapClosesTheSurplus) {
  PipePool pool(0, 2);
  std::vector<Pipe> pipes;
  for (int i = 0; i < 4; ++i) {
    pipes.push_back(pool.get());
    ASSERT_TRUE(pipes.back().valid());
  }
  for (Pipe p : pipes) pool.put(p);
  EXPECT_EQ(pool.idle(), 2u);
  // The first two were kept, the last two closed at once.
  EXPECT_TRUE(fd_open(pipes[0].rd));
  EXPECT_TRUE(fd_open(pipes[1].wr));
  EXPECT_FALSE(fd_open(pipes[2].rd));
  EXPECT_FALSE(fd_open(pipes[2].wr));
  EXPECT_FALSE(fd_open(pipes[3].rd));
  EXPECT_FALSE(fd_open(pipes[3].wr));
}

TEST(PipePool, ZeroCapKeepsNothing) {
  PipePool pool(0, 0);
  Pipe p = pool.get();
  ASSERT_TRUE(p.valid());
  pool.put(p);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_FALSE(fd_open(p.rd));
}

TEST(PipePool, PutOfAnInvalidPipeIsIgnored) {
  PipePool pool;
  pool.put(Pipe{});
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(PipePool, DestructorClosesIdlePipes) {
  Pipe p;
  {
    PipePool pool;
    p = pool.get();
    pool.put(p);
  }
  EXPECT_FALSE(fd_open(p.rd));
  EXPECT_FALSE(fd_open(p.wr));
}

TEST(PipePool, DestroyClosesBothEnds) {
  PipePool pool;
  Pipe p = pool.get();
  PipePool::destroy(p);
  EXPECT_FALSE(fd_open(p.rd));
  EXPECT_FALSE(fd_open(p.wr));
}

// With a budget, every pipe made holds a unit until it is closed (idle ones included): the pool
// never opens more pipes than the budget, and says so before a caller needs one.
TEST(PipePool, BudgetBoundsThePipesMade) {
  FdBudget budget;
  budget.set_limit(FdBudget::kTcpPipes, 4);
  PipePool pool(0, 256, &budget);
  EXPECT_TRUE(pool.can_get());
  std::vector<Pipe> out;
  for (int i = 0; i < 4; ++i) {
    out.push_back(pool.get());
    ASSERT_TRUE(out.back().valid());
  }
  EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 4u);
  EXPECT_FALSE(pool.can_get());
  EXPECT_FALSE(pool.get().valid());  // spent: no pipe2() at all
  // A pipe put back stays idle (its unit with it) and is reused.
  pool.put(out[0]);
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_TRUE(pool.can_get());
  EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 4u);
  Pipe again = pool.get();
  EXPECT_EQ(again.rd, out[0].rd);
  // discard() closes and gives the unit back.
  pool.discard(again);
  EXPECT_FALSE(fd_open(again.rd));
  EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 3u);
  EXPECT_TRUE(pool.can_get());
  for (size_t i = 1; i < out.size(); ++i) pool.discard(out[i]);
  EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 0u);
}

TEST(PipePool, IdlePipesHoldAtMostAQuarterOfTheBudget) {
  FdBudget budget;
  budget.set_limit(FdBudget::kTcpPipes, 8);
  std::vector<Pipe> pipes;
  {
    PipePool pool(0, 256, &budget);
    for (int i = 0; i < 8; ++i) pipes.push_back(pool.get());
    for (Pipe p : pipes) pool.put(p);
    EXPECT_EQ(pool.idle(), 2u);  // 8 / 4
    EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 2u);
  }
  // The destructor closes the idle ones and gives their units back.
  EXPECT_EQ(budget.in_use(FdBudget::kTcpPipes), 0u);
  for (Pipe p : pipes) EXPECT_FALSE(fd_open(p.rd));
}

TEST(PipePool, PipeSizeIsApplied) {
  PipePool pool(128 * 1024);
  Pipe p = pool.get();
  ASSERT_TRUE(p.valid());
  EXPECT_GE(fcntl(p.wr, F_GETPIPE_SZ), 128 * 1024);
  pool.put(p);
}

}  // namespace
}  // namespace rampart::core
