#include "core/control_loop.h"

#include <pthread.h>

namespace rampart::core {

ControlLoop::ControlLoop(const char* name) {
  std::promise<void> bound;
  std::future<void> ready = bound.get_future();
  thread_ = std::thread([this, name, &bound] {
    pthread_setname_np(pthread_self(), name);
    loop_.bind_to_current_thread();
    bound.set_value();
    loop_.run();
  });
  ready.wait();
}

ControlLoop::~ControlLoop() {
  loop_.stop();
  thread_.join();
}

}  // namespace rampart::core
