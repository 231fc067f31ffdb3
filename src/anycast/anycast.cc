#include "anycast/anycast.h"

#include "core/log.h"
#include "edge/edge.h"

namespace rampart::anycast {

BirdSpeaker::BirdSpeaker(std::string socket_path, std::string protocol)
    : client_(std::move(socket_path)), protocol_(std::move(protocol)) {}

bool BirdSpeaker::announce(std::string* error) {
  return run("enable", error);
}
bool BirdSpeaker::withdraw(std::string* error) {
  return run("disable", error);
}

// "enable p" answers 0011 "p: enabled" or 0010 "p: already enabled"; "disable p" 0009 / 0008.
// A name BIRD does not know is a 9001 syntax error; a restricted socket answers 8007.
bool BirdSpeaker::run(const std::string& verb, std::string* error) {
  // A pattern ("rampart_anycast*") must be quoted; BIRD then acts on every protocol it matches.
  const bool pattern = protocol_.find_first_of("*?") != std::string::npos;
  BirdReply r = client_.command(verb + " " + (pattern ? '"' + protocol_ + '"' : protocol_), error);
  if (!r.complete) return false;
  if (!r.ok()) {
    *error = "BIRD refused \"" + verb + " " + protocol_ + "\": " + r.text();
    return false;
  }
  return true;
}

Health edge_health(const edge::Edge& edge, int64_t now_ms) {
  if (!edge.listeners_up()) return {false, "not every listener is open"};
  auto compiled = edge.compiled();
  if (!compiled || compiled->anycast.apps.empty()) return {false, "no apps"};
  for (const auto& app : compiled->anycast.apps) {
    if (!app.origins || app.origins->size() == 0)
      return {false, "app " + app.id + " has no origin"};
    if (!app.origins->any_up(now_ms)) return {false, "app " + app.id + ": no origin is up"};
  }
  return {true, std::to_string(compiled->anycast.apps.size()) +
                    " apps with an origin up, listeners open"};
}

AnycastMonitor::AnycastMonitor(edge::AnycastPlan plan, std::function<Health()> probe,
                               std::unique_ptr<RouteSpeaker> speaker)
    : plan_(std::move(plan)), probe_(std::move(probe)), speaker_(std::move(speaker)) {}

AnycastMonitor::~AnycastMonitor() {
  // An early return of the owner (e.g. the API failed to start) must not leave the route up.
  if (thread_.joinable()) shutdown();
}

std::string AnycastMonitor::prefixes() const {
  std::string out;
  for (const auto& prefix : plan_.prefixes) {
    if (!out.empty()) out += ", ";
    out += prefix;
  }
  return out;
}

void AnycastMonitor::start() {
  RLOG_INFO("anycast: ", prefixes(), " through BIRD at ", plan_.config.bird_socket, " (protocol ",
            plan_.config.protocol, "); announced once the edge is healthy");
  // A previous run that was killed may have left the protocol enabled.
  applied_known_ = apply(false, "starting");
  last_sent_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { run(); });
}

bool AnycastMonitor::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shut_) return !announced();
    shut_ = stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return apply(false, "shutting down");
}

void AnycastMonitor::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, plan_.config.check_interval, [this] { return stop_; })) break;
    lock.unlock();
    step();
    lock.lock();
  }
}

void AnycastMonitor::step(std::chrono::steady_clock::time_point now) {
  Health h = probe_();
  const bool was_healthy = healthy_.exchange(h.healthy, std::memory_order_relaxed);
  if (h.healthy) {
    ++good_;
    bad_ = 0;
    if (!was_healthy && !last_detail_.empty()) RLOG_INFO("anycast: edge healthy: ", h.detail);
  } else {
    ++bad_;
    good_ = 0;
    if (h.detail != last_detail_) RLOG_WARN("anycast: edge unhealthy: ", h.detail);
  }
  last_detail_ = h.healthy ? std::string() : h.detail;
  if (!h.healthy && last_detail_.empty()) last_detail_ = "unhealthy";

  bool want = want_;
  if (!want_ && good_ >= kRise) want = true;
  if (want_ && bad_ >= kFall) want = false;
  if (want != want_) {
    want_ = want;
    applied_known_ = false;
  }
  if (!applied_known_ || now - last_sent_ >= kResync) {
    last_sent_ = now;
    applied_known_ = apply(want_, h.detail);
  }
}

bool AnycastMonitor::apply(bool announce, const std::string& why) {
  std::string error;
  const bool ok = announce ? speaker_->announce(&error) : speaker_->withdraw(&error);
  if (!ok) {
    if (error != last_error_)
      RLOG_ERROR("anycast: cannot ", announce ? "announce " : "withdraw ", prefixes(), ": ", error,
                 "; retrying every ", plan_.config.check_interval.count(), " ms");
    last_error_ = error;
    return false;
  }
  if (!last_error_.empty()) RLOG_INFO("anycast: BIRD answers again at ", plan_.config.bird_socket);
  last_error_.clear();
  const bool was = announced_.exchange(announce, std::memory_order_relaxed);
  if (was != announce || !logged_) {
    RLOG_INFO("anycast: ", announce ? "announced " : "withdrew ", prefixes(), " (", why, ")");
    logged_ = true;
  }
  return true;
}

std::string AnycastMonitor::metrics() const {
  std::string out;
  out +=
      "# HELP rampart_anycast_announced 1 while BIRD announces edge.anycast for this edge, 0 after "
      "a withdraw.\n# TYPE rampart_anycast_announced gauge\nrampart_anycast_announced ";
  out += announced() ? "1\n" : "0\n";
  out +=
      "# HELP rampart_anycast_healthy 1 when the last health evaluation for anycast passed "
      "(listeners open, an origin up in every app).\n# TYPE rampart_anycast_healthy gauge\n"
      "rampart_anycast_healthy ";
  out += healthy_.load(std::memory_order_relaxed) ? "1\n" : "0\n";
  return out;
}

}  // namespace rampart::anycast
