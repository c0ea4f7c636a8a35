#include "core/destination_policy.h"

#include <gtest/gtest.h>

namespace vfax::core {
namespace {

// The refusal's message, or "" when the number may be dialled.
std::string refusal(const Settings& s, std::string_view in) {
  auto n = NumberPlan(s).parse(in);
  EXPECT_TRUE(n) << in << ": " << n.error().message;
  if (!n) return "invalid";
  auto r = checkDestination(*n, s);
  if (r) return "";
  EXPECT_EQ(r.error().code, "destination_not_allowed");
  return r.error().message;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(DestinationPolicy, DefaultsAllowTheOwnCountryWithoutCostlyTypes) {
  Settings s;  // +49, the default blocked types
  EXPECT_EQ(refusal(s, "089 123456"), "");
  EXPECT_EQ(refusal(s, "030 1234567"), "");
  EXPECT_EQ(refusal(s, "0151 12345678"), "");  // mobile is not blocked by default
  EXPECT_EQ(refusal(s, "0800 1234567"), "");   // nor toll-free
  const std::string premium = refusal(s, "+49 900 1234567");
  EXPECT_TRUE(contains(premium, "premium-rate")) << premium;
  EXPECT_TRUE(contains(premium, "blocked_number_types")) << premium;
  EXPECT_TRUE(contains(premium, "+49 900")) << premium;
  EXPECT_TRUE(contains(refusal(s, "0180 5 1234567"), "shared-cost"));
  EXPECT_TRUE(contains(refusal(s, "0700 12345678"), "personal number"));
  const std::string abroad = refusal(s, "0043 1 2345678");
  EXPECT_TRUE(contains(abroad, "not in the allowed destinations (+49")) << abroad;
  EXPECT_TRUE(contains(abroad, "allowed_destinations")) << abroad;
}

TEST(DestinationPolicy, TheDefaultFollowsTheCountryCode) {
  Settings s;
  s.countryCode = "43";
  s.areaCode = "1";
  EXPECT_EQ(refusal(s, "+43 1 2345678"), "");
  EXPECT_NE(refusal(s, "+49 89 123456"), "");
  EXPECT_TRUE(contains(refusal(s, "+43 900 123456"), "premium-rate"));
}

TEST(DestinationPolicy, AllowedListAndPlusForAll) {
  Settings s;
  s.allowedDestinations = std::vector<std::string>{"+49", "+43"};
  EXPECT_EQ(refusal(s, "+43 1 2345678"), "");
  EXPECT_NE(refusal(s, "+44 20 7946 0958"), "");
  s.allowedDestinations = std::vector<std::string>{"+4989"};  // one city only
  EXPECT_EQ(refusal(s, "089 123456"), "");
  EXPECT_NE(refusal(s, "030 1234567"), "");
  s.allowedDestinations = std::vector<std::string>{"+"};
  EXPECT_EQ(refusal(s, "+44 20 7946 0958"), "");
  EXPECT_EQ(refusal(s, "+1 212 555 1234"), "");
  // "+" opens the world, not the blocked types.
  EXPECT_TRUE(contains(refusal(s, "+1 900 555 1234"), "premium-rate"));
}

TEST(DestinationPolicy, BlockedPrefixesAndTypes) {
  Settings s;
  s.blockedPrefixes = {"+4930"};
  const std::string berlin = refusal(s, "030 1234567");
  EXPECT_TRUE(contains(berlin, "starting with +4930")) << berlin;
  EXPECT_TRUE(contains(berlin, "blocked_prefixes")) << berlin;
  EXPECT_EQ(refusal(s, "089 123456"), "");
  s.blockedNumberTypes = {};
  EXPECT_EQ(refusal(s, "+49 900 1234567"), "");  // nothing blocked by type
  s.blockedNumberTypes = {NumberType::Mobile};
  EXPECT_TRUE(contains(refusal(s, "0151 12345678"), "a mobile number, and mobile numbers"));
}

TEST(DestinationPolicy, InternalNumbersAreAlwaysAllowed) {
  Settings s;
  s.allowedDestinations = std::vector<std::string>{"+43"};
  s.blockedPrefixes = {"+49"};
  ParsedNumber own = NumberPlan(s).describe("+4989123456100");
  own.internal = true;
  own.extension = "100";
  EXPECT_TRUE(checkDestination(own, s));
  own.internal = false;
  EXPECT_FALSE(checkDestination(own, s));
}

}  // namespace
}  // namespace vfax::core
