// The bans filter: refuses a source while its ban runs (autoban's, a fleet peer's or the API's;
// bans are zone-wide, so every app's chain holds this filter). The bans themselves are decided
// by Guard::violation() from the violations the other filters report (Call::violation).
// Stateless; any worker thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::autoban {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kBanned, "banned", "BANNED", true},
};
inline constexpr FilterDecl kDecl{FilterId::kAutoban, kReasons, kOnAccept | kOnDatagram, false,
                                  false};

class BanFilter final : public Filter {
 public:
  constexpr BanFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy&) const override { return true; }
  Verdict on_accept(Call& c) const override { return judge(c); }
  Verdict on_datagram(Call& c) const override { return judge(c); }

 private:
  static Verdict judge(Call& c) {
    if (!c.banned()) return Verdict::kContinue;
    c.reason = Reason::kBanned;
    return Verdict::kDrop;
  }
};

}  // namespace rampart::guard::autoban
