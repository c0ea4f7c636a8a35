// Authentication-Results parsing (RFC 8601), alignment, the trust rule, PINs in the subject and
// the sender decision per sender_auth mode.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/pin.h"
#include "mail/auth_results.h"
#include "mail/mime_intake.h"
#include "mail/sender_auth.h"

namespace vfax::mail {
namespace {

class FakeClock final : public core::Clock {
 public:
  core::Millis now() const override { return now_; }
  core::Millis now_ = 1'700'000'000'000;
};

TEST(AuthResultsParser, RealWorldHeaders) {
  // Gmail: header.i=@domain, header.b with '/' and '+', comments with ':' and ';'-free text.
  auto g = parseAuthenticationResults(
      " mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 "
      "header.b=Ab/+9wXy;\r\n       spf=pass (google.com: domain of a@example.com designates "
      "192.0.2.1 as permitted sender) smtp.mailfrom=a@example.com;\r\n       dmarc=pass (p=NONE "
      "sp=NONE dis=NONE) header.from=example.com\r\n");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->authservId, "mx.google.com");
  ASSERT_EQ(g->results.size(), 3u);
  EXPECT_EQ(g->results[0].method, "dkim");
  EXPECT_EQ(g->results[0].property("header", "i"), "@example.com");
  EXPECT_EQ(g->results[0].property("header", "b"), "Ab/+9wXy");
  EXPECT_EQ(g->results[1].property("smtp", "mailfrom"), "a@example.com");
  EXPECT_EQ(g->results[2].method, "dmarc");
  EXPECT_EQ(g->results[2].result, "pass");
  EXPECT_EQ(g->results[2].property("HEADER", "From"), "example.com");

  // OpenDKIM: a trailing ';'. Version 1, method version, reason, quoted values, nested comments.
  auto o = parseAuthenticationResults(
      "mx.example.org 1; dkim/1=pass reason=\"good sig\" (2048-bit key (rsa)) header.d=example.com "
      "header.s=\"sel\\\"1\";");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->results[0].reason, "good sig");
  EXPECT_EQ(o->results[0].property("header", "s"), "sel\"1");
  EXPECT_EQ(o->results[0].property("header", "d"), "example.com");

  // "none": nothing was checked.
  auto none = parseAuthenticationResults("example.net 1; none");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->results.empty());

  // A quoted authserv-id, a quoted local part.
  auto q = parseAuthenticationResults("\"mx.example.com\"; spf=fail smtp.mailfrom=\"a b\"@x.test");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->results[0].property("smtp", "mailfrom"), "a b@x.test");
}

TEST(AuthResultsParser, RefusesWhatIsNotOne) {
  for (const char* bad : {
           "",                                                           // nothing
           "mx.example.com",                                             // no result, no none
           "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=x.test",     // no authserv-id
           "mx.example.com; dkim",                                       // no result
           "mx.example.com; dkim=",                                      // empty result
           "mx.example.com; dkim=pass header.d",                         // property without value
           "mx.example.com; dkim=pass header=x",                         // ptype without property
           "mx.example.com; dkim=pass (unclosed comment",                // comment
           "mx.example.com; dkim=pass header.d=\"x",                     // quoted string
           "mx.example.com 2; dkim=pass",                                // unknown version
           "mx.example.com; dmarc=pass action=none header.from=x.test",  // not RFC 8601
           "mx.example.com; dkim=pass\r\nX-Injected: 1",  // a line break that is no folding
       }) {
    EXPECT_FALSE(parseAuthenticationResults(bad)) << bad;
  }
  EXPECT_FALSE(parseAuthenticationResults(std::string("mx.example.com; dkim=pass\0", 26)));
  EXPECT_FALSE(parseAuthenticationResults(std::string(20000, 'a') + "; none"));
  std::string deep = "mx.example.com; dkim=pass ";
  for (int i = 0; i < 40; ++i) deep += "(";
  for (int i = 0; i < 40; ++i) deep += ")";
  EXPECT_FALSE(parseAuthenticationResults(deep));
  auto e = parseAuthenticationResults("mx.example.com; dkim=pass header=x");
  EXPECT_EQ(e.error().code, "invalid_auth_results");
  EXPECT_NE(e.error().message.find("'.'"), std::string::npos) << e.error().message;
  EXPECT_EQ(authservIdOf(" (c) Mx.Example.COM; garbage ="), "mx.example.com");
}

