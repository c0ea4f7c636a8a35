#pragma once
// Turns what people type into E.164 (for records) and into the dial string the PBX expects. The
// outside-line, national and international prefixes are vfax's own rules; whether a number exists,
// its type and how its country writes it come from libphonenumber (only number_plan.cc uses it).
#include <string>
#include <string_view>

#include "core/number_type.h"
#include "core/result.h"
#include "core/settings.h"

namespace vfax::core {

struct ParsedNumber {
  std::string e164;        // "+4989123456"
  std::string dialString;  // outside-line prefix + local/national/international form
  bool internal = false;   // equals one of our own extensions: goes to the loopback trunk
  std::string extension;   // set when internal
  NumberType type = NumberType::Unknown;
  std::string national;       // as the country writes it: "089 123456"
  std::string international;  // "+49 89 123456"
  std::string region;         // ISO 3166 region of the number ("DE"; "001": non-geographic)
};

class NumberPlan {
 public:
  explicit NumberPlan(Settings settings) : s_(std::move(settings)) {}

  /// Accepts `+49 89 1234-56`, `0049 89 123456`, `089/123456`, `(089) 123456`, `123456`, each
  /// optionally with the outside-line prefix in front. Error code `invalid_number`.
  Result<ParsedNumber> parse(std::string_view input) const;

  /// What libphonenumber knows of a stored E.164 number (type, formats); never fails: a number it
  /// cannot read keeps type Unknown and its E.164 as both formats.
  ParsedNumber describe(std::string_view e164) const;

  /// Partial input formatted as the own country writes it while it is typed (libphonenumber's
  /// as-you-type formatter); an outside-line prefix written apart stays in front.
  std::string asYouType(std::string_view input) const;

  /// E.164 to the PBX's dial string: prefix + local (same area), national or international form.
  std::string dialString(std::string_view e164) const;

  /// The device's TSI when it has none: `+<cc> <area> <base>-<extension>`, within T.30's limits.
  std::string defaultTsi(std::string_view extension) const;

 private:
  Settings s_;
};

/// T.30 limits a TSI/CSID to 20 characters of digits, '+' and space. Error code `invalid_tsi`.
Result<void> validateTsi(std::string_view tsi);

/// True for a string that can be a fax extension (1-15 digits).
bool isValidExtension(std::string_view ext);

}  // namespace vfax::core
