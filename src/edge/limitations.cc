#include "edge/limitations.h"

namespace rampart::edge {

// Every setting of an app is enforced by this build (origin_dns is resolved since
// src/resolve/); the list stays for the next setting accepted before it is built.
void unenforced_settings(const config::App& /*app*/, size_t /*index*/,
                         std::vector<std::string>* /*out*/) {}

std::vector<std::string> unenforced_settings(const config::Config& cfg) {
  std::vector<std::string> out;
  for (size_t i = 0; i < cfg.apps.size(); ++i) unenforced_settings(cfg.apps[i], i, &out);
  return out;
}

}  // namespace rampart::edge