TEST(AuthResultsAlignment, RelaxedWithoutPublicSuffixList) {
  EXPECT_TRUE(domainsAligned("example.com", "EXAMPLE.com."));
  EXPECT_TRUE(domainsAligned("example.com", "mail.example.com"));
  EXPECT_TRUE(domainsAligned("news.example.com", "example.com"));
  EXPECT_FALSE(domainsAligned("example.com", "example.org"));
  EXPECT_FALSE(domainsAligned("example.com", "badexample.com"));
  EXPECT_FALSE(domainsAligned("com", "example.com"));  // a one-label domain aligns with nothing
  EXPECT_FALSE(domainsAligned("", "example.com"));
  EXPECT_FALSE(domainsAligned("exa mple.com", "exa mple.com"));
  EXPECT_FALSE(domainsAligned("example..com", "example..com"));
  EXPECT_EQ(domainOf("A@Example.COM"), "example.com");
  EXPECT_EQ(domainOf("@example.com"), "example.com");
  EXPECT_EQ(domainOf("example.com."), "example.com");
}

TEST(AuthResultsTrust, OnlyTheTopmostTrustedHeaderCounts) {
  const std::vector<std::string> trusted{"mx.example.com"};
  const std::string dmarcPass = " mx.example.com; dmarc=pass header.from=example.com";
  EXPECT_TRUE(checkAuthenticationResults({dmarcPass}, "example.com", trusted).authenticated);
  // An untrusted server's pass counts for nothing.
  EXPECT_FALSE(checkAuthenticationResults({" evil.test; dmarc=pass header.from=example.com"},
                                          "example.com", trusted)
                   .authenticated);
  // The real (topmost) header says fail; a forged pass further down with the same id is not read.
  auto v = checkAuthenticationResults(
      {" mx.example.com; spf=fail smtp.mailfrom=evil.test; dkim=none", dmarcPass}, "example.com",
      trusted);
  EXPECT_FALSE(v.authenticated);
  EXPECT_NE(v.detail.find("spf=fail"), std::string::npos) << v.detail;
  // An unreadable topmost trusted header is not replaced by a lower one either.
  EXPECT_FALSE(
      checkAuthenticationResults({" mx.example.com; dkim", dmarcPass}, "example.com", trusted)
          .authenticated);
  // Untrusted headers above the trusted one (an internal relay) are skipped.
  EXPECT_TRUE(
      checkAuthenticationResults({" relay.internal; none", dmarcPass}, "example.com", trusted)
          .authenticated);
  // DMARC for another domain does not vouch for this From.
  EXPECT_FALSE(checkAuthenticationResults({" mx.example.com; dmarc=pass header.from=evil.test"},
                                          "example.com", trusted)
                   .authenticated);
  // Aligned DKIM and SPF; unaligned ones are not enough.
  EXPECT_TRUE(checkAuthenticationResults({" mx.example.com; dkim=pass header.d=example.com"},
                                         "sales.example.com", trusted)
                  .authenticated);
  EXPECT_TRUE(checkAuthenticationResults({" mx.example.com; dkim=pass header.i=@example.com"},
                                         "example.com", trusted)
                  .authenticated);
  EXPECT_FALSE(checkAuthenticationResults({" mx.example.com; dkim=pass header.d=mailer.test"},
                                          "example.com", trusted)
                   .authenticated);
  EXPECT_TRUE(checkAuthenticationResults(
                  {" mx.example.com; spf=pass smtp.mailfrom=bounce@mail.example.com"},
                  "example.com", trusted)
                  .authenticated);
  EXPECT_FALSE(checkAuthenticationResults({" mx.example.com; spf=pass smtp.mailfrom=evil.test"},
                                          "example.com", trusted)
                   .authenticated);
  // An explicit DMARC fail for the From domain wins over an aligned pass.
  EXPECT_FALSE(
      checkAuthenticationResults({" mx.example.com; dkim=pass header.d=example.com; dmarc=fail "
                                  "header.from=example.com"},
                                 "example.com", trusted)
          .authenticated);
  // Nothing trusted configured, no header, no usable From domain.
  EXPECT_FALSE(checkAuthenticationResults({dmarcPass}, "example.com", {}).authenticated);
  EXPECT_FALSE(checkAuthenticationResults({}, "example.com", trusted).authenticated);
  EXPECT_FALSE(checkAuthenticationResults({dmarcPass}, "", trusted).authenticated);
}

