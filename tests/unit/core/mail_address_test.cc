#include "core/mail_address.h"

#include <gtest/gtest.h>

#include <string>

namespace vfax::core {
namespace {

bool ok(const std::string& a) { return static_cast<bool>(validateMailAddress(a, "email")); }

TEST(MailAddress, PlainAddressesPass) {
  EXPECT_TRUE(ok("alice@example.com"));
  EXPECT_TRUE(ok("vfax@localhost"));
  EXPECT_TRUE(ok("first.last+fax@sub.example-1.test"));
  EXPECT_TRUE(ok("o'brien!#$%&*/=?^_`{|}~-@xn--bcher-kva.example"));
  EXPECT_TRUE(ok(std::string(64, 'a') + "@" + std::string(63, 'b') + ".test"));
}

TEST(MailAddress, LineBreaksAndControlsCannotSmuggleACommand) {
  for (const char* a : {"a@x.test\r\nRCPT TO:<b@y.test>", "a@x.test\n", "a@x.test\r", "a\t@x.test",
                        "a@x.test\x7f", "a\x1b[31m@x.test"}) {
    const auto r = validateMailAddress(a, "email");
    ASSERT_FALSE(r) << a;
    EXPECT_EQ(r.error().code, "invalid_request");
    // The field is named, and the refused value is shown escaped, on one line.
    EXPECT_EQ(r.error().message.rfind("email: ", 0), 0u) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    EXPECT_EQ(r.error().message.find('\r'), std::string::npos);
  }
}

TEST(MailAddress, NoSecondRecipient) {
  for (const char* a : {"a@x.test,b@y.test", "a@x.test, b@y.test", "a@x.test;b@y.test",
                        "a@x.test b@y.test", "a@b@y.test", "group: a@x.test;"}) {
    EXPECT_FALSE(ok(a)) << a;
  }
  EXPECT_NE(validateMailAddress("a@x.test,b@y.test", "notify").error().message.find("notify: "),
            std::string::npos);
}

TEST(MailAddress, NoDisplayNamesQuotesOrComments) {
  for (const char* a :
       {"Boss <boss@x.test>", "<boss@x.test>", "\"a@x.test\" <b@y.test>", "\"a b\"@x.test",
        "a@x.test (comment)", "a(c)@x.test", "a@[127.0.0.1]", "\"a@x.test\""}) {
    EXPECT_FALSE(ok(a)) << a;
  }
}

TEST(MailAddress, MalformedPartsAndLengths) {
  for (const char* a : {"", "@", "a@", "@x.test", "ax.test", ".a@x.test", "a.@x.test",
                        "a..b@x.test", "a@.x.test", "a@x..test", "a@x.test.", "a@-x.test",
                        "a@x-.test", "a@x_y.test", "Grüße@x.test", "a@bücher.test"}) {
    EXPECT_FALSE(ok(a)) << a;
  }
  EXPECT_FALSE(ok(std::string(65, 'a') + "@x.test"));
  EXPECT_FALSE(ok("a@" + std::string(64, 'b') + ".test"));
  std::string longDomain;
  while (longDomain.size() < 260) longDomain += std::string(60, 'd') + ".";
  EXPECT_FALSE(ok("a@" + longDomain + "test"));
  // A long refused value is shown bounded.
  EXPECT_LT(validateMailAddress(std::string(5000, 'a'), "email").error().message.size(), 300u);
}

}  // namespace
}  // namespace vfax::core
