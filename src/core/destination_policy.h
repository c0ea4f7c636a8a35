#pragma once
// Who may make vfax dial: the destination policy of the settings (allowed_destinations,
// blocked_number_types, blocked_prefixes), checked for every way in at submit and again before
// each dial.
#include "core/number_plan.h"
#include "core/result.h"
#include "core/settings.h"

namespace vfax::core {

/// Whether vfax may dial `number` (from NumberPlan::parse or describe) under `s`. Internal numbers
/// (own extensions) are always allowed. Error code `destination_not_allowed`; the message names
/// the rule and the setting that refuse the number.
Result<void> checkDestination(const ParsedNumber& number, const Settings& s);

}  // namespace vfax::core
