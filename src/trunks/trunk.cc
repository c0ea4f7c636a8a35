#include "trunks/trunk.h"

namespace vfax::trunks {

HangupCause busyCause() { return HangupCause{HangupReason::Busy, 17, "user busy"}; }

HangupCause normalCause(std::string text) {
  return HangupCause{HangupReason::Normal, 16, std::move(text)};
}

}  // namespace vfax::trunks
