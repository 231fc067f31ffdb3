#include "telemetry/close_reason.h"

#include <cerrno>

namespace rampart::telemetry {

CloseReason close_reason_of_errno(int err, Side side, bool writing) {
  if (err == ETIMEDOUT) return {side, Cause::kTimeout};
  if (writing && err == EPIPE) return {side, Cause::kBrokenPipe};
  if (err == ECONNRESET || err == EPIPE) return {side, Cause::kReset};
  return {Side::kEdge, Cause::kUnknown};
}

CloseReason connect_failure(int err) {
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
      return {Side::kOrigin, Cause::kRefused};
    case ETIMEDOUT:
      return {Side::kOrigin, Cause::kConnectTimeout};
    default:
      return {Side::kOrigin, Cause::kUnreachable};
  }
}

}  // namespace rampart::telemetry
