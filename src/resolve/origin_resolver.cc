#include "resolve/origin_resolver.h"

#include <ares.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "core/log.h"

namespace rampart::resolve {

namespace {

constexpr int64_t kLogEveryMs = 60000;  // a failing name is logged again at most this often

ares_channel chan(void* p) {
  return static_cast<ares_channel>(p);
}

Result result_of(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return Result::kOk;
    case ARES_ENOTFOUND:
      return Result::kNxdomain;
    case ARES_ENODATA:
      return Result::kNoData;
    case ARES_ESERVFAIL:
      return Result::kServfail;
    case ARES_EREFUSED:
      return Result::kRefused;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
      return Result::kTimeout;
    default:
      return Result::kError;
  }
}

bool ip_less(const net::IpAddr& a, const net::IpAddr& b) {
  if (a.family() != b.family()) return a.family() < b.family();
  return std::memcmp(a.bytes(), b.bytes(), a.size()) < 0;
}

const char* family_text(Family f) {
  return f == Family::kV4 ? " (A)" : f == Family::kV6 ? " (AAAA)" : "";
}

}  // namespace

Family family_of(const std::string& type) {
  if (type == "A") return Family::kV4;
  if (type == "AAAA") return Family::kV6;
  return Family::kAny;
}

const char* result_name(Result r) {
  static constexpr const char* kNames[kResultCount] = {"ok",      "nxdomain", "nodata", "servfail",
                                                       "refused", "timeout",  "error"};
  return kNames[static_cast<size_t>(r)];
}

// One query's state; under mu_.
struct OriginResolver::Entry {
  Query q;
  uint64_t gen = 0;  // identifies this name+family: answers for an older one are dropped
  std::vector<net::IpAddr> addresses;
  bool has_answer = false;
  bool settled = false;
  bool in_flight = false;
  int64_t due_ms = 0;         // next lookup
  int64_t failing_since = 0;  // first failure of the current streak; 0 = not failing
  uint32_t fail_streak = 0;
  int64_t last_log_ms = 0;
  std::string last_error;
  std::array<uint64_t, kResultCount> lookups{};
  uint64_t shed = 0;
  uint64_t refused = 0;  // answer addresses left out by Options::refuse
};

// What a lookup in flight needs to find its entry again (c-ares owns it until the callback).
struct OriginResolver::Pending {
  OriginResolver* self;
  std::string key;
  uint64_t gen;
};

OriginResolver::OriginResolver(Options options) : options_(std::move(options)) {}

OriginResolver::~OriginResolver() {
  stop();
}

int64_t OriginResolver::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool OriginResolver::start(std::string* error) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options opts{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  opts.timeout = static_cast<int>(options_.query_timeout.count());
  opts.tries = options_.tries;
  char lookups[] = "b";
  if (!options_.hosts_file) {
    mask |= ARES_OPT_LOOKUPS;
    opts.lookups = lookups;
  }
  ares_channel channel = nullptr;
  int rc = ares_init_options(&channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    *error = std::string("c-ares: cannot read the resolver configuration: ") + ares_strerror(rc);
    return false;
  }
  if (!options_.servers.empty()) {
    rc = ares_set_servers_ports_csv(channel, options_.servers.c_str());
    if (rc != ARES_SUCCESS) {
      *error = "c-ares: bad servers \"" + options_.servers + "\": " + ares_strerror(rc);
      ares_destroy(channel);
      return false;
    }
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    ares_destroy(channel);
    return false;
  }
  channel_ = channel;
  thread_ = std::thread([this] { run(); });
  return true;
}

void OriginResolver::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake();
  thread_.join();
  ares_destroy(chan(channel_));  // runs the callbacks still pending (ARES_EDESTRUCTION)
  channel_ = nullptr;
  ::close(wake_fd_);
  wake_fd_ = -1;
}

