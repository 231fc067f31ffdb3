// get_with_deadline: the request on the calling thread, a watchdog that stops it at the deadline.
#include "control/peer_fetch.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace rampart::control {

httplib::Result get_with_deadline(httplib::Client& cli, const std::string& path,
                                  const httplib::Headers& headers,
                                  std::chrono::milliseconds deadline, size_t max_bytes,
                                  std::string* body, bool* timed_out) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  *timed_out = false;
  // Client::stop() shuts the socket of a request in flight down: the blocked read returns.
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, deadline, [&] { return done; })) {
      *timed_out = true;
      cli.stop();
    }
  });
  body->clear();
  auto res = cli.Get(path, headers, [body, max_bytes](const char* data, size_t n) {
    body->append(data, n);
    return body->size() <= max_bytes;
  });
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  return res;
}

}  // namespace rampart::control
