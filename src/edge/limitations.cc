#include "edge/limitations.h"

namespace rampart::edge {

std::vector<std::string> unenforced_settings(const config::Config& cfg) {
  std::vector<std::string> out;
  const std::string tail = " is accepted but not enforced by this build";
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const config::App& app = cfg.apps[i];
    const std::string path = "apps[" + std::to_string(i) + "] (" + app.id + ")";
    if (app.origin_dns) {
      out.push_back(path +
                    ".origin_dns: DNS origins are not resolved by this build; the app "
                    "has no origin and refuses connections");
    }
  }
  return out;
}

}  // namespace rampart::edge
