#include "mail/address.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "mail/composer.h"
#include "mail/mime_build.h"
#include "mail/outbox.h"
#include "mail/smtp_client.h"
#include "store/sqlite_store.h"

namespace vfax::mail {
namespace {

namespace fs = std::filesystem;

TEST(Address, OneBareMailboxOnly) {
  EXPECT_TRUE(checkAddress("alice@example.test", "to"));
  EXPECT_TRUE(checkAddress("vfax@localhost", "to"));
  EXPECT_TRUE(checkAddress("first.last+fax@sub.example-1.test", "to"));
  EXPECT_TRUE(checkAddress("o'brien!#$%&*/=?^_`{|}~-@xn--bcher-kva.example", "to"));
  for (const char* a :
       {"a@x.test\r\nRCPT TO:<b@y.test>", "a@x.test, b@y.test", "a@x.test;b@y.test",
        "Boss <boss@x.test>", "\"x\" <a@x.test>", "undisclosed:;", "a@x.test (c)", "", "nobody"}) {
    const auto r = checkAddress(a, "to");
    ASSERT_FALSE(r) << a;
    EXPECT_EQ(r.error().code, "invalid_request");
    EXPECT_EQ(r.error().message.rfind("to: ", 0), 0u) << r.error().message;
  }
}

TEST(Address, MessageIsNotBuiltForABadRecipient) {
  OutgoingMail m;
  m.from = "vfax@localhost";
  m.to = "a@x.test\r\nBcc: b@y.test";
  m.subject = "s";
  m.text = "t";
  EXPECT_FALSE(buildMessage(m));
  m.to = "a@x.test";
  EXPECT_TRUE(buildMessage(m));
}

TEST(Address, SmtpEnvelopeRefusesABadAddressBeforeConnecting) {
  SmtpSettings smtp;
  smtp.host = "127.0.0.1";
  smtp.port = 1;
  smtp.tls = TlsMode::None;
  smtp.from = "vfax@localhost";
  auto r = sendMail(smtp, smtp.from, {"a@x.test>\r\nRCPT TO:<b@y.test"}, "x\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "smtp_rejected");
  r = sendMail(smtp, "v@x.test\r\nDATA", {"a@x.test"}, "x\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "smtp_rejected");
}

class FakeClock final : public core::Clock {
 public:
  core::Millis now() const override { return now_; }
  core::Millis now_ = 1'700'000'000'000;
};

// A bad recipient ends its own mail only: it is kept as failed with the reason, and the good
// mails queued around it are still delivered (here: tried, as no SMTP server listens).
TEST(Address, OutboxKeepsBadRecipientsAsFailedAndLosesNothingElse) {
  char tmpl[] = "/tmp/vfax-addr-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    FakeClock clock;
    MailSettings s;
    s.smtp.host = "127.0.0.1";
    s.smtp.port = 1;  // nothing listens on port 1 of loopback
    s.smtp.tls = TlsMode::None;
    auto store = store::SqliteStore::open(dir + "/vfax.db");
    ASSERT_TRUE(store);
    // Mails queued without a recipient get theirs from the composer (a device's address).
    Outbox outbox(
        **store, clock, [&] { return s; },
        [](core::OutboxMail& m) -> core::Result<void> {
          m.recipient = "dev@x.test, other@y.test";
          m.message = "Subject: x\r\n\r\nbody\r\n";
          return {};
        });
    core::OutboxMail good;
    good.kind = "test";
    good.recipient = "a@example.test";
    good.message = "Subject: x\r\n\r\nbody\r\n";
    core::OutboxMail bad = good;
    bad.recipient = "a@example.test\r\nRCPT TO:<evil@y.test>";
    core::OutboxMail composed;
    composed.kind = "fax_received";
    ASSERT_TRUE(outbox.enqueue(good));
    const auto refused = outbox.enqueue(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "invalid_request");
    ASSERT_TRUE(outbox.enqueue(composed));
    ASSERT_TRUE(outbox.enqueue(good));
    EXPECT_EQ(outbox.runOnce(), 0);

    auto list = (*store)->listOutbox(0);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 4u);
    int pending = 0;
    int failed = 0;
    for (const auto& m : *list) {
      if (m.recipient == "a@example.test") {
        EXPECT_EQ(m.state, core::OutboxState::Pending);
        EXPECT_EQ(m.attempts, 1);  // tried, will be tried again
        ++pending;
      } else {
        EXPECT_EQ(m.state, core::OutboxState::Failed) << m.recipient;
        EXPECT_NE(m.lastError.find("not a single e-mail address"), std::string::npos)
            << m.lastError;
        ++failed;
      }
    }
    EXPECT_EQ(pending, 2);
    EXPECT_EQ(failed, 2);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace vfax::mail
