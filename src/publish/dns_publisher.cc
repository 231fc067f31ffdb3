#include "publish/dns_publisher.h"

#include <sys/time.h>

#include "core/log.h"
#include "telemetry/prometheus_label.h"

namespace rampart::publish {
namespace {

int64_t wall_s() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return tv.tv_sec;
}

std::string list_of(const std::vector<Record>& rs) {
  std::string out;
  for (const Record& r : rs) out += (out.empty() ? "" : ", ") + r.to_string();
  return out;
}

}  // namespace

DnsPublisher::DnsPublisher(config::DnsPublishConfig settings, std::string secret)
    : settings_(std::move(settings)),
      server_(config::parse_dns_server(settings_.server).value_or(config::DnsServer{})),
      secret_(std::move(secret)) {}

DnsPublisher::~DnsPublisher() {
  stop();
}

void DnsPublisher::applied(std::shared_ptr<const edge::CompiledConfig> compiled) {
  {
    std::lock_guard lock(mu_);
    latest_ = std::move(compiled);
    changed_ = true;
  }
  cv_.notify_one();
}

void DnsPublisher::set_secret(std::string secret) {
  {
    std::lock_guard lock(mu_);
    if (secret == secret_) return;
    secret_ = std::move(secret);
    // A new key may end a failure at once: no waiting out the backoff.
    changed_ = true;
    retry_now_ = true;
  }
  cv_.notify_one();
}

void DnsPublisher::start() {
  RLOG_INFO("dns_publish: publishing apps' dns.name in zone ", config::fqdn(settings_.zone), " at ",
            settings_.server, " (TSIG key ", config::fqdn(settings_.tsig_name), ", ",
            settings_.tsig_algorithm, ")");
  thread_ = std::thread([this] { run(); });
}

void DnsPublisher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

UpdateTarget DnsPublisher::target() const {
  UpdateTarget t;
  t.server = server_;
  t.zone = config::fqdn(settings_.zone);
  t.key_name = config::fqdn(settings_.tsig_name);
  t.algorithm = settings_.tsig_algorithm;
  t.ttl = settings_.ttl;
  return t;
}

void DnsPublisher::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (retry_now_) {
      retry_now_ = false;
      backoff_ = std::chrono::seconds(0);
    }
    const auto now = std::chrono::steady_clock::now();
    const bool failing = backoff_.count() > 0;
    const bool retry_due = failing && now >= retry_at_;
    const bool resync_due = !failing && !published_.empty() && now >= last_sent_ + kResync;
    // A change goes out at once, unless a failure's backoff runs (it then goes with the retry;
    // a new secret clears the backoff).
    if ((changed_ && !failing) || retry_due || resync_due) {
      const bool resync = resync_due && !changed_;
      lock.unlock();
      reconcile(resync);
      lock.lock();
      continue;
    }
    const auto wake = failing ? retry_at_ : last_sent_ + kResync;
    if (failing || !published_.empty())
      cv_.wait_until(lock, wake,
                     [&] { return stop_ || retry_now_ || (changed_ && backoff_.count() == 0); });
    else
      cv_.wait(lock, [&] { return stop_ || changed_; });
  }
}

