// The dashboard's static files (web/), compiled into the binary as byte arrays by
// cmake/embed_web.cmake (the generated build/generated/web_assets.cc defines the table).
// Immutable; any thread may read it.
#pragma once

#include <cstddef>
#include <string_view>

namespace rampart::control {

struct WebAsset {
  const char* name;  // file name under web/, e.g. "app.js"
  const unsigned char* data;
  size_t size;
};

extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

// The asset named `name` (a plain file name, no directories), or nullptr.
const WebAsset* find_web_asset(std::string_view name);

// "text/html; charset=utf-8" etc. by extension; "application/octet-stream" when unknown.
const char* web_content_type(std::string_view name);

}  // namespace rampart::control
