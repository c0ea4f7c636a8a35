// libFuzzer target over the number plan's parse path: any bytes typed as a fax number (the web
// page, the CLI, a mail subject, GET /numbers/parse) must be read or refused cleanly under the
// number plans of a few countries, and what is read must be describable, formattable and
// checkable against the destination policy. The first byte picks the plan, the rest is the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/destination_policy.h"
#include "core/number_plan.h"

namespace {

using vfax::core::Settings;

Settings plan(unsigned pick) {
  Settings s;  // Germany: +49 89, outside line 0, international 00, national 0
  switch (pick % 4) {
    case 1:  // North America: outside line 9, 011 / 1
      s.countryCode = "1";
      s.areaCode = "212";
      s.baseNumber = "5550100";
      s.outsideLinePrefix = "9";
      s.internationalPrefix = "011";
      s.nationalPrefix = "1";
      break;
    case 2:  // a closed plan without national prefix (Italy)
      s.countryCode = "39";
      s.areaCode = "06";
      s.baseNumber = "1234567";
      s.nationalPrefix = "";
      break;
    case 3:  // no outside-line prefix, every destination allowed, nothing blocked by type
      s.outsideLinePrefix = "";
      s.allowedDestinations = std::vector<std::string>{"+"};
      s.blockedNumberTypes = {};
      s.blockedPrefixes = {"+49900"};
      break;
    default:
      break;
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 200) return 0;  // the API takes at most 100 characters
  const Settings s = plan(data[0]);
  const vfax::core::NumberPlan p(s);
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string typed = p.asYouType(input);
  if (typed.size() > 4 * input.size() + 8) std::abort();
  auto parsed = p.parse(input);
  if (!parsed) {
    if (parsed.error().code != "invalid_number" || parsed.error().message.empty()) std::abort();
    return 0;
  }
  // A number that was read is E.164 and reads back as itself.
  const std::string& e164 = parsed->e164;
  if (e164.size() < 2 || e164.size() > 16 || e164[0] != '+') std::abort();
  auto again = p.parse(e164);
  if (!again || again->e164 != e164) std::abort();
  const auto described = p.describe(e164);
  if (described.type != parsed->type) std::abort();
  if (parsed->dialString != p.dialString(e164)) std::abort();
  auto allowed = vfax::core::checkDestination(*parsed, s);
  if (!allowed && allowed.error().code != "destination_not_allowed") std::abort();
  return 0;
}
