#include "anycast/bird_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace rampart::anycast {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::string BirdReply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += "; ";
    out += l;
  }
  return out;
}

bool BirdReplyParser::feed(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() >= 5 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
      is_digit(line[3]) && (line[4] == '-' || line[4] == ' ')) {
    int code =
        (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
    reply_.code = code;
    if (code >= 8000) reply_.has_error = true;
    reply_.lines.emplace_back(line.substr(5));
    if (line[4] == ' ') reply_.complete = true;
    return reply_.complete;
  }
  // " text" continues the previous line's code; anything else is kept as text too.
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  reply_.lines.emplace_back(line);
  return false;
}

BirdClient::BirdClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {}

bool BirdClient::connect(std::string* error) {
  buffer_.clear();
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path_.size() >= sizeof sun.sun_path) {
    *error = "BIRD socket path too long: " + path_;
    return false;
  }
  std::memcpy(sun.sun_path, path_.data(), path_.size());
  core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof sun) != 0) {
    *error = "cannot connect to BIRD at " + path_ + ": " + std::strerror(errno);
    return false;
  }
  fd_ = std::move(fd);
  // BIRD greets every client with "0001 BIRD <version> ready."
  BirdReply hello;
  if (!read_reply(&hello, error)) {
    fd_.reset();
    return false;
  }
  if (hello.code != 1) {
    *error = "unexpected greeting from BIRD at " + path_ + ": " + hello.text();
    fd_.reset();
    return false;
  }
  return true;
}

bool BirdClient::send_line(std::string_view line, std::string* error) {
  std::string out(line);
  out += '\n';
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd_.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = std::string("write to BIRD: ") + std::strerror(errno);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool BirdClient::read_line(std::string* line, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      line->assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "BIRD did not answer within " + std::to_string(timeout_.count()) + " ms";
      return false;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    if (r == 0) continue;  // the deadline check above reports it
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      *error = n == 0 ? "BIRD closed the control connection"
                      : std::string("read from BIRD: ") + std::strerror(errno);
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    if (buffer_.size() > (1u << 20)) {
      *error = "BIRD sent a line longer than 1 MiB";
      return false;
    }
  }
}

bool BirdClient::read_reply(BirdReply* reply, std::string* error) {
  BirdReplyParser parser;
  std::string line;
  while (read_line(&line, error)) {
    if (parser.feed(line)) {
      *reply = parser.reply();
      return true;
    }
  }
  *reply = parser.reply();
  return false;
}

BirdReply BirdClient::command(std::string_view command, std::string* error) {
  BirdReply reply;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool was_connected = fd_.valid();
    if (!was_connected && !connect(error)) return reply;
    if (send_line(command, error) && read_reply(&reply, error)) return reply;
    fd_.reset();
    // A connection that worked before may have been closed by a BIRD restart: one fresh try.
    // A fresh connection that fails is a real failure.
    if (!was_connected) break;
    reply = BirdReply{};
  }
  return reply;
}

}  // namespace rampart::anycast
