// Settings that this build parses and validates but does not enforce yet. The edge logs one
// warning per such setting in use, so that nobody believes they are protected when they are
// not. Pure function; any thread.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::edge {

std::vector<std::string> unenforced_settings(const config::Config& cfg);

}  // namespace rampart::edge