void OriginResolver::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void OriginResolver::set_queries(const std::vector<Query>& queries) {
  {
    std::lock_guard lock(mu_);
    std::map<std::string, std::unique_ptr<Entry>> next;
    size_t shed = 0;
    for (const Query& q : queries) {
      if (next.count(q.key) != 0) continue;
      if (next.size() >= options_.max_names) {
        ++shed;
        continue;
      }
      auto it = entries_.find(q.key);
      if (it != entries_.end() && it->second->q.name == q.name &&
          it->second->q.family == q.family) {
        std::unique_ptr<Entry> e = std::move(it->second);
        // A lower cap applies now: the answer in hand is not kept longer than it allows.
        if (q.ttl_cap_s != 0 && q.ttl_cap_s != e->q.ttl_cap_s && !e->in_flight)
          e->due_ms = std::min(e->due_ms, now_ms() + int64_t{q.ttl_cap_s} * 1000);
        e->q = q;
        next[q.key] = std::move(e);
        continue;
      }
      auto e = std::make_unique<Entry>();
      e->q = q;
      e->gen = ++generation_;
      next[q.key] = std::move(e);
    }
    entries_ = std::move(next);
    if (shed > names_shed_ || (shed > 0 && !shed_logged_)) {
      RLOG_WARN("origin_dns: more than ", options_.max_names, " names; ", shed,
                " not resolved (their apps refuse connections with 531)");
      shed_logged_ = true;
    }
    names_shed_ = shed;
  }
  settled_cv_.notify_all();
  wake();
}

bool OriginResolver::wait_settled(const std::vector<std::string>& keys,
                                  std::chrono::milliseconds limit) const {
  std::unique_lock lock(mu_);
  return settled_cv_.wait_for(lock, limit, [&] {
    for (const auto& k : keys) {
      auto it = entries_.find(k);
      if (it != entries_.end() && !it->second->settled) return false;
    }
    return true;
  });
}

std::vector<net::IpAddr> OriginResolver::addresses(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? std::vector<net::IpAddr>{} : it->second->addresses;
}

std::map<std::string, std::vector<net::IpAddr>> OriginResolver::all_addresses() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<net::IpAddr>> out;
  for (const auto& [key, e] : entries_) out[key] = e->addresses;
  return out;
}

std::vector<Status> OriginResolver::status() const {
  std::lock_guard lock(mu_);
  const int64_t now = now_ms();
  std::vector<Status> out;
  for (const auto& [key, e] : entries_) {
    Status s;
    s.key = key;
    s.name = e->q.name;
    s.family = e->q.family;
    s.addresses = e->addresses;
    s.settled = e->settled;
    s.stale = e->has_answer && e->failing_since != 0;
    s.last_error = e->last_error;
    s.lookups = e->lookups;
    s.shed = e->shed;
    s.refused = e->refused;
    s.next_lookup_ms = e->in_flight ? 0 : std::max<int64_t>(0, e->due_ms - now);
    out.push_back(std::move(s));
  }
  return out;
}

uint64_t OriginResolver::names_shed() const {
  std::lock_guard lock(mu_);
  return names_shed_;
}

void OriginResolver::on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
  if (status != ARES_EDESTRUCTION && status != ARES_ECANCELLED) p->self->answered(*p, status, res);
  if (res != nullptr) ares_freeaddrinfo(res);
}

