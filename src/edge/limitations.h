// Settings that this build parses and validates but does not enforce yet. The edge logs one
// warning per such setting in use, so that nobody believes they are protected when they are
// not. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::edge {

// The lines of one app; `index` is its place in apps[], which the lines name.
void unenforced_settings(const config::App& app, size_t index, std::vector<std::string>* out);
// The lines of every app of `cfg` (the API's notes on one app).
std::vector<std::string> unenforced_settings(const config::Config& cfg);

}  // namespace rampart::edge
