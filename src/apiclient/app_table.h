// Human output of `rampart apps`: a table of apps (ID, PROTOCOL, DNS, ORIGIN, PROXY_PROTOCOL,
// MODIFIED). Pure functions over the API's JSON app objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rampart::apiclient {

// "tcp://192.0.2.1:22,tcp://192.0.2.2:22", "origin.example.com:22" (origin_dns) or "-".
std::string origin_summary(const nlohmann::json& app);

// The table for a JSON array of apps (or one app object), header line first, columns padded to
// the widest value; missing values print as "-".
std::string app_table(const nlohmann::json& apps);

}  // namespace rampart::apiclient
