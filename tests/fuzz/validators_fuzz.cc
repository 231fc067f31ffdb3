// Every first-bytes validator on arbitrary input: no crash, no read past the end (ASan), and the
// properties the session relies on: a verdict (pass/fail) on a prefix stays the same when more
// bytes arrive, and no validator still wants more at kValidateMaxBytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "guard/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rampart::config::Validator;
  using rampart::guard::Validation;
  static constexpr Validator kAll[] = {
      Validator::kSsh,  Validator::kTls,      Validator::kRdp,  Validator::kMinecraft,
      Validator::kMqtt, Validator::kPostgres, Validator::kRedis};
  for (Validator v : kAll) {
    Validation full = rampart::guard::validate_first_bytes(v, data, size);
    if (size > 0) {
      // A verdict on a prefix never changes when more bytes arrive.
      Validation prefix = rampart::guard::validate_first_bytes(v, data, size - 1);
      if (prefix != Validation::kNeedMore && prefix != full) abort();
    }
    if (size >= rampart::guard::kValidateMaxBytes && full == Validation::kNeedMore) abort();
  }
  return 0;
}
