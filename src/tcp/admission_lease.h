// The guard's admission of one TCP connection (guard::Admission: the source's and the app's
// open-connection counts it took) held as a lease: Guard::release() runs once, when the lease is
// reset or destroyed, never by hand. Moves, never copies. The Guard and the AppPolicy must
// outlive it (the worker owns the guard; the session holds its app, which holds the policy).
// Owned by a Session; its worker thread.
#pragma once

#include <utility>

#include "guard/guard.h"
#include "net/ip_addr.h"

namespace rampart::tcp {

class AdmissionLease {
 public:
  AdmissionLease() = default;
  // `guard` or `policy` null: the guard is off, nothing to give back.
  AdmissionLease(guard::Guard* guard, const guard::AppPolicy* policy, const net::IpAddr& ip,
                 const guard::Admission& a)
      : guard_(guard), policy_(policy), ip_(ip), admission_(a) {}
  AdmissionLease(AdmissionLease&& o) noexcept
      : guard_(std::exchange(o.guard_, nullptr)),
        policy_(o.policy_),
        ip_(o.ip_),
        admission_(o.admission_) {}
  AdmissionLease& operator=(AdmissionLease&& o) noexcept {
    if (this != &o) {
      reset();
      guard_ = std::exchange(o.guard_, nullptr);
      policy_ = o.policy_;
      ip_ = o.ip_;
      admission_ = o.admission_;
    }
    return *this;
  }
  AdmissionLease(const AdmissionLease&) = delete;
  AdmissionLease& operator=(const AdmissionLease&) = delete;
  ~AdmissionLease() { reset(); }

  // The verdict (its rule and GeoIP facts stay readable after reset(), for the close event).
  const guard::Admission& admission() const { return admission_; }
  void reset() {
    if (guard_ != nullptr && policy_ != nullptr) guard_->release(*policy_, ip_, admission_);
    guard_ = nullptr;
    admission_.tracked_app = admission_.tracked_source = false;
  }

 private:
  guard::Guard* guard_ = nullptr;
  const guard::AppPolicy* policy_ = nullptr;
  net::IpAddr ip_;
  guard::Admission admission_;
};

}  // namespace rampart::tcp
