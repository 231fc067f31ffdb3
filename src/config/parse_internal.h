// Section parsers shared by parse.cc and parse_apps.cc. Internal to config/.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "config/yaml_reader.h"

namespace rampart::config {

// Reads the fields present in `node` over *out (so an app's override starts from the zone's
// values and changes only what it names). `zone` allows the zone-wide-only keys (xdp).
void parse_protection(YamlReader& rd, const YAML::Node& node, const std::string& path, bool zone,
                      ProtectionConfig* out);
// events_config.cc: the `events` and `analytics` sections.
void parse_events(YamlReader& rd, const YAML::Node& node, const std::string& path,
                  EventsConfig* out);
void parse_analytics(YamlReader& rd, const YAML::Node& node, const std::string& path,
                     AnalyticsConfig* out);
void parse_apps(YamlReader& rd, const YAML::Node& node, const std::string& path,
                const ProtectionConfig& zone_protection, std::vector<App>* out);

}  // namespace rampart::config
