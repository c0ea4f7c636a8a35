#include "core/number_plan.h"

#include <gtest/gtest.h>

namespace vfax::core {
namespace {

Settings germany() {
  Settings s;  // defaults: +49 89 123456, outside line 0, international 00, national 0
  return s;
}

Settings nanp() {
  Settings s;
  s.countryCode = "1";
  s.areaCode = "212";
  s.baseNumber = "5550100";
  s.outsideLinePrefix = "9";
  s.internationalPrefix = "011";
  s.nationalPrefix = "1";
  return s;
}

std::string e164(const NumberPlan& p, std::string_view in) {
  auto r = p.parse(in);
  if (!r) return "ERR " + r.error().code + ": " + r.error().message;
  EXPECT_FALSE(r->internal);
  return r->e164;
}

std::string dial(const NumberPlan& p, std::string_view in) {
  auto r = p.parse(in);
  return r ? r->dialString : "ERR";
}

TEST(NumberPlan, BriefExamplesGermany) {
  NumberPlan p(germany());
  for (const char* in :
       {"+49 89 1234-56", "0049 89 123456", "089/123456", "(089) 123456", "123456",
        "+49 (0)89 123456", "0049 (0) 89 123456", "089.123456", "  089 123456  "}) {
    EXPECT_EQ(e164(p, in), "+4989123456") << in;
  }
  EXPECT_EQ(e164(p, "030 1234567"), "+49301234567");
  EXPECT_EQ(e164(p, "+33 1 23 45 67 89"), "+33123456789");
  EXPECT_EQ(e164(p, "0033 1 23 45 67 89"), "+33123456789");
}

TEST(NumberPlan, OutsideLinePrefixGermany) {
  NumberPlan p(germany());
  // Written apart, the outside-line prefix is read as such (rule 5a).
  EXPECT_EQ(e164(p, "0 089 123456"), "+4989123456");
  EXPECT_EQ(e164(p, "0 123456"), "+4989123456");
  EXPECT_EQ(e164(p, "0 0049 89 123456"), "+4989123456");
  EXPECT_EQ(e164(p, "0 +49 89 123456"), "+4989123456");
  // Run together: stripped only when the literal reading is not a valid number (rule 5b).
  EXPECT_EQ(e164(p, "00049 89 123456"), "+4989123456");  // literal: country code 049
  EXPECT_EQ(e164(p, "000331 23 45 67 89"), "+33123456789");
  // Literal readings libphonenumber does not know lose: there is no country +89, and no German
  // number 0123456.
  EXPECT_EQ(e164(p, "0089 123456"), "+4989123456");
  EXPECT_EQ(e164(p, "0123456"), "+4989123456");
  EXPECT_EQ(e164(p, "0030 1234567"), "+49301234567");  // no Greek number: Berlin
  // A literal reading that is valid wins: this is Athens.
  EXPECT_EQ(e164(p, "0030 210 1234567"), "+302101234567");
  // "(0)" in front is not the outside-line prefix written apart; it is the trunk prefix.
  EXPECT_EQ(e164(p, "(0)89 123456"), "+4989123456");
}

TEST(NumberPlan, OutsideLinePrefixDistinctFromNationalPrefix) {
  Settings s = germany();
  s.outsideLinePrefix = "9";
  NumberPlan p(s);
  EXPECT_EQ(e164(p, "9 089 123456"), "+4989123456");
  // Run together, the literal reading (a local number) is valid, so it wins (rule 5b).
  EXPECT_EQ(e164(p, "9089 123456"), "+49899089123456");
  EXPECT_EQ(e164(p, "9 123456"), "+4989123456");
  EXPECT_EQ(dial(p, "089 123456"), "9123456");
}

TEST(NumberPlan, NoOutsideLinePrefix) {
  Settings s = germany();
  s.outsideLinePrefix = "";
  NumberPlan p(s);
  EXPECT_EQ(e164(p, "0 30 1234567"), "+49301234567");  // the lone 0 is the national prefix here
  EXPECT_EQ(dial(p, "+49 89 123456"), "123456");
  EXPECT_EQ(dial(p, "+49 30 1234567"), "0301234567");
}

TEST(NumberPlan, DialStringGermany) {
  NumberPlan p(germany());
  EXPECT_EQ(p.dialString("+4989123456"), "0123456");
  EXPECT_EQ(p.dialString("+49301234567"), "00301234567");
  EXPECT_EQ(p.dialString("+33123456789"), "00033123456789");
  EXPECT_EQ(dial(p, "089 123456"), "0123456");
  EXPECT_EQ(dial(p, "0 0049 30 1234567"), "00301234567");
}

TEST(NumberPlan, Nanp) {
  NumberPlan p(nanp());
  for (const char* in : {"+1 212 555 1234", "1 212 555 1234", "212-555-1234", "(212) 555-1234",
                         "555-1234", "1-212-555-1234", "212.555.1234", "9 1 212 555 1234",
                         "9 555 1234", "9 212 555 1234", "912125551234", "95551234"}) {
    EXPECT_EQ(e164(p, in), "+12125551234") << in;
  }
  EXPECT_EQ(e164(p, "1 415 555 0000"), "+14155550000");
  EXPECT_EQ(e164(p, "011 49 89 123456"), "+4989123456");
  EXPECT_EQ(e164(p, "9 011 49 89 123456"), "+4989123456");
  EXPECT_EQ(p.dialString("+12125551234"), "95551234");
  EXPECT_EQ(p.dialString("+14155550000"), "914155550000");
  EXPECT_EQ(p.dialString("+4989123456"), "90114989123456");
  EXPECT_EQ(p.parse("555 123").error().code, "invalid_number");  // 6 digits: no NANP number
  EXPECT_EQ(p.parse("+1 212 555 123").error().code, "invalid_number");
}

TEST(NumberPlan, ClosedNumberingPlan) {
  Settings s;
  s.countryCode = "39";
  s.areaCode = "06";
  s.baseNumber = "1234567";
  s.outsideLinePrefix = "0";
  s.internationalPrefix = "00";
  s.nationalPrefix = "";
  NumberPlan p(s);
  EXPECT_EQ(e164(p, "06 1234567"), "+39061234567");
  EXPECT_EQ(e164(p, "0 06 1234567"), "+39061234567");
  EXPECT_EQ(p.dialString("+39061234567"), "0061234567");
  EXPECT_EQ(p.dialString("+4989123456"), "0004989123456");
}

TEST(NumberPlan, Rejects) {
  NumberPlan p(germany());
  for (const char* in :
       {"", "   ", "--", "12", "+49", "+4", "0 1", "089 12345a", "Tel 089 123456", "089*123",
        "089#1", "+49 89 +123", "12+3", "+0049 89 123456", "+49 89 1234567890123",
        "0049 89 1234567890123", "089_123", "0 9 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5"}) {
    auto r = p.parse(in);
    ASSERT_FALSE(r) << in << " -> " << r->e164;
    EXPECT_EQ(r.error().code, "invalid_number") << in;
    EXPECT_FALSE(r.error().message.empty());
  }
  EXPECT_NE(p.parse("089 12x456").error().message.find("'x'"), std::string::npos);
  EXPECT_NE(p.parse("12").error().message.find("too short"), std::string::npos);
  EXPECT_NE(p.parse("+49 89 1234567890123").error().message.find("too long"), std::string::npos);
  const std::string withNul(
      "089\0"
      "123",
      7);
  EXPECT_EQ(p.parse(withNul).error().code, "invalid_number");
}

TEST(NumberPlan, LibphonenumberDecidesValidity) {
  NumberPlan p(germany());
  auto tooShort = p.parse("+49 20");
  ASSERT_FALSE(tooShort);
  EXPECT_EQ(tooShort.error().code, "invalid_number");
  EXPECT_NE(tooShort.error().message.find("not a valid number in DE (+49)"), std::string::npos)
      << tooShort.error().message;
  auto noCountry = p.parse("+89 123456");
  ASSERT_FALSE(noCountry);
  EXPECT_NE(noCountry.error().message.find("no country uses a code"), std::string::npos)
      << noCountry.error().message;
  auto ukTooShort = p.parse("+44 20 123");
  ASSERT_FALSE(ukTooShort);
  EXPECT_NE(ukTooShort.error().message.find("GB (+44)"), std::string::npos)
      << ukTooShort.error().message;
  EXPECT_FALSE(p.parse("+49 32 12345678"));  // the 032 range has longer numbers
  EXPECT_TRUE(p.parse("+49 32 1234567890"));
}

TEST(NumberPlan, TypesFromLibphonenumber) {
  NumberPlan p(germany());
  auto type = [&](std::string_view in) {
    auto r = p.parse(in);
    EXPECT_TRUE(r) << in << ": " << r.error().message;
    return r ? r->type : NumberType::Unknown;
  };
  EXPECT_EQ(type("+49 900 1234567"), NumberType::PremiumRate);
  EXPECT_EQ(type("0 0900 1234567"), NumberType::PremiumRate);
  EXPECT_EQ(type("089 123456"), NumberType::FixedLine);
  EXPECT_EQ(type("0151 12345678"), NumberType::Mobile);
  EXPECT_EQ(type("0800 1234567"), NumberType::TollFree);
  EXPECT_EQ(type("0180 5 1234567"), NumberType::SharedCost);
  EXPECT_EQ(type("0700 12345678"), NumberType::PersonalNumber);
  EXPECT_EQ(type("+44 55 1234 5678"), NumberType::Uan);
  EXPECT_EQ(type("+44 56 1234 5678"), NumberType::Voip);
  EXPECT_EQ(type("+1 212 555 1234"), NumberType::FixedLineOrMobile);
  EXPECT_EQ(type("+1 900 555 1234"), NumberType::PremiumRate);
  EXPECT_EQ(type("+43 900 123456"), NumberType::PremiumRate);
}

TEST(NumberPlan, FormatsAsTheCountryWritesThem) {
  NumberPlan p(germany());
  auto r = p.parse("0 0049 89 123456");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->national, "089 123456");
  EXPECT_EQ(r->international, "+49 89 123456");
  EXPECT_EQ(r->region, "DE");
  auto us = p.parse("001 212 555 1234");
  ASSERT_TRUE(us);
  EXPECT_EQ(us->national, "(212) 555-1234");
  EXPECT_EQ(us->international, "+1 212-555-1234");
  EXPECT_EQ(us->region, "US");
  // describe() never fails: what libphonenumber cannot read stays as it is.
  auto odd = p.describe("+999");
  EXPECT_EQ(odd.type, NumberType::Unknown);
  EXPECT_EQ(odd.international, "+999");
}

TEST(NumberPlan, AsYouType) {
  NumberPlan p(germany());
  EXPECT_EQ(p.asYouType("+4989123"), "+49 89 123");
  EXPECT_EQ(p.asYouType("089123456"), "089 123456");
  EXPECT_EQ(p.asYouType("0 089 12"), "0 089 12");  // the outside-line prefix stays in front
  EXPECT_EQ(p.asYouType("0 0900 1234567"), "0 0900 1 234567");
  EXPECT_EQ(p.asYouType(""), "");
  EXPECT_EQ(p.asYouType("abc"), "");
  NumberPlan us(nanp());
  EXPECT_EQ(us.asYouType("2125551234"), "(212) 555-1234");
  EXPECT_EQ(us.asYouType("9 212555"), "9 212-555");
}

TEST(NumberPlan, LongestValidNumber) {
  NumberPlan p(germany());
  EXPECT_EQ(e164(p, "+49 8912 3456 7890 1"), "+498912345678901");
  EXPECT_EQ(e164(p, "089 1234567890 1"), "+498912345678901");
}

TEST(NumberPlan, DefaultTsi) {
  NumberPlan p(germany());
  EXPECT_EQ(p.defaultTsi("12"), "+49 89 123456 12");
  EXPECT_EQ(p.defaultTsi(""), "+49 89 123456");
  EXPECT_TRUE(validateTsi(p.defaultTsi("12")));

  Settings s = germany();
  s.baseNumber = "1234567";
  s.areaCode = "3641";
  NumberPlan q(s);
  // 22 characters with all spaces: spaces are dropped from the left first.
  // "+49 3641 1234567 1234" has 21 characters: the first space goes, the one before the
  // extension stays.
  EXPECT_EQ(q.defaultTsi("1234"), "+493641 1234567 1234");
  EXPECT_EQ(q.defaultTsi("12345"), "+4936411234567 12345");
  EXPECT_EQ(q.defaultTsi("123456789"), "+4936411234567123456");  // cut to 20
  EXPECT_EQ(q.defaultTsi("12-34"), "+493641 1234567 1234");      // only digits survive
  for (const char* ext : {"1", "1234", "123456789012345"}) {
    EXPECT_TRUE(validateTsi(q.defaultTsi(ext))) << ext;
  }
  Settings noArea = germany();
  noArea.areaCode = "";
  EXPECT_EQ(NumberPlan(noArea).defaultTsi("7"), "+49 123456 7");
}

TEST(NumberPlan, ValidateTsiAndExtension) {
  EXPECT_TRUE(validateTsi(""));
  EXPECT_TRUE(validateTsi("+49 89 123456 12"));
  EXPECT_TRUE(validateTsi("12345678901234567890"));
  EXPECT_EQ(validateTsi("123456789012345678901").error().code, "invalid_tsi");
  EXPECT_EQ(validateTsi("+49-89-123456").error().code, "invalid_tsi");
  EXPECT_EQ(validateTsi("ACME Corp").error().code, "invalid_tsi");
  EXPECT_TRUE(isValidExtension("1"));
  EXPECT_TRUE(isValidExtension("123456789012345"));
  EXPECT_FALSE(isValidExtension(""));
  EXPECT_FALSE(isValidExtension("1234567890123456"));
  EXPECT_FALSE(isValidExtension("12a"));
  EXPECT_FALSE(isValidExtension("-12"));
  EXPECT_FALSE(isValidExtension(" 12"));
}

}  // namespace
}  // namespace vfax::core
