#include "telemetry/syslog_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/log.h"

namespace rampart::telemetry {
namespace {

// RFC 5424 HOSTNAME / APP-NAME: printable US-ASCII without spaces, else the NILVALUE "-".
std::string header_field(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max))
    if (c > ' ' && c < 127) out.push_back(c);
  return out.empty() ? "-" : out;
}

}  // namespace

std::unique_ptr<SyslogSink> SyslogSink::open(const SyslogOptions& options, std::string* error) {
  std::string why;
  auto address = config::parse_syslog_address(options.address, &why);
  if (!address) {
    *error = "events.syslog.address: " + why;
    return nullptr;
  }
  auto facility = config::syslog_facility_code(options.facility);
  if (!facility) {
    *error = "events.syslog.facility: unknown facility \"" + options.facility + "\"";
    return nullptr;
  }
  std::unique_ptr<SyslogSink> sink(new SyslogSink());
  sink->address_ = *address;
  sink->facility_ = *facility;
  const int family = address->is_unix ? AF_UNIX : address->udp.family();
  sink->fd_.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sink->fd_.valid()) {
    *error = std::string("syslog socket: ") + std::strerror(errno);
    return nullptr;
  }
  // Room for the burst of one writer pass (capped by net.core.wmem_max); what does not fit
  // is dropped and counted rather than waited for.
  const int sndbuf = 1 << 20;
  ::setsockopt(sink->fd_.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  std::string hostname = options.hostname;
  if (hostname.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) == 0) hostname = buf;
  }
  sink->header_tail_ = " " + header_field(hostname, 255) + " " + header_field(options.tag, 48) +
                       " " + std::to_string(::getpid()) + " - - ";
  return sink;
}

void SyslogSink::format(std::string_view msg, int severity, int64_t time_ns,
                        std::string* out) const {
  if (time_ns <= 0) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    time_ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }
  const time_t secs = static_cast<time_t>(time_ns / 1000000000);
  tm t{};
  gmtime_r(&secs, &t);
  // PRI, VERSION and a TIMESTAMP with microseconds (RFC 5424 allows at most 6 digits).
  char head[64];
  int n = snprintf(head, sizeof head, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                   facility_ * 8 + (severity & 7), t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                   t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>((time_ns % 1000000000) / 1000));
  out->assign(head, static_cast<size_t>(n));
  out->append(header_tail_);
  out->append(msg);
}

bool SyslogSink::send(std::string_view msg, int severity, int64_t time_ns) {
  format(msg, severity, time_ns, &buffer_);
  ssize_t r;
  if (address_.is_unix) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, address_.unix_path.data(), address_.unix_path.size());
    r = ::sendto(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&sun), sizeof sun);
  } else {
    r = ::sendto(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 address_.udp.get(), address_.udp.len());
  }
  if (r >= 0) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    last_errno_ = 0;
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  // One line per change of cause, not per dropped message.
  if (errno != last_errno_) {
    last_errno_ = errno;
    RLOG_WARN("syslog: cannot send to ",
              address_.is_unix ? address_.unix_path : address_.udp.to_string(), ": ",
              std::strerror(errno), "; dropping event messages until it works again");
  }
  return false;
}

}  // namespace rampart::telemetry
