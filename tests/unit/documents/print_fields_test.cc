// Print-to-Fax control fields, the pure part: every dialect, fields broken up by whitespace and
// lines, values that are not usable, the admin's patterns (good, bad, catastrophic) and the
// mail-merge plan.
#include "documents/print_fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vfax::documents {
namespace {

// Characters of a page: each line of `text` on its own baseline (14 pt apart), 6 pt per
// character, starting at x = 72.
std::vector<FieldChar> page(const std::u32string& text) {
  std::vector<FieldChar> out;
  float x = 72, y = 100;
  for (const char32_t c : text) {
    if (c == U'\n') {
      out.push_back(FieldChar{c, 0, 0, 0, 0});
      x = 72;
      y += 14;
      continue;
    }
    out.push_back(FieldChar{c, x, y, x + 6, y + 10});
    x += 6;
  }
  return out;
}

PageFields find(const std::u32string& text, const FieldPatterns& patterns = FieldPatterns()) {
  return findPageFields(1, page(text), patterns);
}

struct Expect {
  FieldKind kind;
  const char* dialect;
  const char* value;
};

void expectOne(const std::u32string& text, Expect e) {
  const PageFields r = find(text);
  ASSERT_EQ(r.fields.size(), 1u) << "in the text given";
  const PrintField& f = r.fields[0];
  EXPECT_EQ(f.kind, e.kind);
  EXPECT_EQ(f.dialect, e.dialect);
  EXPECT_EQ(f.value, e.value);
  EXPECT_TRUE(f.problem.empty()) << f.problem;
  EXPECT_EQ(f.page, 1);
  EXPECT_FALSE(f.boxes.empty());
}

TEST(PrintFields, PascomHylafaxDialect) {
  expectOne(U"Kunde: @@+FAX:089 123456@@ Rechnung", {FieldKind::kNumber, "hylafax", "089123456"});
  expectOne(U"@@+TAG:Rechnung 4711@@", {FieldKind::kTag, "hylafax", "Rechnung 4711"});
  expectOne(U"@@+NOTIFY:buchhaltung@example.com@@",
            {FieldKind::kNotify, "hylafax", "buchhaltung@example.com"});
  expectOne(U"@@+PRIO:200@@", {FieldKind::kPriority, "hylafax", "200"});
  expectOne(U"@@+PRIO:007@@", {FieldKind::kPriority, "hylafax", "7"});
  // The keywords in any case, as HylaFAX clients write them.
  expectOne(U"@@+fax:+49 89 1234@@", {FieldKind::kNumber, "hylafax", "+49891234"});
}

TEST(PrintFields, SwyxDialect) {
  expectOne(U"@@NUMBER 0891234@@", {FieldKind::kNumber, "swyx", "0891234"});
  expectOne(U"@@NMB 0891234@@", {FieldKind::kNumber, "swyx", "0891234"});
  expectOne(U"@@TO 0891234@@", {FieldKind::kNumber, "swyx", "0891234"});
  expectOne(U"@@NUMMER +49 (0)89 1234-5@@", {FieldKind::kNumber, "swyx", "+498912345"});
  expectOne(U"@@NUMBER:0891234@@", {FieldKind::kNumber, "swyx", "0891234"});
  // Swyx markers have no colon: a word that merely begins like one is no field.
  EXPECT_TRUE(find(U"@@TOM@@ @@TOTAL 5@@ @@NUMBERS@@").fields.empty());
}

TEST(PrintFields, YajhfcDialect) {
  expectOne(U"@@fax:0891234@@", {FieldKind::kNumber, "yajhfc", "0891234"});
  expectOne(U"@@recipient:0891234@@", {FieldKind::kNumber, "yajhfc", "0891234"});
  expectOne(U"@@Recipient: 089/1234@@", {FieldKind::kNumber, "yajhfc", "0891234"});
}

TEST(PrintFields, WinprintAndRightfaxDialects) {
  expectOne(U"###0891234###", {FieldKind::kNumber, "winprint", "0891234"});
  expectOne(U"<TOFAXNUM:089-1234>", {FieldKind::kNumber, "rightfax", "0891234"});
  expectOne(U"<tofaxnum: 0891234 >", {FieldKind::kNumber, "rightfax", "0891234"});
  // Rows of hashes are decoration, not fields.
  EXPECT_TRUE(find(U"########## Summe ######## ###").fields.empty());
  EXPECT_TRUE(find(U"### Kapitel ###").fields.empty());
}

TEST(PrintFields, WhitespaceAnywhereInsideTheMarkers) {
  // Text extraction puts spaces between runs drawn apart, and breaks lines.
  expectOne(U"@ @ + F A X : 0 8 9 1 2 3 4 @ @", {FieldKind::kNumber, "hylafax", "0891234"});
  expectOne(U"@@+FA\nX:0891\n234@@", {FieldKind::kNumber, "hylafax", "0891234"});
  expectOne(U"@@+TAG:  Rechnung\n  4711 @@", {FieldKind::kTag, "hylafax", "Rechnung 4711"});
}

TEST(PrintFields, AFieldLeftOpenDoesNotSwallowTheNextLinesField) {
  expectOne(U"@@+FAX:08\n@@+TAG:ok@@", {FieldKind::kTag, "hylafax", "ok"});
  // On one line it is a field (with an unusable value), as written.
  EXPECT_EQ(find(U"@@+FAX:08 @@+TAG:ok@@").fields.size(), 1u);
}

TEST(PrintFields, BoxesCoverTheFieldLineByLine) {
  const PageFields one = find(U"ab @@+FAX:0891@@ cd");
  ASSERT_EQ(one.fields.size(), 1u);
  ASSERT_EQ(one.fields[0].boxes.size(), 1u);
  const FieldBox& b = one.fields[0].boxes[0];
  EXPECT_FLOAT_EQ(b.x0, 72 + 3 * 6);   // after "ab "
  EXPECT_FLOAT_EQ(b.x1, 72 + 16 * 6);  // "@@+FAX:0891@@" is 13 characters
  EXPECT_FLOAT_EQ(b.y0, 100);
  EXPECT_FLOAT_EQ(b.y1, 110);
  EXPECT_EQ(b.page, 1);
  const PageFields two = find(U"x @@+FAX:08\n91@@");
  ASSERT_EQ(two.fields.size(), 1u);
  ASSERT_EQ(two.fields[0].boxes.size(), 2u);
  EXPECT_FLOAT_EQ(two.fields[0].boxes[1].y0, 114);
  EXPECT_FLOAT_EQ(two.fields[0].boxes[1].x1, 72 + 4 * 6);
}

TEST(PrintFields, SeveralFieldsOnAPage) {
  const PageFields r = find(U"@@+FAX:0891@@ @@+FAX:0892@@\n###0893### @@+TAG:t@@ <TOFAXNUM:0894>");
  ASSERT_EQ(r.fields.size(), 5u);
  EXPECT_EQ(r.fields[0].value, "0891");
  EXPECT_EQ(r.fields[1].value, "0892");
  EXPECT_EQ(r.fields[2].value, "0893");
  EXPECT_EQ(r.fields[3].value, "t");
  EXPECT_EQ(r.fields[4].value, "0894");
}

TEST(PrintFields, UnusableValuesAreReportedAndStillBlanked) {
  const PageFields r = find(
      U"@@+FAX:call me@@ @@+PRIO:300@@ @@+PRIO:high@@ @@+NOTIFY:nobody@@ @@+TAG:@@ "
      U"@@+FAX:0+1@@ @@+FAX:123456789012345678901234567890123@@");
  ASSERT_EQ(r.fields.size(), 7u);
  for (const PrintField& f : r.fields) {
    EXPECT_FALSE(f.problem.empty()) << f.text;
    EXPECT_TRUE(f.value.empty()) << f.text;
    EXPECT_FALSE(f.boxes.empty()) << f.text;
  }
  EXPECT_NE(r.fields[0].problem.find("not a fax number"), std::string::npos);
  EXPECT_NE(r.fields[1].problem.find("255"), std::string::npos);
}

TEST(PrintFields, NoFieldWithoutItsEnd) {
  EXPECT_TRUE(find(U"@@+FAX:0891234 and then the letter goes on").fields.empty());
  // The end must come within 256 characters.
  EXPECT_TRUE(find(U"@@+TAG:" + std::u32string(300, U'x') + U"@@").fields.empty());
  EXPECT_TRUE(find(U"@@ @ @@@ @@+ @@+FAX @@+FAX: <TOFAXNUM ### ## #").fields.empty());
  EXPECT_TRUE(find(U"").fields.empty());
  // After a stray start, a real field still counts.
  expectOne(U"@@+FAX:" + std::u32string(300, U'x') + U"@@+FAX:0891@@",
            {FieldKind::kNumber, "hylafax", "0891"});
  // An empty placeholder is a field (blanked out) without a usable value.
  const PageFields empty = find(U"@@+FAX:@@");
  ASSERT_EQ(empty.fields.size(), 1u);
  EXPECT_FALSE(empty.fields[0].problem.empty());
}

TEST(PrintFields, NormaliseNumbers) {
  EXPECT_EQ(normaliseFieldNumber("+49 (89) 123-45/6"), "+4989123456");
  EXPECT_EQ(normaliseFieldNumber("+49 (0)89 1234"), "+49891234");
  EXPECT_EQ(normaliseFieldNumber("(089) 1234"), "0891234");
  EXPECT_EQ(normaliseFieldNumber("  0891234 "), "0891234");
  EXPECT_EQ(normaliseFieldNumber("089.1234"), "0891234");
  EXPECT_EQ(normaliseFieldNumber("10"), "10");
  EXPECT_EQ(normaliseFieldNumber(""), "");
  EXPECT_EQ(normaliseFieldNumber("---"), "");
  EXPECT_EQ(normaliseFieldNumber("089 1234 Zentrale"), "");
  EXPECT_EQ(normaliseFieldNumber("49+89"), "");
  EXPECT_EQ(normaliseFieldNumber("*31#"), "");
}

TEST(PrintFields, TooManyFieldsOnAPageStopWithAWarning) {
  std::u32string text;
  for (int i = 0; i < kMaxFieldsPerPage + 20; ++i) text += U"###0891###";
  const PageFields r = find(text);
  EXPECT_EQ(r.fields.size(), static_cast<std::size_t>(kMaxFieldsPerPage));
  ASSERT_EQ(r.warnings.size(), 1u);
}

TEST(PrintFields, AnotherReadingOrderAddsOnlyUnseenFields) {
  PageFields first = find(U"@@+FAX:0891@@");
  PageFields second = find(U"@@+FAX:0891@@\n@@+TAG:x@@");  // the same field, and a new one
  second.warnings.push_back("w");
  first.warnings.push_back("w");
  addUnseenFields(&first, second);
  ASSERT_EQ(first.fields.size(), 2u);
  EXPECT_EQ(first.fields[1].kind, FieldKind::kTag);
  EXPECT_EQ(first.warnings.size(), 1u);
}

// --- admin patterns ----------------------------------------------------------------------------

TEST(PrintFieldPatterns, AGoodPatternFindsItsFields) {
  auto p = compileFieldPatterns({R"(FAXNR:\s*(?<number>\+?[0-9 /-]{3,30}[0-9]))",
                                 R"(\[\[prio=(?<prio>\d+)\]\])",
                                 R"(Ref (?<tag>[A-Z]{2}-\d+) an (?<notify>\S+@\S+))"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->size(), 3u);
  const PageFields r = find(U"Bitte FAXNR: 089 / 1234-5\nan [[prio=12]] Ref AB-77 an a@b.de\n", *p);
  ASSERT_EQ(r.fields.size(), 4u);
  EXPECT_EQ(r.fields[0].dialect, "pattern1");
  EXPECT_EQ(r.fields[0].value, "08912345");
  EXPECT_EQ(r.fields[0].text, "FAXNR: 089 / 1234-5");
  EXPECT_EQ(r.fields[1].kind, FieldKind::kPriority);
  EXPECT_EQ(r.fields[1].value, "12");
  EXPECT_EQ(r.fields[2].kind, FieldKind::kTag);
  EXPECT_EQ(r.fields[2].value, "AB-77");
  EXPECT_EQ(r.fields[3].kind, FieldKind::kNotify);
  EXPECT_EQ(r.fields[3].value, "a@b.de");
  EXPECT_TRUE(r.warnings.empty());
  // A pattern matching a built-in field's text adds nothing twice.
  auto same = compileFieldPatterns({R"(@@\+FAX:(?<number>\d+)@@)"});
  ASSERT_TRUE(same);
  EXPECT_EQ(find(U"@@+FAX:0891@@", *same).fields.size(), 1u);
}

TEST(PrintFieldPatterns, NonAsciiTextKeepsBoxesAligned) {
  auto p = compileFieldPatterns({R"(Empfänger-Fax: (?<number>\d+))"});
  ASSERT_TRUE(p) << p.error().message;
  const PageFields r = find(U"Grüße — Empfänger-Fax: 0891 Ende", *p);
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0].value, "0891");
  ASSERT_EQ(r.fields[0].boxes.size(), 1u);
  EXPECT_FLOAT_EQ(r.fields[0].boxes[0].x0, 72 + 8 * 6);  // "Grüße — " is 8 characters
  EXPECT_FLOAT_EQ(r.fields[0].boxes[0].x1, 72 + 27 * 6);
}