void OriginResolver::answered(const Pending& p, int status, ares_addrinfo* res) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(p.key);
    if (it == entries_.end() || it->second->gen != p.gen) return;  // the query changed meanwhile
    Entry& e = *it->second;
    const int64_t now = now_ms();
    e.in_flight = false;
    std::vector<net::IpAddr> found;
    int64_t ttl_s = -1;
    if (status == ARES_SUCCESS && res != nullptr) {
      for (ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_addr == nullptr) continue;
        const net::IpAddr ip = net::SockAddr::from(n->ai_addr, n->ai_addrlen).ip();
        if ((ip.is_v4() && e.q.family == Family::kV6) || (ip.is_v6() && e.q.family == Family::kV4))
          continue;
        if (options_.refuse) {
          if (const char* why = options_.refuse(ip)) {
            if (e.refused++ == 0)
              RLOG_WARN("origin_dns ", e.q.name, ": answer address ", ip.to_string(), " is ", why,
                        ", never an origin: left out (rampart_origin_dns_addresses_refused_total)");
            continue;
          }
        }
        found.push_back(ip);
        const int64_t t = std::max(0, n->ai_ttl);
        ttl_s = ttl_s < 0 ? t : std::min(ttl_s, t);
      }
    }
    Result result = result_of(status);
    if (result == Result::kOk && found.empty()) result = Result::kNoData;
    ++e.lookups[static_cast<size_t>(result)];
    if (result == Result::kOk) {
      std::sort(found.begin(), found.end(), ip_less);
      found.erase(std::unique(found.begin(), found.end()), found.end());
      if (found.size() > options_.max_addresses) {
        const size_t extra = found.size() - options_.max_addresses;
        if (e.shed == 0)
          RLOG_WARN("origin_dns ", e.q.name, ": ", found.size(), " addresses, only the first ",
                    options_.max_addresses, " are used");
        e.shed += extra;
        found.resize(options_.max_addresses);
      }
      int64_t ttl_ms = ttl_s * 1000;
      if (e.q.ttl_cap_s != 0) ttl_ms = std::min(ttl_ms, int64_t{e.q.ttl_cap_s} * 1000);
      ttl_ms = std::max<int64_t>(ttl_ms, options_.min_ttl.count());
      e.due_ms = now + ttl_ms;
      if (e.failing_since != 0)
        RLOG_INFO("origin_dns ", e.q.name, family_text(e.q.family), ": resolves again after ",
                  e.fail_streak, " failed lookups");
      e.failing_since = 0;
      e.fail_streak = 0;
      e.last_error.clear();
      changed = !e.has_answer || found != e.addresses;
      e.addresses = std::move(found);
      e.has_answer = true;
    } else {
      const char* why = status == ARES_SUCCESS ? "no address in the answer" : ares_strerror(status);
      e.last_error = std::string(result_name(result)) + ": " + why;
      if (e.failing_since == 0) e.failing_since = now;
      ++e.fail_streak;
      const int shift = static_cast<int>(std::min<uint32_t>(e.fail_streak - 1, 20));
      const int64_t delay =
          std::min<int64_t>(options_.retry_min.count() << shift, options_.retry_max.count());
      e.due_ms = now + std::max<int64_t>(delay, 1);
      const bool dropped = e.has_answer && now - e.failing_since >= e.q.hold.count();
      if (e.fail_streak == 1 || now - e.last_log_ms >= kLogEveryMs || dropped) {
        e.last_log_ms = now;
        std::string what;
        if (dropped)
          what = "; the last good answer is older than timeouts.dns_hold and is dropped (531)";
        else if (e.has_answer)
          what = "; keeping the last good answer (" + std::to_string(e.addresses.size()) +
                 " addresses) for timeouts.dns_hold";
        else
          what = "; no address yet: connections are refused with 531";
        RLOG_WARN("origin_dns ", e.q.name, family_text(e.q.family), ": lookup failed (",
                  e.last_error, "), attempt ", e.fail_streak, ", retry in ", delay, " ms", what);
      }
      if (dropped) {
        e.has_answer = false;
        changed = !e.addresses.empty();
        e.addresses.clear();
      }
    }
    e.settled = true;
  }
  settled_cv_.notify_all();
  if (changed && on_change_) on_change_();
}

void OriginResolver::run() {
  ares_channel channel = chan(channel_);
  for (;;) {
    std::vector<Pending*> launch;
    std::vector<std::pair<std::string, Family>> names;
    int64_t next_due = INT64_MAX;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      const int64_t now = now_ms();
      for (auto& [key, e] : entries_) {
        if (e->in_flight) continue;
        if (e->due_ms <= now) {
          e->in_flight = true;
          launch.push_back(new Pending{this, key, e->gen});
          names.emplace_back(e->q.name, e->q.family);
        } else {
          next_due = std::min(next_due, e->due_ms);
        }
      }
    }
    // Outside the lock: c-ares may answer at once (the hosts file, a bad name).
    for (size_t i = 0; i < launch.size(); ++i) {
      ares_addrinfo_hints hints{};
      hints.ai_flags = ARES_AI_NOSORT;
      hints.ai_family = names[i].second == Family::kV4   ? AF_INET
                        : names[i].second == Family::kV6 ? AF_INET6
                                                         : AF_UNSPEC;
      ares_getaddrinfo(channel, names[i].first.c_str(), nullptr, &hints, &OriginResolver::on_answer,
                       launch[i]);
    }
    if (!launch.empty()) continue;  // recompute: an answer may already have come

    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM + 1];
    int n = 0;
    fds[n++] = {wake_fd_, POLLIN, 0};
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
      if (ev != 0) fds[n++] = {socks[i], ev, 0};
    }
    int64_t wait_ms = next_due == INT64_MAX ? 60000 : std::max<int64_t>(0, next_due - now_ms());
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) != nullptr)
      wait_ms = std::min<int64_t>(wait_ms, int64_t{tv.tv_sec} * 1000 + (tv.tv_usec + 999) / 1000);
    const int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) {
      RLOG_ERROR("origin_dns: poll: ", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (fds[0].revents != 0) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
    }
    bool any = false;
    for (int i = 1; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      any = true;
      const bool rd = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool wr = (fds[i].revents & POLLOUT) != 0;
      ares_process_fd(channel, rd ? fds[i].fd : ARES_SOCKET_BAD, wr ? fds[i].fd : ARES_SOCKET_BAD);
    }
    // Timeouts and retransmissions are handled by a call with no socket.
    if (!any) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }
}

}  // namespace rampart::resolve
