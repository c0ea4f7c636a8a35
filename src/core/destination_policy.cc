#include "core/destination_policy.h"

#include <algorithm>

namespace vfax::core {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Error refused(const ParsedNumber& n, const std::string& why) {
  const std::string& shown = n.international.empty() ? n.e164 : n.international;
  return makeError("destination_not_allowed", shown + " may not be dialled: " + why);
}

}  // namespace

Result<void> checkDestination(const ParsedNumber& number, const Settings& s) {
  if (number.internal) return {};
  const std::string& e164 = number.e164;
  const auto allowed = effectiveAllowedDestinations(s);
  const bool inAllowed = std::any_of(allowed.begin(), allowed.end(),
                                     [&](const std::string& p) { return e164.starts_with(p); });
  if (!inAllowed) {
    return refused(number, "it is not in the allowed destinations (" + join(allowed) +
                               "; setting allowed_destinations)");
  }
  for (const auto& p : s.blockedPrefixes) {
    if (e164.starts_with(p)) {
      return refused(number,
                     "numbers starting with " + p + " are blocked (setting blocked_prefixes)");
    }
  }
  const auto& types = s.blockedNumberTypes;
  if (std::find(types.begin(), types.end(), number.type) != types.end()) {
    return refused(number, "it is " + std::string(describe(number.type)) + ", and " +
                               std::string(toString(number.type)) +
                               " numbers are blocked (setting blocked_number_types)");
  }
  return {};
}

}  // namespace vfax::core
