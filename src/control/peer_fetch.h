// A GET to another edge's API with a deadline for the whole answer (the fleet fan-out,
// analytics_fleet.cc). cpp-httplib's timeouts are per read, so a peer sending a byte now and then
// (in the headers or the body) would hold the calling handler thread for as long as it likes; here
// a watchdog thread stops the request when the deadline passes. Any thread; one call at a time per
// client.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>

namespace rampart::control {

// GET `path` through `cli` (configured by the caller: TLS, timeouts), reading the body into *body
// up to max_bytes (the request fails past it). The request is stopped at `deadline` after the
// call, wherever it is (connecting, the TLS handshake, the headers, the body): the result then
// has no response (an error) and *timed_out is set.
httplib::Result get_with_deadline(httplib::Client& cli, const std::string& path,
                                  const httplib::Headers& headers,
                                  std::chrono::milliseconds deadline, size_t max_bytes,
                                  std::string* body, bool* timed_out);

}  // namespace rampart::control