void expectBad(const std::vector<std::string>& patterns, const char* says) {
  auto p = compileFieldPatterns(patterns);
  ASSERT_FALSE(p) << patterns.back();
  EXPECT_EQ(p.error().code, "bad_pattern");
  EXPECT_NE(p.error().message.find(says), std::string::npos) << p.error().message;
}

TEST(PrintFieldPatterns, BadPatternsAreRefusedWithAClearError) {
  expectBad({"(?<number>[0-9+)"}, "not a valid regular expression");
  expectBad({"FAX: ([0-9]+)"}, "no named group");
  expectBad({"(?<number>\\d+) (?<name>\\w+)"}, "group named \"name\"");
  expectBad({"(?<number>\\d*)"}, "matches empty text");
  expectBad({""}, "is empty");
  expectBad({std::string(3000, 'a') + "(?<number>1)"}, "longer than");
  expectBad({"(?<number>1)", "(?<tag>x"}, "Field pattern 2");
  expectBad({"\\C(?<number>1)"}, "not a valid");
  expectBad(std::vector<std::string>(40, "(?<number>1)"), "At most");
}

TEST(PrintFieldPatterns, CatastrophicPatternsAreRefusedUpFront) {
  expectBad({"(?<number>(a+)+$)"}, "backtracks too much");
  expectBad({"(?<number>(\\d|\\d)+x)"}, "backtracks too much");
  expectBad({"(?<tag>(\\w+\\s?)+$)"}, "backtracks too much");
}

