// libFuzzer target for the config parser: YAML documents and the value parsers the JSON API
// reuses. Checks that nothing throws or crashes and that a config that parsed is still valid
// when validated again (validate() must be idempotent on its own output).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/parse.h"
#include "config/validate.h"

using namespace rampart::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  LoadResult r = parse_yaml(text);
  if (r.ok() != r.errors.empty()) std::abort();
  if (r.ok()) {
    std::vector<ConfigError> again;
    if (!validate(*r.config, again)) std::abort();
    for (const auto& app : r.config->apps)
      for (const auto& o : app.origin_direct)
        for (uint32_t p = app.ports.first; p <= app.ports.last; p += 97) {
          uint16_t op = origin_port_for(app.ports, o.ports, static_cast<uint16_t>(p));
          if (!o.ports.contains(op)) std::abort();
        }
  }

  // The single-value parsers on the raw input (short inputs only: they are line-sized).
  if (size <= 256) {
    if (auto d = parse_duration(text)) {
      if (parse_duration(format_duration(*d)) != *d) std::abort();
    }
    if (auto pr = parse_port_range(text)) {
      if (pr->first == 0 || pr->first > pr->last) std::abort();
    }
    Proto proto;
    PortRange ports;
    std::string why;
    parse_protocol(text, &proto, &ports, &why);
    if (auto o = parse_origin_direct(text, Proto::kTcp, &why)) {
      if (o->ports.first == 0 || o->ip.is_unspecified()) std::abort();
    }
    parse_origin_direct(text, Proto::kUdp, &why);
    parse_cidr(text, nullptr, nullptr, &why);
    is_valid_hostname(text, true);
    expand_env(text, &why);
  }
  return 0;
}