void DnsPublisher::reconcile(bool resync) {
  std::shared_ptr<const edge::CompiledConfig> latest;
  std::set<Record> published;
  UpdateTarget t = target();
  {
    std::lock_guard lock(mu_);
    latest = latest_;
    changed_ = false;
    published = published_;
    t.secret = secret_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!latest || !latest->snapshot) return;
  std::set<std::string> disabled;
  for (const auto& [id, why] : latest->snapshot->disabled) disabled.insert(id);
  const Plan plan = plan_records(latest->snapshot->config, disabled, settings_.zone);
  for (const auto& line : plan.outside)
    if (outside_logged_.insert(line).second) RLOG_WARN("dns_publish: ", line, "; not published");
  Diff d = diff_records(published, plan.records);
  if (resync) d.add.assign(plan.records.begin(), plan.records.end());
  {
    std::lock_guard lock(mu_);
    desired_count_ = plan.records.size();
  }
  if (d.empty()) {
    backoff_ = std::chrono::seconds(0);
    return;
  }
  const UpdateResult r = send_update(t, d);
  const bool was_failing = backoff_.count() > 0;
  {
    std::lock_guard lock(mu_);
    ++results_[result_label(r.kind)];
    if (r.ok()) {
      published_ = plan.records;
      last_error_.clear();
      last_error_label_.clear();
      last_success_s_ = wall_s();
    } else {
      last_error_ = r.detail;
      last_error_label_ = result_label(r.kind);
    }
  }
  last_sent_ = now;
  if (r.ok()) {
    backoff_ = std::chrono::seconds(0);
    if (was_failing) RLOG_INFO("dns_publish: updates of zone ", t.zone, " succeed again");
    if (!resync)
      RLOG_INFO("dns_publish: zone ", t.zone, " updated", d.add.empty() ? "" : "; added ",
                list_of(d.add), d.remove.empty() ? "" : "; deleted ", list_of(d.remove));
    return;
  }
  const std::string previous = last_logged_label_;
  backoff_ = was_failing ? std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff))
                         : std::chrono::seconds(1);
  retry_at_ = now + backoff_;
  // Rate-limited: a new kind of failure at once, the same one at most once a minute.
  if (previous != result_label(r.kind) || now - last_logged_ >= std::chrono::seconds(60)) {
    last_logged_ = now;
    last_logged_label_ = result_label(r.kind);
    RLOG_ERROR("dns_publish: update of zone ", t.zone, " failed: ", r.detail, "; retrying in ",
               backoff_.count(), " s (with backoff up to ", kMaxBackoff.count(), " s)");
  }
}

bool DnsPublisher::withdraw(std::chrono::milliseconds timeout) {
  stop();
  UpdateTarget t = target();
  Diff d;
  {
    std::lock_guard lock(mu_);
    d.remove.assign(published_.begin(), published_.end());
    t.secret = secret_;
  }
  if (d.remove.empty()) return true;
  t.timeout = timeout;
  const UpdateResult r = send_update(t, d);
  std::lock_guard lock(mu_);
  ++results_[result_label(r.kind)];
  if (!r.ok()) {
    last_error_ = r.detail;
    last_error_label_ = result_label(r.kind);
    RLOG_ERROR("dns_publish: could not withdraw this edge's records from zone ", t.zone, " (",
               r.detail, "): ", list_of(d.remove), " stay published");
    return false;
  }
  published_.clear();
  RLOG_INFO("dns_publish: withdrew this edge's records: ", list_of(d.remove));
  return true;
}

std::string DnsPublisher::metrics() const {
  std::lock_guard lock(mu_);
  std::string out;
  out +=
      "# HELP rampart_dns_publish_updates_total RFC 2136 updates sent, by result\n"
      "# TYPE rampart_dns_publish_updates_total counter\n";
  for (const char* label :
       {"ok", "notauth", "refused", "rcode", "timeout", "unreachable", "bad_reply"}) {
    auto it = results_.find(label);
    out += "rampart_dns_publish_updates_total{result=\"" + std::string(label) + "\"} " +
           std::to_string(it == results_.end() ? 0 : it->second) + "\n";
  }
  out +=
      "# HELP rampart_dns_publish_records Address records this edge has published (confirmed)\n"
      "# TYPE rampart_dns_publish_records gauge\n"
      "rampart_dns_publish_records " +
      std::to_string(published_.size()) +
      "\n"
      "# HELP rampart_dns_publish_desired_records Address records the config in force asks for\n"
      "# TYPE rampart_dns_publish_desired_records gauge\n"
      "rampart_dns_publish_desired_records " +
      std::to_string(desired_count_) +
      "\n"
      "# HELP rampart_dns_publish_last_error 1 while the last update failed, with its reason\n"
      "# TYPE rampart_dns_publish_last_error gauge\n";
  if (!last_error_.empty())
    out += "rampart_dns_publish_last_error{result=\"" + last_error_label_ + "\",error=\"" +
           telemetry::prometheus_label_value(last_error_) + "\"} 1\n";
  else
    out += "rampart_dns_publish_last_error{result=\"\",error=\"\"} 0\n";
  out +=
      "# HELP rampart_dns_publish_last_success_timestamp_seconds Unix time of the last accepted "
      "update\n"
      "# TYPE rampart_dns_publish_last_success_timestamp_seconds gauge\n"
      "rampart_dns_publish_last_success_timestamp_seconds " +
      std::to_string(last_success_s_) + "\n";
  return out;
}

}  // namespace rampart::publish
