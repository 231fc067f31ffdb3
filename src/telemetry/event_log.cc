#include "telemetry/event_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/log.h"
#include "core/utf8.h"

namespace rampart::telemetry {

const char* to_string(EventType t) {
#define RAMPART_EVENT_TYPE_NAME(e, name) name,
  static constexpr std::array<const char*, kEventTypes> kNames{
      RAMPART_EVENT_TYPES(RAMPART_EVENT_TYPE_NAME)};
#undef RAMPART_EVENT_TYPE_NAME
  const auto i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i] : "unknown";
}

const char* to_string(TlsStatus s) {
  switch (s) {
    case TlsStatus::kUnknown:
      return "UNKNOWN";
    case TlsStatus::kOk:
      return "OK";
    case TlsStatus::kInternalError:
      return "INTERNAL_ERROR";
    case TlsStatus::kInvalidConfig:
      return "INVALID_CONFIG";
    case TlsStatus::kHandshakeFailed:
      return "HANDSHAKE_FAILED";
  }
  return "UNKNOWN";
}

namespace {

void append_uint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// RFC 3339 with nanoseconds, UTC: 2026-11-26T23:59:01.123456789Z. The date and time of day
// are formatted once per second (thread-local cache): the writer formats three timestamps per
// event at tens of thousands of events per second.
void append_time(std::string* out, int64_t ns) {
  if (ns <= 0) {
    out->append("null");
    return;
  }
  thread_local time_t cached_secs = -1;
  thread_local char cached[64];  // "2026-11-26T23:59:01."
  const time_t secs = static_cast<time_t>(ns / 1000000000);
  if (secs != cached_secs) {
    tm t;
    gmtime_r(&secs, &t);
    snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", t.tm_year + 1900,
             t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    cached_secs = secs;
  }
  char frac[10];
  uint64_t f = static_cast<uint64_t>(ns % 1000000000);
  for (int i = 8; i >= 0; --i, f /= 10) frac[i] = static_cast<char>('0' + f % 10);
  frac[9] = '\0';
  out->push_back('"');
  out->append(cached, 20);
  out->append(frac, 9);
  out->append("Z\"");
}

// An address as a JSON string, without a temporary std::string.
void append_ip(std::string* out, const net::IpAddr& ip) {
  char buf[INET6_ADDRSTRLEN];
  out->push_back('"');
  if (inet_ntop(ip.family(), ip.bytes(), buf, sizeof buf) != nullptr) out->append(buf);
  out->push_back('"');
}

}  // namespace

void append_json_string(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = p[i];
    const size_t len = core::utf8_sequence(p + i, s.size() - i);
    if (len == 0) {
      out->append("\\ufffd");  // not UTF-8 (a client's raw bytes): the replacement character
      ++i;
      continue;
    }
    if (len > 1) {
      // U+2028 / U+2029 are valid JSON but end a line in JavaScript: escaped for log viewers.
      if (len == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
        out->append(p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
      } else {
        out->append(s.data() + i, len);
      }
      i += len;
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(static_cast<char>(c));
    }
    ++i;
  }
  out->push_back('"');
}

namespace {

void append_string(std::string* out, std::string_view s) {
  append_json_string(out, s);
}

const char* proxy_protocol_name(uint8_t p) {
  static constexpr const char* kNames[] = {"off", "v1", "v2", "simple"};
  return p < 4 ? kNames[p] : "off";
}

}  // namespace