TEST(PrintFieldPatterns, AHostileTextHitsTheMatchLimitNotTheCpu) {
  // Passes the probes (they hold no runs of 'x') but explodes on a text made for it.
  auto p = compileFieldPatterns({"(?<number>(x+x+)+y)"});
  ASSERT_TRUE(p) << p.error().message;
  const PageFields r = find(std::u32string(5000, U'x') + U" y @@+FAX:0891@@", *p);
  ASSERT_EQ(r.fields.size(), 1u);  // the built-in dialects still work
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("gave up"), std::string::npos) << r.warnings[0];
}

// --- mail merge --------------------------------------------------------------------------------

PrintField at(int page, FieldKind kind, std::string value, std::string problem = {}) {
  PrintField f;
  f.page = page;
  f.kind = kind;
  f.value = std::move(value);
  f.problem = std::move(problem);
  return f;
}

TEST(PrintMerge, NoNumberNoFax) {
  EXPECT_TRUE(planPrintFaxes({}, 3).empty());
  EXPECT_TRUE(planPrintFaxes({at(1, FieldKind::kTag, "t")}, 3).empty());
  EXPECT_TRUE(planPrintFaxes({at(1, FieldKind::kNumber, "", "not a fax number")}, 3).empty());
}

TEST(PrintMerge, ANumberOnOnePageSendsTheWholeJob) {
  const auto plan =
      planPrintFaxes({at(1, FieldKind::kNumber, "0891"), at(2, FieldKind::kTag, "R-1"),
                      at(3, FieldKind::kPriority, "9"), at(3, FieldKind::kNotify, "a@b.de")},
                     4);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].number, "0891");
  EXPECT_EQ(plan[0].firstPage, 1);
  EXPECT_EQ(plan[0].lastPage, 4);
  EXPECT_EQ(plan[0].tag, "R-1");
  EXPECT_EQ(plan[0].priority, 9);
  EXPECT_EQ(plan[0].notify, "a@b.de");
  // Also when the only number stands on a later page (a signature block).
  const auto late = planPrintFaxes({at(3, FieldKind::kNumber, "0891")}, 3);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].firstPage, 1);
  EXPECT_EQ(late[0].lastPage, 3);
}

