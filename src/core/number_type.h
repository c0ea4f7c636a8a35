#pragma once
// The kinds of telephone numbers, as libphonenumber tells them apart. Their names are the values of
// the `blocked_number_types` setting and the `type` of GET /numbers/parse.
#include <array>
#include <optional>
#include <string_view>

namespace vfax::core {

enum class NumberType {
  FixedLine,
  Mobile,
  FixedLineOrMobile,  // the plan cannot tell (e.g. all of North America)
  TollFree,
  PremiumRate,
  SharedCost,
  Voip,
  PersonalNumber,
  Pager,
  Uan,  // universal access number (company numbers routed by the carrier)
  Voicemail,
  Unknown,  // a valid number whose kind the metadata does not say
};

struct NumberTypeName {
  NumberType type;
  std::string_view name;         // setting value, JSON
  std::string_view description;  // for messages: "a premium-rate number"
};

inline constexpr std::array<NumberTypeName, 12> kNumberTypeNames{{
    {NumberType::FixedLine, "fixed_line", "a fixed-line number"},
    {NumberType::Mobile, "mobile", "a mobile number"},
    {NumberType::FixedLineOrMobile, "fixed_line_or_mobile", "a fixed-line or mobile number"},
    {NumberType::TollFree, "toll_free", "a toll-free number"},
    {NumberType::PremiumRate, "premium_rate", "a premium-rate number"},
    {NumberType::SharedCost, "shared_cost", "a shared-cost number"},
    {NumberType::Voip, "voip", "a VoIP number"},
    {NumberType::PersonalNumber, "personal_number", "a personal number"},
    {NumberType::Pager, "pager", "a pager number"},
    {NumberType::Uan, "uan", "a universal access number (UAN)"},
    {NumberType::Voicemail, "voicemail", "a voicemail access number"},
    {NumberType::Unknown, "unknown", "a number of unknown type"},
}};

constexpr std::string_view toString(NumberType t) {
  for (const auto& n : kNumberTypeNames) {
    if (n.type == t) return n.name;
  }
  return "unknown";
}

constexpr std::string_view describe(NumberType t) {
  for (const auto& n : kNumberTypeNames) {
    if (n.type == t) return n.description;
  }
  return "a number of unknown type";
}

constexpr std::optional<NumberType> numberTypeFromString(std::string_view name) {
  for (const auto& n : kNumberTypeNames) {
    if (n.name == name) return n.type;
  }
  return std::nullopt;
}

}  // namespace vfax::core