void EventLog::format(const ConnEvent& e, const std::string& colo, std::string* out) {
  const bool has_origin = e.origin_port != 0;
  out->append("{\"Application\":");
  append_string(out, e.app);
  out->append(",\"ClientAsn\":");
  append_uint(out, e.asn);
  out->append(",\"ClientBytes\":");
  append_uint(out, e.client_bytes);
  out->append(",\"ClientCountry\":");
  append_string(out, std::string_view(e.country, strnlen(e.country, sizeof e.country)));
  out->append(",\"ClientIP\":");
  append_ip(out, e.client_ip);
  out->append(",\"ClientMatchedIpFirewall\":");
  append_string(out, e.matched_rule[0] != '\0' ? e.matched_rule : "UNKNOWN");
  out->append(",\"ClientPort\":");
  append_uint(out, e.client_port);
  out->append(e.udp ? ",\"ClientProto\":\"udp\"" : ",\"ClientProto\":\"tcp\"");
  out->append(",\"ClientTcpRtt\":");
  append_uint(out, uint64_t{e.client_rtt_us} * 1000);
  if (e.tls) {
    out->append(",\"ClientTlsCipher\":");
    append_string(out, e.tls_cipher != nullptr ? e.tls_cipher : "UNK");
    out->append(",\"ClientTlsClientHelloServerName\":");
    append_string(out, e.tls_sni);
    out->append(",\"ClientTlsProtocol\":");
    append_string(out, e.tls_protocol != nullptr ? e.tls_protocol : "unknown");
    out->append(",\"ClientTlsStatus\":\"");
    out->append(to_string(e.tls_status));
    out->push_back('"');
  }
  out->append(",\"ColoCode\":");
  append_string(out, colo);
  out->append(",\"ConnectTimestamp\":");
  append_time(out, e.connect_ns);
  out->append(",\"DisconnectTimestamp\":");
  append_time(out, e.type == EventType::kDisconnect ? e.disconnect_ns : 0);
  out->append(",\"Event\":\"");
  out->append(to_string(e.type));
  out->append("\",\"IpFirewall\":");
  out->append(e.ip_firewall ? "true" : "false");
  out->append(",\"OriginBytes\":");
  append_uint(out, e.origin_bytes);
  out->append(",\"OriginIP\":");
  if (has_origin)
    append_ip(out, e.origin_ip);
  else
    out->append("\"\"");
  out->append(",\"OriginPort\":");
  append_uint(out, e.origin_port);
  out->append(e.udp ? ",\"OriginProto\":\"udp\"" : ",\"OriginProto\":\"tcp\"");
  out->append(",\"OriginTcpRtt\":");
  append_uint(out, uint64_t{e.origin_rtt_us} * 1000);
  out->append(",\"ProxyProtocol\":\"");
  out->append(proxy_protocol_name(e.proxy_protocol));
  out->append("\",\"Status\":");
  append_uint(out, e.status);
  out->append(",\"Timestamp\":");
  append_time(out, e.timestamp_ns);
  out->append("}\n");
}

EventLog::EventLog(EventLogOptions options) : options_(std::move(options)) {}

EventLog::~EventLog() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

bool EventLog::start(std::string* error) {
  if (!options_.syslog_address.empty()) {
    SyslogOptions so;
    so.address = options_.syslog_address;
    so.facility = options_.syslog_facility;
    so.tag = options_.syslog_tag;
    syslog_ = SyslogSink::open(so, error);
    if (!syslog_) return false;
  }
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    *error = "cannot open event log " + options_.path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  thread_ = std::thread([this] { run(); });
  return true;
}

void EventLog::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  thread_.join();
}

EventRing* EventLog::make_ring() {
  std::lock_guard<std::mutex> lock(mu_);
  rings_.push_back(std::make_unique<EventRing>());
  return rings_.back().get();
}

void EventLog::set_colo(const std::string& colo) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.colo = colo;
}

uint64_t EventLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t d = 0;
  for (const auto& r : rings_) d += r->dropped();
  return d;
}

uint64_t EventLog::pushed() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& r : rings_) n += r->pushed();
  return n;
}

void EventLog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_.load()) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    lock.unlock();
    flush_once();
    lock.lock();
  }
  lock.unlock();
  flush_once();
}