TEST(PrintMerge, SeveralNumbersOnOnePageSendTheSamePagesToEach) {
  const auto plan =
      planPrintFaxes({at(1, FieldKind::kNumber, "0891"), at(1, FieldKind::kNumber, "0892"),
                      at(1, FieldKind::kNumber, "0891"),  // named twice
                      at(1, FieldKind::kTag, "T")},
                     2);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].number, "0891");
  EXPECT_EQ(plan[1].number, "0892");
  for (const auto& f : plan) {
    EXPECT_EQ(f.firstPage, 1);
    EXPECT_EQ(f.lastPage, 2);
    EXPECT_EQ(f.tag, "T");
    EXPECT_EQ(f.letter, 1);
  }
}

TEST(PrintMerge, ALetterPerFieldPage) {
  // Fields on pages 1, 3, 5 of 6: letters 1-2, 3-4, 5-6, each with its own options.
  const auto plan =
      planPrintFaxes({at(1, FieldKind::kNumber, "0891"), at(1, FieldKind::kTag, "A"),
                      at(3, FieldKind::kNumber, "0892"), at(4, FieldKind::kPriority, "200"),
                      at(5, FieldKind::kNumber, "0893"), at(5, FieldKind::kNumber, "0894"),
                      at(6, FieldKind::kNotify, "c@d.de")},
                     6);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].number, "0891");
  EXPECT_EQ(plan[0].firstPage, 1);
  EXPECT_EQ(plan[0].lastPage, 2);
  EXPECT_EQ(plan[0].tag, "A");
  EXPECT_EQ(plan[0].priority, -1);
  EXPECT_EQ(plan[1].number, "0892");
  EXPECT_EQ(plan[1].firstPage, 3);
  EXPECT_EQ(plan[1].lastPage, 4);
  EXPECT_EQ(plan[1].tag, "");
  EXPECT_EQ(plan[1].priority, 200);
  EXPECT_EQ(plan[1].letter, 2);
  for (int i : {2, 3}) {
    EXPECT_EQ(plan[i].firstPage, 5);
    EXPECT_EQ(plan[i].lastPage, 6);
    EXPECT_EQ(plan[i].notify, "c@d.de");
    EXPECT_EQ(plan[i].letter, 3);
  }
  EXPECT_EQ(plan[3].number, "0894");
}