TEST(SubjectPin, TakenOutInEveryForm) {
  auto p = extractPin("PIN 1234, 0 89 123456");
  EXPECT_EQ(p.pins, std::vector<std::string>{"1234"});
  EXPECT_EQ(p.subject, ", 0 89 123456");
  p = extractPin("100; pin:987654");
  EXPECT_EQ(p.pins, std::vector<std::string>{"987654"});
  EXPECT_EQ(p.subject, "100; ");
  p = extractPin("Pin = 4321 100");
  EXPECT_EQ(p.pins, std::vector<std::string>{"4321"});
  EXPECT_EQ(p.subject, " 100");
  p = extractPin("PIN:12a4, 100");  // an attempt, malformed: out of the subject, counts as wrong
  EXPECT_TRUE(p.malformed);
  EXPECT_EQ(p.subject, ", 100");
  EXPECT_EQ(p.subject.find("12a4"), std::string::npos);
  p = extractPin("Pinboard order, PIN please, 100");  // not PIN tokens
  EXPECT_TRUE(p.pins.empty());
  EXPECT_EQ(p.subject, "Pinboard order, PIN please, 100");
  p = extractPin("PIN 1111, PIN 2222");
  EXPECT_EQ(p.pins.size(), 2u);
  EXPECT_EQ(p.subject, ", ");
}

// Found by subject_fuzz: a "PIN" word just before a token stayed in the subject, and what
// followed the token made it a PIN token of its own ("PIN  9P"), one the subject did not have.
TEST(SubjectPin, APinWordBeforeATokenGoesWithIt) {
  auto p = extractPin("100 PIN PIN:1234 9P");
  EXPECT_EQ(p.pins, std::vector<std::string>{"1234"});
  EXPECT_EQ(p.subject, "100  9P");
  p = extractPin("pin\tPin PIN = 4321, 100");
  EXPECT_EQ(p.pins, std::vector<std::string>{"4321"});
  EXPECT_EQ(p.subject, ", 100");
  for (const char* subject : {"100 PIN PIN:1234 9P", "PIN PIN PIN:1 2", "PIN, PIN 5 6"}) {
    const auto once = extractPin(subject);
    const auto twice = extractPin(once.subject);
    EXPECT_TRUE(twice.pins.empty()) << subject;
    EXPECT_EQ(twice.subject, once.subject) << subject;
  }
  p = extractPin("PIN please, PIN 2222");  // a PIN word with more than blanks after it stays
  EXPECT_EQ(p.subject, "PIN please, ");
}

TEST(PinGuard, LocksAfterTooManyWrongPinsForAnHour) {
  FakeClock clock;
  PinGuard guard(clock);
  for (int i = 0; i < PinGuard::kMaxWrongPins - 1; ++i) guard.wrong(7);
  EXPECT_FALSE(guard.locked(7));
  guard.wrong(7);
  EXPECT_TRUE(guard.locked(7));
  EXPECT_FALSE(guard.locked(8));
  clock.now_ += 3600 * 1000;
  EXPECT_FALSE(guard.locked(7));
}

class SenderAuthTest : public ::testing::Test {
 protected:
  IncomingMail mail(const std::string& from, const std::string& subject,
                    std::vector<std::string> authres = {}) {
    IncomingMail m;
    m.from = from;
    m.fromCount = from.empty() ? 0 : 1;
    m.subject = subject;
    m.authenticationResults = std::move(authres);
    return m;
  }
  SenderAuthResult run(const IncomingMail& m, SenderAuth mode) {
    MailSettings s;
    s.senderAuth = mode;
    s.trustedAuthservIds = {"mx.example.com"};
    return authenticateSender(m, extractPin(m.subject), device, s, guard);
  }
  void SetUp() override {
    device = core::Device{};
    device->id = 3;
    device->email = "sales@example.com";
    device->pinHash = *core::hashPin("2468");
  }
  FakeClock clock;
  PinGuard guard{clock};
  std::optional<core::Device> device;
  const std::string pass = " mx.example.com; dmarc=pass header.from=example.com";
};

