// A client of BIRD's control socket (the protocol `birdc` speaks): one command at a time, each
// answered by lines "CODE-text" (more follow), " text" (continues the previous line) and a last
// "CODE text". Codes 0xxx are success, 1xxx/2xxx table rows and headers, 8xxx/9xxx errors
// (BIRD's doc/reply_codes). Blocking with a timeout per reply; owned and called by one thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/unique_fd.h"

namespace rampart::anycast {

struct BirdReply {
  bool complete = false;           // the last line ("CODE text") was read
  int code = 0;                    // the last line's code
  bool has_error = false;          // some line carried an error code (8xxx runtime, 9xxx syntax)
  std::vector<std::string> lines;  // every line's text, codes removed
  bool ok() const { return complete && code < 1000 && !has_error; }
  std::string text() const;  // the lines joined with "; "
};

// Builds a BirdReply from the lines of one reply. Pure: unit-testable without BIRD.
class BirdReplyParser {
 public:
  // One line without its '\n'. Returns true once the reply is complete.
  bool feed(std::string_view line);
  const BirdReply& reply() const { return reply_; }
  void reset() { reply_ = BirdReply{}; }

 private:
  BirdReply reply_;
};

class BirdClient {
 public:
  explicit BirdClient(std::string socket_path,
                      std::chrono::milliseconds timeout = std::chrono::seconds(2));

  // Sends `command` (connecting first when needed) and reads its reply. On a broken connection
  // it reconnects once and retries, since BIRD may have been restarted. A transport failure is a
  // reply with complete == false and the reason in *error.
  BirdReply command(std::string_view command, std::string* error);
  void close() { fd_.reset(); }
  bool connected() const { return fd_.valid(); }

 private:
  bool connect(std::string* error);
  bool send_line(std::string_view line, std::string* error);
  bool read_reply(BirdReply* reply, std::string* error);
  bool read_line(std::string* line, std::string* error);

  std::string path_;
  std::chrono::milliseconds timeout_;
  core::UniqueFd fd_;
  std::string buffer_;  // bytes read past the last line
};

}  // namespace rampart::anycast