TEST(PrintMerge, PagesBeforeTheFirstFieldBelongToTheFirstLetter) {
  const auto plan =
      planPrintFaxes({at(2, FieldKind::kNumber, "0891"), at(4, FieldKind::kNumber, "0892")}, 5);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].firstPage, 1);
  EXPECT_EQ(plan[0].lastPage, 3);
  EXPECT_EQ(plan[1].firstPage, 4);
  EXPECT_EQ(plan[1].lastPage, 5);
}

TEST(PrintMerge, TheSameNumberInEveryPageHeaderIsOneLetter) {
  const auto plan =
      planPrintFaxes({at(1, FieldKind::kNumber, "0891"), at(2, FieldKind::kNumber, "0891"),
                      at(3, FieldKind::kNumber, "0892"), at(4, FieldKind::kNumber, "0892")},
                     4);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].lastPage, 2);
  EXPECT_EQ(plan[1].firstPage, 3);
  EXPECT_EQ(plan[1].lastPage, 4);
}

TEST(PrintMerge, UnusableFieldsAreIgnored) {
  const auto plan = planPrintFaxes(
      {at(1, FieldKind::kNumber, "0891"), at(1, FieldKind::kPriority, "", "above 255"),
       at(2, FieldKind::kNumber, "", "not a fax number"), at(2, FieldKind::kPriority, "5")},
      2);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].lastPage, 2);
  EXPECT_EQ(plan[0].priority, 5);
  // Fields made elsewhere (the gateway) with a bad priority: ignored, no exception.
  const auto odd =
      planPrintFaxes({at(1, FieldKind::kNumber, "0891"), at(1, FieldKind::kPriority, "high"),
                      at(1, FieldKind::kPriority, "999")},
                     1);
  ASSERT_EQ(odd.size(), 1u);
  EXPECT_EQ(odd[0].priority, -1);
}

}  // namespace
}  // namespace vfax::documents