void EventLog::flush_once() {
  std::string colo;
  std::vector<EventRing*> rings;
  {
    std::lock_guard<std::mutex> lock(mu_);
    colo = options_.colo;
    for (auto& r : rings_) rings.push_back(r.get());
  }
  buffer_.clear();
  uint64_t n = 0;
  for (EventRing* ring : rings) {
    n += ring->drain([&](const ConnEvent& e) {
      const size_t start = buffer_.size();
      format(e, colo, &buffer_);
      if (options_.rollup != nullptr) options_.rollup->add(e);
      if (syslog_) {
        // The line without its '\n'; problems (filtered, origin and TLS errors) as warnings.
        const bool routine = e.type == EventType::kConnect || e.type == EventType::kDisconnect ||
                             e.type == EventType::kProgress;
        syslog_->send(std::string_view(buffer_).substr(start, buffer_.size() - start - 1),
                      routine ? kSyslogInfo : kSyslogWarning, e.timestamp_ns);
      }
    });
  }
  if (buffer_.empty()) return;
  write_lines(buffer_);
  written_.fetch_add(n);
}

void EventLog::write_lines(std::string_view data) {
  const uint64_t max = options_.max_bytes;
  while (!data.empty()) {
    size_t take = data.size();
    if (max > 0 && size_ + take > max) {
      // The longest run of whole lines that still fits; none fits: rotate first. A line longer
      // than max_bytes on its own goes whole into a fresh file.
      const size_t room = size_ < max ? static_cast<size_t>(max - size_) : 0;
      size_t cut = room == 0 ? std::string_view::npos : data.rfind('\n', room - 1);
      if (cut == std::string_view::npos) {
        if (size_ > 0 && rotate()) continue;
        cut = data.find('\n');
      }
      take = cut == std::string_view::npos ? data.size() : cut + 1;
    }
    if (!write_all(data.substr(0, take))) return;
    data.remove_prefix(take);
  }
}

bool EventLog::write_all(std::string_view chunk) {
  size_t done = 0;
  while (done < chunk.size()) {
    ssize_t w = ::write(fd_, chunk.data() + done, chunk.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = w < 0 ? errno : EIO;
      // Never leave half a line behind (e.g. a full disk): cut the file back to the last
      // whole line written.
      const size_t whole = done == 0 ? 0 : chunk.rfind('\n', done - 1) + 1;
      if (whole != done && ::ftruncate(fd_, static_cast<off_t>(size_ + whole)) != 0) {
        RLOG_ERROR("event log: cannot cut a partial line: ", std::strerror(errno));
      }
      size_ += whole;
      RLOG_ERROR("event log write failed: ", std::strerror(err), "; ", chunk.size() - whole,
                 " bytes of events lost");
      return false;
    }
    done += static_cast<size_t>(w);
  }
  size_ += chunk.size();
  return true;
}

bool EventLog::rotate() {
  const std::string& path = options_.path;
  auto numbered = [&](int i) { return path + "." + std::to_string(i); };
  const int keep = std::max(options_.keep_files, 0);
  if (keep == 0) {
    ::unlink(path.c_str());
  } else {
    // The oldest kept file goes, the others move up one, the current file becomes path.1.
    ::unlink(numbered(keep).c_str());
    for (int i = keep - 1; i >= 1; --i) ::rename(numbered(i).c_str(), numbered(i + 1).c_str());
    ::rename(path.c_str(), numbered(1).c_str());
  }
  // Files past keep_files, left by an earlier run with a larger setting.
  for (int i = keep + 1; ::unlink(numbered(i).c_str()) == 0; ++i) {
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    // Keep appending to the old file (nothing is lost) and try again after max_bytes more.
    RLOG_ERROR("event log rotation: cannot reopen ", path, ": ", std::strerror(errno));
    size_ = 0;
    return false;
  }
  ::close(fd_);
  fd_ = fd;
  size_ = 0;
  return true;
}

}  // namespace rampart::telemetry
