#include "core/settings.h"

#include <gtest/gtest.h>

namespace vfax::core {
namespace {

void expectInvalid(std::string_view key, std::string_view value) {
  Settings s;
  const auto before = toMap(s);
  auto r = assignSetting(s, key, value);
  ASSERT_FALSE(r) << key << "=" << value;
  EXPECT_EQ(r.error().code, "invalid_setting") << key << "=" << value;
  EXPECT_NE(r.error().message.find(key), std::string::npos) << r.error().message;
  EXPECT_EQ(toMap(s), before) << "a rejected value must leave the settings unchanged";
}

void expectValid(std::string_view key, std::string_view value) {
  Settings s;
  auto r = assignSetting(s, key, value);
  ASSERT_TRUE(r) << key << "=" << value << ": " << r.error().message;
  EXPECT_EQ(getSetting(s, key).value(), value);
}

TEST(Settings, KeysInDocumentedOrder) {
  const std::vector<std::string> expected{"total_lines",          "reserved_inbound_lines",
                                          "country_code",         "area_code",
                                          "base_number",          "outside_line_prefix",
                                          "international_prefix", "national_prefix",
                                          "mail_to_fax_mode",     "retention_days",
                                          "send_attempts",        "cleanup_schedule",
                                          "cover_page_default",   "ocr_received",
                                          "cover_language",       "allowed_destinations",
                                          "blocked_number_types", "blocked_prefixes",
                                          "daily_page_limit",     "print_to_fax_mode",
                                          "print_hold_hours",     "print_field_patterns"};
  EXPECT_EQ(settingKeys(), expected);
  Settings s;
  const auto m = toMap(s);
  EXPECT_EQ(m.size(), expected.size());
  EXPECT_EQ(m.at("total_lines"), "4");
  EXPECT_EQ(m.at("reserved_inbound_lines"), "1");
  EXPECT_EQ(m.at("country_code"), "49");
  EXPECT_EQ(m.at("mail_to_fax_mode"), "attachments");
  EXPECT_EQ(m.at("cleanup_schedule"), "");
  EXPECT_EQ(m.at("allowed_destinations"), "");  // unset: the own country
  EXPECT_EQ(m.at("blocked_number_types"), "premium_rate,shared_cost,personal_number,uan,voip");
  EXPECT_EQ(m.at("blocked_prefixes"), "");
  EXPECT_EQ(m.at("daily_page_limit"), "0");
  EXPECT_EQ(m.at("print_to_fax_mode"), "fields_then_client");
  EXPECT_EQ(m.at("print_hold_hours"), "24");
  EXPECT_EQ(m.at("print_field_patterns"), "[]");
  EXPECT_TRUE(validate(s));
}

TEST(Settings, PrintToFax) {
  Settings s;
  auto roundTrip = [&s](const char* key, const std::string& value) {
    auto r = assignSetting(s, key, value);
    ASSERT_TRUE(r) << key << "=" << value << ": " << r.error().message;
    EXPECT_EQ(getSetting(s, key).value(), value);
  };
  for (const char* mode : {"client", "fields", "fields_then_client"}) {
    roundTrip("print_to_fax_mode", mode);
  }
  EXPECT_FALSE(assignSetting(s, "print_to_fax_mode", "always"));
  roundTrip("print_hold_hours", "1");
  EXPECT_FALSE(assignSetting(s, "print_hold_hours", "0"));
  EXPECT_FALSE(assignSetting(s, "print_hold_hours", "100000"));
  // Regexes hold commas: the string form is a JSON array.
  roundTrip("print_field_patterns", R"x(["FAX=(?<number>[0-9]{3,20})","TAG=(?<tag>\\w+)"])x");
  ASSERT_EQ(s.printFieldPatterns.size(), 2u);
  EXPECT_EQ(s.printFieldPatterns[0], "FAX=(?<number>[0-9]{3,20})");
  for (const char* bad : {"not json", "{\"a\":1}", "[1]", "[\"\"]"}) {
    auto r = assignSetting(s, "print_field_patterns", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_setting");
    EXPECT_NE(r.error().message.find("print_field_patterns"), std::string::npos);
  }
  EXPECT_EQ(s.printFieldPatterns.size(), 2u);  // a rejected value changes nothing
  ASSERT_TRUE(assignSetting(s, "print_field_patterns", ""));
  EXPECT_TRUE(s.printFieldPatterns.empty());
}

TEST(Settings, AllowedDestinationsFollowTheCountryWhileUnset) {
  Settings s;
  EXPECT_EQ(effectiveAllowedDestinations(s), std::vector<std::string>{"+49"});
  ASSERT_TRUE(assignSetting(s, "country_code", "43"));
  EXPECT_EQ(effectiveAllowedDestinations(s), std::vector<std::string>{"+43"});
  EXPECT_EQ(settingList(s, "allowed_destinations"), std::vector<std::string>{"+43"});
  ASSERT_TRUE(assignSetting(s, "allowed_destinations", " +49, +43 1 ,+49,"));
  EXPECT_EQ(getSetting(s, "allowed_destinations").value(), "+49,+431");  // spaces out, deduped
  ASSERT_TRUE(assignSetting(s, "country_code", "41"));
  EXPECT_EQ(effectiveAllowedDestinations(s), (std::vector<std::string>{"+49", "+431"}));
  ASSERT_TRUE(assignSetting(s, "allowed_destinations", ""));  // back to the default
  EXPECT_EQ(effectiveAllowedDestinations(s), std::vector<std::string>{"+41"});
  expectValid("allowed_destinations", "+");
  expectValid("allowed_destinations", "+1,+44,+49");
  for (auto v : {"49", "+049", "+49a", "++49", "+1234567890123456", "0049", "+4 9x"}) {
    expectInvalid("allowed_destinations", v);
  }
}

TEST(Settings, ApplyChangesKeepsTheDefaultUnpinned) {
  Settings s;  // country 49
  // A form that sends back what GET showed does not pin the own country ...
  ASSERT_TRUE(applyChanges(s, {{"allowed_destinations", "+49"}, {"country_code", "43"}}));
  EXPECT_FALSE(s.allowedDestinations);
  EXPECT_EQ(effectiveAllowedDestinations(s), std::vector<std::string>{"+43"});
  // ... anything else is set.
  ASSERT_TRUE(applyChanges(s, {{"allowed_destinations", "+43,+49"}}));
  ASSERT_TRUE(s.allowedDestinations);
  ASSERT_TRUE(applyChanges(s, {{"country_code", "49"}}));
  EXPECT_EQ(effectiveAllowedDestinations(s), (std::vector<std::string>{"+43", "+49"}));
  // All or nothing: one bad key leaves everything as it was.
  const auto before = toMap(s);
  auto r = applyChanges(s, {{"blocked_prefixes", "+44"}, {"daily_page_limit", "-1"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("daily_page_limit"), std::string::npos);
  EXPECT_EQ(toMap(s), before);
}

TEST(Settings, BlockedNumberTypes) {
  expectValid("blocked_number_types", "");
  expectValid("blocked_number_types", "premium_rate");
  expectValid("blocked_number_types", "mobile,toll_free,pager,voicemail,fixed_line_or_mobile");
  Settings s;
  ASSERT_TRUE(assignSetting(s, "blocked_number_types", "voip, voip ,uan"));
  EXPECT_EQ(s.blockedNumberTypes, (std::vector<NumberType>{NumberType::Voip, NumberType::Uan}));
  for (auto v : {"premium", "Premium_Rate", "premium_rate;voip", "premium-rate"}) {
    expectInvalid("blocked_number_types", v);
  }
  auto r = assignSetting(s, "blocked_number_types", "premium");
  EXPECT_NE(r.error().message.find("known types are fixed_line, mobile"), std::string::npos)
      << r.error().message;
}

TEST(Settings, BlockedPrefixes) {
  expectValid("blocked_prefixes", "");
  expectValid("blocked_prefixes", "+49900,+44");
  Settings s;
  ASSERT_TRUE(assignSetting(s, "blocked_prefixes", "+49 137, +49-180"));
  EXPECT_EQ(s.blockedPrefixes, (std::vector<std::string>{"+49137", "+49180"}));
  for (auto v : {"+", "49900", "+0", "+49 9x"}) expectInvalid("blocked_prefixes", v);
  std::string many;
  for (int i = 0; i < 201; ++i) many += "+49" + std::to_string(1000 + i) + ",";
  expectInvalid("blocked_prefixes", many);
}

TEST(Settings, DailyPageLimit) {
  for (auto v : {"0", "1", "500", "1000000"}) expectValid("daily_page_limit", v);
  for (auto v : {"-1", "1000001", "x", "", "1.5"}) expectInvalid("daily_page_limit", v);
}

TEST(Settings, TotalLines) {
  for (auto v : {"1", "4", "1000", "007"}) {
    Settings s;
    ASSERT_TRUE(assignSetting(s, "total_lines", v)) << v;
  }
  for (auto v : {"0", "1001", "", "abc", "-1", "+4", " 4", "4 ", "4.0", "1e3", "99999999999999"}) {
    expectInvalid("total_lines", v);
  }
  Settings s;
  auto r = assignSetting(s, "total_lines", "abc");
  EXPECT_EQ(r.error().message, "total_lines must be a whole number from 1 to 1000, got 'abc'");
}

TEST(Settings, ReservedInboundLines) {
  for (auto v : {"0", "3", "999"}) expectValid("reserved_inbound_lines", v);
  for (auto v : {"-1", "1000", "x", ""}) expectInvalid("reserved_inbound_lines", v);
}

TEST(Settings, CountryCode) {
  for (auto v : {"1", "49", "380"}) expectValid("country_code", v);
  for (auto v : {"", "049", "0", "1234", "+49", "4a"}) expectInvalid("country_code", v);
}

TEST(Settings, AreaCode) {
  for (auto v : {"", "89", "3641", "212"}) expectValid("area_code", v);
  for (auto v : {"8 9", "1234567", "(89)", "x"}) expectInvalid("area_code", v);
}

TEST(Settings, BaseNumber) {
  for (auto v : {"1", "123456", "1234567890123"}) expectValid("base_number", v);
  for (auto v : {"", "123-456", "12345678901234", "12 34"}) expectInvalid("base_number", v);
}

TEST(Settings, Prefixes) {
  for (auto key : {"outside_line_prefix", "international_prefix", "national_prefix"}) {
    for (auto v : {"", "0", "00", "011", "9"}) expectValid(key, v);
    for (auto v : {"+", "0 0", "a", "00000"}) expectInvalid(key, v);
  }
}

TEST(Settings, MailToFaxMode) {
  for (auto v : {"attachments", "body_and_attachments"}) expectValid("mail_to_fax_mode", v);
  for (auto v : {"", "body", "Attachments", "attachments "}) expectInvalid("mail_to_fax_mode", v);
  Settings s;
  ASSERT_TRUE(assignSetting(s, "mail_to_fax_mode", "body_and_attachments"));
  EXPECT_EQ(s.mailToFaxMode, MailToFaxMode::BodyAndAttachments);
}

TEST(Settings, RetentionDaysAndSendAttempts) {
  for (auto v : {"1", "30", "36500"}) expectValid("retention_days", v);
  for (auto v : {"0", "36501", "thirty", ""}) expectInvalid("retention_days", v);
  for (auto v : {"1", "3", "20"}) expectValid("send_attempts", v);
  for (auto v : {"0", "21", "3x"}) expectInvalid("send_attempts", v);
}

TEST(Settings, CleanupSchedule) {
  for (auto v : {"", "0 3 * * *", "@daily", "*/15 * * * mon-fri"})
    expectValid("cleanup_schedule", v);
  for (auto v : {"daily", "0 3 * *", "61 * * * *", "0 0 31 2 *"})
    expectInvalid("cleanup_schedule", v);
  Settings s;
  auto r = assignSetting(s, "cleanup_schedule", "0 25 * * *");
  EXPECT_NE(r.error().message.find("hour"), std::string::npos) << r.error().message;
}

TEST(Settings, UnknownKey) {
  Settings s;
  auto r = assignSetting(s, "lines", "4");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unknown_setting");
  EXPECT_NE(r.error().message.find("'lines'"), std::string::npos);
  EXPECT_NE(r.error().message.find("total_lines"), std::string::npos);
  EXPECT_EQ(getSetting(s, "Total_Lines").error().code, "unknown_setting");
  EXPECT_EQ(getSetting(s, "").error().code, "unknown_setting");
}

TEST(Settings, RoundTripThroughMap) {
  Settings a;
  ASSERT_TRUE(assignSetting(a, "country_code", "1"));
  ASSERT_TRUE(assignSetting(a, "area_code", "212"));
  ASSERT_TRUE(assignSetting(a, "national_prefix", "1"));
  ASSERT_TRUE(assignSetting(a, "international_prefix", "011"));
  ASSERT_TRUE(assignSetting(a, "cleanup_schedule", "@weekly"));
  Settings b;
  b.totalLines = 99;
  for (const auto& [k, v] : toMap(a)) ASSERT_TRUE(assignSetting(b, k, v)) << k;
  EXPECT_EQ(toMap(a), toMap(b));
  EXPECT_TRUE(validate(b));
}

TEST(Settings, ValidateAcrossKeys) {
  Settings s;
  s.totalLines = 4;
  s.reservedInboundLines = 4;
  auto r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_setting");
  EXPECT_NE(r.error().message.find("reserved_inbound_lines"), std::string::npos);
  s.reservedInboundLines = 3;
  EXPECT_TRUE(validate(s));

  // Keys can be set in any order; only validate() sees the combination.
  Settings t;
  ASSERT_TRUE(assignSetting(t, "reserved_inbound_lines", "6"));
  EXPECT_FALSE(validate(t));
  ASSERT_TRUE(assignSetting(t, "total_lines", "8"));
  EXPECT_TRUE(validate(t));

  Settings area;
  area.areaCode = "089";
  r = validate(area);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("area_code"), std::string::npos);
  area.nationalPrefix = "";  // closed plans (Italy: 06) keep the leading 0
  EXPECT_TRUE(validate(area));

  Settings prefixes;
  prefixes.internationalPrefix = "0";
  prefixes.nationalPrefix = "00";
  EXPECT_NE(validate(prefixes).error().message.find("national_prefix"), std::string::npos);
  prefixes.nationalPrefix = "0";
  EXPECT_FALSE(validate(prefixes));

  Settings tooLong;
  tooLong.baseNumber = "1234567890123";  // 49 + 89 + 13 digits = 17
  EXPECT_NE(validate(tooLong).error().message.find("15 digits"), std::string::npos);

  // Values set in code bypassing assignSetting are held to the same rules.
  Settings direct;
  direct.sendAttempts = 0;
  EXPECT_NE(validate(direct).error().message.find("send_attempts"), std::string::npos);
  direct = Settings{};
  direct.cleanupSchedule = "nonsense";
  EXPECT_NE(validate(direct).error().message.find("cleanup_schedule"), std::string::npos);
  direct = Settings{};
  direct.countryCode = "049";
  EXPECT_NE(validate(direct).error().message.find("country_code"), std::string::npos);
}

}  // namespace
}  // namespace vfax::core
