#include "telemetry/rollup.h"

namespace rampart::telemetry {

void Rollup::add(const ConnEvent& e) {
  const int64_t ts = e.timestamp_ns / 1'000'000'000;
  RollupKey k;
  k.minute = ts / 60;
  k.app = e.app;
  k.event = e.type;
  k.ip_version = e.client_ip.is_v4() ? 4 : 6;
  k.status = e.status;
  std::lock_guard lock(mu_);
  if (ts > last_event_s_) last_event_s_ = ts;
  RollupValue& v = pending_[k];
  ++v.count;
  if (e.type == EventType::kDisconnect) {
    v.bytes_ingress += e.client_bytes;
    v.bytes_egress += e.origin_bytes;
    const uint64_t d = e.duration_ms();
    v.duration_sum_ms += d;
    ++v.durations_count;
    ++v.durations[duration_bucket(d)];
  }
}

std::vector<std::pair<RollupKey, RollupValue>> Rollup::take() {
  std::map<RollupKey, RollupValue> taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(pending_);
  }
  return {std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end())};
}

int64_t Rollup::last_event_s() const {
  std::lock_guard lock(mu_);
  return last_event_s_;
}

}  // namespace rampart::telemetry
