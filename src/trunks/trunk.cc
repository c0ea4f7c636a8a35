#include "trunks/trunk.h"

namespace vfax::trunks {

HangupCause busyCause() { return HangupCause{HangupReason::Busy, 17, "user busy"}; }

HangupCause normalCause(std::string text) {
  return HangupCause{HangupReason::Normal, 16, std::move(text)};
}

bool isTemporaryDialError(const std::string& code) {
  return code == "peer_unreachable" || code == "congestion" || code == "trunk_stopped" ||
         code == "resolving";
}

}  // namespace vfax::trunks
