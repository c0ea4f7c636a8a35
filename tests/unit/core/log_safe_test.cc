#include "core/log_safe.h"

#include <gtest/gtest.h>

#include <string>

namespace vfax::core {
namespace {

TEST(LogSafe, PlainTextAndUtf8StayAsTheyAre) {
  EXPECT_EQ(logSafe("Alice <alice@example.com>"), "Alice <alice@example.com>");
  EXPECT_EQ(logSafe("Grüße, 東京 🙂"), "Grüße, 東京 🙂");
  EXPECT_EQ(logSafe(""), "");
}

TEST(LogSafe, LineBreaksCannotForgeALine) {
  const std::string s = logSafe("x\r\n2026-01-01 00:00:00 [info] FAKE LOG LINE");
  EXPECT_EQ(s, "x\\x0d\\x0a2026-01-01 00:00:00 [info] FAKE LOG LINE");
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
}

TEST(LogSafe, ControlCharactersAndAnsiEscapesAreHex) {
  EXPECT_EQ(logSafe("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(logSafe(std::string("a\0b\tc\x7f", 6)), "a\\x00b\\x09c\\x7f");
  // C1 controls in UTF-8 (U+009B is CSI), line separators and bidi overrides.
  EXPECT_EQ(logSafe("\xc2\x9b"
                    "2J"),
            "\\xc2\\x9b2J");
  EXPECT_EQ(logSafe("a\xe2\x80\xa8z"), "a\\xe2\\x80\\xa8z");
  EXPECT_EQ(logSafe("a\xe2\x80\xaegpj.exe"), "a\\xe2\\x80\\xaegpj.exe");
}

TEST(LogSafe, BackslashIsEscapedSoEscapesAreUnambiguous) {
  // An attacker's literal "\x0a" must not look like an escaped newline.
  EXPECT_EQ(logSafe("\\x0a"), "\\x5cx0a");
}

TEST(LogSafe, InvalidUtf8BytesAreHex) {
  EXPECT_EQ(logSafe("a\xff"
                    "b"),
            "a\\xffb");
  EXPECT_EQ(logSafe("\xc3"), "\\xc3");                             // cut sequence
  EXPECT_EQ(logSafe("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(logSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(logSafe("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(logSafe("\xe2\x82"), "\\xe2\\x82");
}

TEST(LogSafe, LongInputIsBoundedAtACharacterBoundary) {
  const std::string s = logSafe(std::string(10000, 'A'));
  EXPECT_EQ(s, std::string(kLogSafeMaxBytes, 'A') + "...(+9800 bytes)");
  EXPECT_EQ(logSafe("abcdef", 4), "abcd...(+2 bytes)");
  // "é" is two bytes: it is not split, and the cut counts what was left out.
  EXPECT_EQ(logSafe("abcé", 4), "abc...(+2 bytes)");
  EXPECT_EQ(logSafe("abcd", 4), "abcd");
  // The escaped form of a bounded input is bounded too (at most 4 output bytes per input byte).
  EXPECT_LE(logSafe(std::string(10000, '\n')).size(), 4 * kLogSafeMaxBytes + 32);
}

}  // namespace
}  // namespace vfax::core
