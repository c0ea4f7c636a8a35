#pragma once
// The API's use of reactor/address_match.h (allow-lists of addresses and networks).
#include "reactor/address_match.h"

namespace vfax::api {
using reactor::addressAllowed;
}  // namespace vfax::api
