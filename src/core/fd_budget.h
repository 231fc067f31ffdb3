// The edge's descriptor budgets at run time: for each kind of data-plane resource, a limit (set
// from the plan derived from RLIMIT_NOFILE, edge/budget.h) and how many are held now. Sessions,
// pipes and flows take a unit before they open a descriptor and give it back when they close
// it, so the data plane never opens more than its budgets allow and never meets EMFILE in the
// descriptors kept for the API and the rest of the process. Shared by every worker: counts are
// relaxed atomics (one compare-and-swap per new connection or flow, no lock); limits are written
// by the control thread on start and reload, read by everyone.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace rampart::core {

class FdBudget {
 public:
  enum Kind : size_t {
    kTcpSessions,     // client + origin socket: 2 fds each
    kTcpPipes,        // splice pipes, idle in a pool or holding bytes: 2 fds each
    kUdpConfirmed,    // flows whose client spoke again after the origin's reply: 1 fd each
    kUdpUnconfirmed,  // every other flow: 1 fd each
    kKinds
  };
  static const char* name(Kind k);

  // Takes one unit of `k` if the limit allows; false when it is full.
  bool try_acquire(Kind k) {
    std::atomic<uint64_t>& used = used_[k];
    uint64_t cur = used.load(std::memory_order_relaxed);
    const uint64_t cap = limit(k);
    do {
      if (cur >= cap) return false;
    } while (!used.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
  }
  // Takes one unit whatever the limit (the caller enforces its own share of it).
  void acquire(Kind k) { used_[k].fetch_add(1, std::memory_order_relaxed); }
  void release(Kind k) { used_[k].fetch_sub(1, std::memory_order_relaxed); }

  uint64_t limit(Kind k) const { return limit_[k].load(std::memory_order_relaxed); }
  uint64_t in_use(Kind k) const { return used_[k].load(std::memory_order_relaxed); }
  // A lower limit never closes anything: new units are refused until use falls below it.
  void set_limit(Kind k, uint64_t n) { limit_[k].store(n, std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kKinds> limit_{};
  std::array<std::atomic<uint64_t>, kKinds> used_{};
};

// One unit of an FdBudget held by one session or flow: given back when the unit is destroyed or
// reset. Moves, never copies. An empty unit (no budget: tests) holds nothing and gives nothing
// back. Owned by the session or flow; the thread that owns it.
class FdUnit {
 public:
  FdUnit() = default;
  // A unit of `k` if the limit allows (always with a null budget); check held() or ok.
  static FdUnit try_take(FdBudget* b, FdBudget::Kind k) {
    if (b == nullptr) return FdUnit(nullptr, k, true);
    return b->try_acquire(k) ? FdUnit(b, k, true) : FdUnit(nullptr, k, false);
  }
  // A unit of `k` whatever the limit (the caller enforces its own share of it).
  static FdUnit take(FdBudget* b, FdBudget::Kind k) {
    if (b != nullptr) b->acquire(k);
    return FdUnit(b, k, true);
  }
  FdUnit(FdUnit&& o) noexcept
      : budget_(std::exchange(o.budget_, nullptr)), kind_(o.kind_), ok_(o.ok_) {}
  FdUnit& operator=(FdUnit&& o) noexcept {
    if (this != &o) {
      reset();
      budget_ = std::exchange(o.budget_, nullptr);
      kind_ = o.kind_;
      ok_ = o.ok_;
    }
    return *this;
  }
  FdUnit(const FdUnit&) = delete;
  FdUnit& operator=(const FdUnit&) = delete;
  ~FdUnit() { reset(); }

  // Taken (or no budget to take from); false when the budget refused.
  bool ok() const { return ok_; }
  FdBudget::Kind kind() const { return kind_; }
  void reset() {
    if (budget_ != nullptr) budget_->release(kind_);
    budget_ = nullptr;
  }

 private:
  FdUnit(FdBudget* b, FdBudget::Kind k, bool ok) : budget_(b), kind_(k), ok_(ok) {}
  FdBudget* budget_ = nullptr;
  FdBudget::Kind kind_ = FdBudget::kTcpSessions;
  bool ok_ = false;
};

inline const char* FdBudget::name(Kind k) {
  switch (k) {
    case kTcpSessions:
      return "tcp_sessions";
    case kTcpPipes:
      return "tcp_pipes";
    case kUdpConfirmed:
      return "udp_confirmed_flows";
    case kUdpUnconfirmed:
      return "udp_unconfirmed_flows";
    default:
      return "unknown";
  }
}

}  // namespace rampart::core