TEST_F(SenderAuthTest, EachMode) {
  const auto forged = mail("sales@example.com", "100");
  const auto confirmed = mail("sales@example.com", "100", {pass});
  const auto withPin = mail("sales@example.com", "PIN 2468, 100");
  const auto wrongPin = mail("sales@example.com", "PIN 1111, 100");
  for (auto mode : {SenderAuth::Either, SenderAuth::AuthenticationResults, SenderAuth::Pin}) {
    auto r = run(forged, mode);
    EXPECT_FALSE(r.authenticated);
    EXPECT_FALSE(r.fromVerified);  // a forged From never gets a reply
  }
  EXPECT_TRUE(run(confirmed, SenderAuth::Either).authenticated);
  EXPECT_TRUE(run(confirmed, SenderAuth::AuthenticationResults).authenticated);
  EXPECT_TRUE(run(withPin, SenderAuth::Either).authenticated);
  EXPECT_TRUE(run(withPin, SenderAuth::Pin).authenticated);
  EXPECT_FALSE(run(withPin, SenderAuth::AuthenticationResults).authenticated);
  EXPECT_FALSE(run(wrongPin, SenderAuth::Either).fromVerified);
  // Under `pin` a confirmed From without the PIN is refused, but may hear why.
  auto r = run(confirmed, SenderAuth::Pin);
  EXPECT_FALSE(r.authenticated);
  EXPECT_TRUE(r.fromVerified);
  EXPECT_EQ(r.replyReason, "pin_missing");
  // `none` takes the From as it is.
  EXPECT_TRUE(run(forged, SenderAuth::None).authenticated);
  // Several From addresses: never authenticated, whatever proof comes with it.
  auto many = mail("sales@example.com", "PIN 2468, 100", {pass});
  many.fromCount = 2;
  EXPECT_FALSE(run(many, SenderAuth::Either).authenticated);
  EXPECT_FALSE(run(many, SenderAuth::Either).fromVerified);
  // No device, no PIN.
  device.reset();
  EXPECT_FALSE(run(withPin, SenderAuth::Pin).authenticated);
}

TEST_F(SenderAuthTest, WrongPinsLockTheDevice) {
  const auto wrongPin = mail("sales@example.com", "PIN 1111, 100");
  const auto withPin = mail("sales@example.com", "PIN 2468, 100");
  for (int i = 0; i < PinGuard::kMaxWrongPins; ++i) run(wrongPin, SenderAuth::Pin);
  auto r = run(withPin, SenderAuth::Pin);
  EXPECT_FALSE(r.authenticated);  // even the right PIN, until the hour is over
  EXPECT_NE(r.how.find("too many wrong PINs"), std::string::npos) << r.how;
  clock.now_ += 3600 * 1000 + 1;
  EXPECT_TRUE(run(withPin, SenderAuth::Pin).authenticated);
}

TEST(Pin, HashedWithArgon2idAndValidated) {
  auto h = core::hashPin("0042");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u) << *h;
  EXPECT_EQ(h->find("0042"), std::string::npos);
  EXPECT_TRUE(core::verifyPin(*h, "0042"));
  EXPECT_FALSE(core::verifyPin(*h, "42"));
  EXPECT_FALSE(core::verifyPin(*h, "0043"));
  EXPECT_FALSE(core::verifyPin("", "0042"));
  for (const char* bad : {"", "123", "1234567890123", "12a4", " 1234", "１２３４"}) {
    EXPECT_EQ(core::hashPin(bad).error().code, "invalid_device") << bad;
  }
  EXPECT_TRUE(core::hashPin("123456789012"));
}

TEST(IntakeHeaders, AuthenticationResultsAndReplyRules) {
  const std::string raw =
      "Return-Path: <>\r\n"
      "Authentication-Results: mx.example.com;\r\n dmarc=pass header.from=example.com\r\n"
      "Received: from x by mx.example.com\r\n"
      "Authentication-Results: forged.test; dmarc=pass header.from=example.com\r\n"
      "From: A <a@example.com>, B <b@example.com>\r\n"
      "Precedence: bulk\r\n"
      "Auto-Submitted: no\r\n"
      "Subject: 100\r\n\r\nbody\r\n";
  auto m = parseMail(raw);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->authenticationResults.size(), 2u);
  EXPECT_EQ(authservIdOf(m->authenticationResults[0]), "mx.example.com");
  EXPECT_TRUE(parseAuthenticationResults(m->authenticationResults[0]));
  EXPECT_EQ(m->fromCount, 2);
  EXPECT_TRUE(m->bulk);
  EXPECT_TRUE(m->nullReturnPath);
  EXPECT_FALSE(m->autoSubmitted);
  auto twoFields = parseMail(
      "From: a@example.com\r\nFrom: b@example.com\r\nList-Id: <x.example.com>\r\n"
      "Auto-Submitted: auto-replied\r\nSubject: 1\r\n\r\nx\r\n");
  ASSERT_TRUE(twoFields);
  EXPECT_GE(twoFields->fromCount, 2);
  EXPECT_TRUE(twoFields->bulk);
  EXPECT_TRUE(twoFields->autoSubmitted);
}

TEST(LogSafe, EscapesOutsideText) {
  EXPECT_EQ(logSafe("a@b.test"), "a@b.test");
  EXPECT_EQ(logSafe("x\r\n\x1b[31m\\"), "x\\x0d\\x0a\\x1b[31m\\x5c");
  EXPECT_EQ(logSafe(std::string(300, 'a'), 10), "aaaaaaaaaa...(+290 bytes)");
}

}  // namespace
}  // namespace vfax::mail
