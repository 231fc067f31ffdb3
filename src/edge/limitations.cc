#include "edge/limitations.h"

namespace rampart::edge {

void unenforced_settings(const config::App& app, size_t index, std::vector<std::string>* out) {
  const std::string path = "apps[" + std::to_string(index) + "] (" + app.id + ")";
  if (app.origin_dns) {
    out->push_back(path +
                   ".origin_dns: DNS origins are not resolved by this build; the app "
                   "has no origin and refuses connections");
  }
}

std::vector<std::string> unenforced_settings(const config::Config& cfg) {
  std::vector<std::string> out;
  for (size_t i = 0; i < cfg.apps.size(); ++i) unenforced_settings(cfg.apps[i], i, &out);
  return out;
}

}  // namespace rampart::edge
