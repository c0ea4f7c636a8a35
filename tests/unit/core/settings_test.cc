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
  const std::vector<std::string> expected{
      "total_lines",         "reserved_inbound_lines", "country_code",    "area_code",
      "base_number",         "outside_line_prefix",    "international_prefix",
      "national_prefix",     "mail_to_fax_mode",       "retention_days",  "send_attempts",
      "cleanup_schedule",    "cover_page_default",     "ocr_received",    "cover_language"};
  EXPECT_EQ(settingKeys(), expected);
  Settings s;
  const auto m = toMap(s);
  EXPECT_EQ(m.size(), expected.size());
  EXPECT_EQ(m.at("total_lines"), "4");
  EXPECT_EQ(m.at("reserved_inbound_lines"), "1");
  EXPECT_EQ(m.at("country_code"), "49");
  EXPECT_EQ(m.at("mail_to_fax_mode"), "attachments");
  EXPECT_EQ(m.at("cleanup_schedule"), "");
  EXPECT_TRUE(validate(s));
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
  for (auto v : {"", "0 3 * * *", "@daily", "*/15 * * * mon-fri"}) expectValid("cleanup_schedule", v);
  for (auto v : {"daily", "0 3 * *", "61 * * * *", "0 0 31 2 *"}) expectInvalid("cleanup_schedule", v);
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
