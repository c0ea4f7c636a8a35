#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <tuple>

#include "core/clock.h"
#include "mail/composer.h"
#include "mail/mail_settings.h"
#include "mail/mail_to_fax.h"
#include "mail/mime_intake.h"
#include "mail/outbox.h"
#include "mail/templates.h"
#include "store/sqlite_store.h"

namespace vfax::mail {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vfax-mail-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// A small test mail for the outbox.
core::OutboxMail testMail() {
  core::OutboxMail m;
  m.kind = "test";
  m.recipient = "a@example.test";
  m.message = "Subject: x\r\n\r\nbody\r\n";
  return m;
}

class FakeClock final : public core::Clock {
 public:
  core::Millis now() const override { return now_; }
  core::Millis now_ = 1'700'000'000'000;
};

TEST(MailSettings, AssignValidateAndMask) {
  MailSettings s;
  EXPECT_TRUE(assignMailSetting(s, "smtp_tls", "tls"));
  EXPECT_EQ(effectivePort(s.smtp), 465);
  EXPECT_TRUE(assignMailSetting(s, "mailbox_protocol", "pop3"));
  EXPECT_TRUE(assignMailSetting(s, "mailbox_tls", "none"));
  EXPECT_EQ(effectivePort(s.mailbox), 110);
  EXPECT_EQ(assignMailSetting(s, "mailbox_tls", "ssl").error().code, "invalid_setting");
  EXPECT_EQ(assignMailSetting(s, "nope", "1").error().code, "invalid_setting");
  EXPECT_FALSE(assignMailSetting(s, "mailbox_poll_seconds", "0"));
  EXPECT_TRUE(assignMailSetting(s, "allowed_senders", "Example.COM; boss@partner.test"));
  EXPECT_EQ(s.allowedSenders, (std::vector<std::string>{"example.com", "boss@partner.test"}));
  EXPECT_TRUE(assignMailSetting(s, "smtp_password", "topsecret"));
  EXPECT_EQ(toMap(s, false)["smtp_password"].find("topsecret"), std::string::npos);
  EXPECT_EQ(toMap(s, true)["smtp_password"], "topsecret");
  MailSettings defaults;
  EXPECT_EQ(defaults.mailbox.protocol, MailboxProtocol::Imap);
  EXPECT_TRUE(defaults.mailbox.deleteAfterFetch);
  EXPECT_FALSE(defaults.mailbox.ignoreInvalidCertificates);
  for (const auto& key : mailSettingKeys()) EXPECT_TRUE(toMap(defaults, true).contains(key)) << key;
}

TEST(MailToFaxRules, NumbersAndAllowList) {
  EXPECT_EQ(MailToFax::numbersFromSubject(" 0 89 123456 ; 100,, +49 30 999 "),
            (std::vector<std::string>{"0 89 123456", "100", "+49 30 999"}));
  EXPECT_TRUE(MailToFax::numbersFromSubject("  ").empty());
  EXPECT_TRUE(MailToFax::allowed("Boss@Partner.test", {"partner.test"}));
  EXPECT_TRUE(MailToFax::allowed("boss@partner.test", {"@partner.test"}));
  EXPECT_TRUE(MailToFax::allowed("boss@partner.test", {"boss@partner.test"}));
  EXPECT_FALSE(MailToFax::allowed("boss@evil-partner.test", {"partner.test"}));
  EXPECT_TRUE(MailToFax::allowed("anyone@x.test", {"*"}));
  EXPECT_NE(MailToFax::mailKey("<a@b>", "x"), MailToFax::mailKey("<a@b>", "y"));
  EXPECT_EQ(MailToFax::mailKey("<a@b>", "x"), MailToFax::mailKey("<a@b>", "x"));
}

TEST(Templates, BuiltInAndOverride) {
  TempDir dir;
  Templates en("en", dir.path());
  // A rejection never quotes the mail it answers: the built-in text has no {{subject}}.
  auto t = en.render("rejected", {{"subject", "100"}, {"reason", "no"}});
  EXPECT_EQ(t.subject, "Fax not sent");
  EXPECT_NE(t.body.find("Reason: no"), std::string::npos);
  EXPECT_EQ(t.body.find("100"), std::string::npos);
  Templates de("de", dir.path());
  EXPECT_EQ(de.render("rejected", {{"subject", "x"}}).subject, "Fax nicht gesendet");
  fs::create_directories(dir.path() + "/de");
  std::ofstream(dir.path() + "/de/rejected.txt")
      << "Subject: Eigener {{subject}}\n\nText {{reason}} {{unknown}}\n";
  auto own = de.render("rejected", {{"subject", "S\nX"}, {"reason", "R"}});
  EXPECT_EQ(own.subject, "Eigener S X");
  EXPECT_EQ(own.body, "Text R \n");
}

core::Fax sampleFax() {
  core::Fax f;
  f.id = 7;
  f.number = "+4989123456";
  f.pages = 2;
  f.pagesTotal = 2;
  f.notify = "n@example.test";
  core::Attempt a1;
  a1.startedAt = 1'700'000'000'000;
  a1.endedAt = a1.startedAt + 5000;
  a1.finished = true;
  a1.outcome = core::OutcomeClass::Busy;
  a1.reason = "line busy";
  a1.codec = "PCMU";
  core::Attempt a2;
  a2.startedAt = a1.endedAt + 60'000;
  a2.endedAt = a2.startedAt + 35'000;
  a2.finished = true;
  a2.outcome = core::OutcomeClass::Ok;
  a2.bitRate = 14400;
  a2.ecm = true;
  a2.pages = 2;
  a2.remoteId = "+49 89 999";
  a2.media = core::FaxMedia::T38;
  a2.codec = "PCMA";
  f.attempts = {a1, a2};
  return f;
}

TEST(Composer, FinalStatusMailCarriesTheReportAndParsesBack) {
  MailSettings s;
  s.language = "en";
  s.smtp.from = "vfax@example.test";
  Templates t("en", "");
  auto mail = composeStatus({s, t}, sampleFax(), core::FaxState::Done, {});
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->subject, "Fax to +4989123456: sent");
  for (const char* want :
       {"2 of 2", "14400 bit/s", "+49 89 999", "0:35", "line busy", "Attempts:         2",
        "Media:            T.38 (PCMA)", "audio (G.711), PCMU)"}) {
    EXPECT_NE(mail->text.find(want), std::string::npos) << want << "\n" << mail->text;
  }
  auto raw = buildMessage(*mail);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->find("\n"), raw->find("\r\n") + 1);  // CRLF for SMTP
  auto back = parseMail(*raw);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->subject, mail->subject);
  EXPECT_EQ(back->from, "vfax@example.test");
  EXPECT_NE(back->textBody.find("14400"), std::string::npos);
}

TEST(Composer, GermanReportNamesTheMedia) {
  MailSettings s;
  s.language = "de";
  s.smtp.from = "vfax@example.test";
  Templates t("de", "");
  auto mail = composeStatus({s, t}, sampleFax(), core::FaxState::Done, {});
  ASSERT_TRUE(mail);
  EXPECT_NE(mail->text.find("Übertragung:      T.38 (PCMA)"), std::string::npos) << mail->text;
}

TEST(Composer, StatusMailChoice) {
  using core::FaxState;
  EXPECT_TRUE(wantsStatusMail(StatusMails::Every, FaxState::Queued, FaxState::Queued));
  EXPECT_FALSE(wantsStatusMail(StatusMails::Every, FaxState::Converting, FaxState::Queued));
  EXPECT_TRUE(
      wantsStatusMail(StatusMails::Every, FaxState::Converting, FaxState::Converting));  // creation
  EXPECT_FALSE(wantsStatusMail(StatusMails::Final, FaxState::Queued, FaxState::Queued));
  EXPECT_TRUE(wantsStatusMail(StatusMails::Every, FaxState::Sending, FaxState::Dialing));
  EXPECT_TRUE(wantsStatusMail(StatusMails::Every, FaxState::Waiting, FaxState::Dialing));
  EXPECT_FALSE(wantsStatusMail(StatusMails::Every, FaxState::Waiting, FaxState::Converting));
  EXPECT_TRUE(wantsStatusMail(StatusMails::Final, FaxState::Failed, FaxState::Waiting));
  EXPECT_FALSE(wantsStatusMail(StatusMails::Final, FaxState::Sending, FaxState::Dialing));
  EXPECT_FALSE(wantsStatusMail(StatusMails::Off, FaxState::Done, FaxState::Sending));
}

TEST(Outbox, BackoffDoublesUpToTheCap) {
  EXPECT_EQ(backoff(1, 30, 3600), 30'000);
  EXPECT_EQ(backoff(2, 30, 3600), 60'000);
  EXPECT_EQ(backoff(4, 30, 3600), 240'000);
  EXPECT_EQ(backoff(40, 30, 3600), 3'600'000);
}

TEST(Outbox, UndeliverableMailStaysQueuedWithItsErrorAcrossReopen) {
  TempDir dir;
  const std::string db = dir.path() + "/vfax.db";
  FakeClock clock;
  MailSettings s;
  s.smtp.host = "127.0.0.1";
  s.smtp.port = 1;  // nothing listens on port 1 of loopback
  s.smtp.tls = TlsMode::None;
  s.retryInitialSeconds = 10;
  {
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store);
    Outbox outbox(
        **store, clock, [&] { return s; },
        [](core::OutboxMail&) -> core::Result<void> { return {}; });
    ASSERT_TRUE(outbox.enqueue(testMail()));
    EXPECT_EQ(outbox.runOnce(), 0);
  }
  auto store = store::SqliteStore::open(db);
  ASSERT_TRUE(store);
  auto list = (*store)->listOutbox(0);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  const auto& m = list->front();
  EXPECT_EQ(m.state, core::OutboxState::Pending);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_NE(m.lastError.find("SMTP server 127.0.0.1:1"), std::string::npos) << m.lastError;
  EXPECT_EQ(m.nextAttemptAt, clock.now_ + 10'000);
  // Not due before its time.
  EXPECT_TRUE((*store)->dueMails(clock.now_, 10)->empty());
  EXPECT_EQ((*store)->dueMails(clock.now_ + 10'000, 10)->size(), 1u);
}

// An injected fault: an SMTP server that accepts the mail and then never answers QUIT. The mail
// is recorded as sent while the connection still hangs in QUIT, so a crash there (the chaos test
// kills vfaxd at random) does not send it again after the restart.
TEST(Outbox, RecordedAsSentBeforeTheConnectionsQuit) {
  TempDir dir;
  const std::string db = dir.path() + "/vfax.db";
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(0, bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  ASSERT_EQ(0, listen(listener, 1));
  socklen_t len = sizeof addr;
  ASSERT_EQ(0, getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len));
  std::promise<void> quitSeen;
  std::promise<void> release;
  std::thread server([&] {
    const int c = accept(listener, nullptr, nullptr);
    auto say = [&](const std::string& line) { (void)!write(c, line.data(), line.size()); };
    say("220 test\r\n");
    std::string in;
    bool data = false;
    char buf[4096];
    for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) {
      in.append(buf, static_cast<size_t>(n));
      for (size_t eol; (eol = in.find(data ? "\r\n.\r\n" : "\r\n")) != std::string::npos;) {
        const std::string line = in.substr(0, eol);
        in.erase(0, eol + (data ? 5 : 2));
        if (data) {
          data = false;
          say("250 accepted\r\n");
        } else if (line.rfind("DATA", 0) == 0) {
          data = true;
          say("354 go on\r\n");
        } else if (line.rfind("QUIT", 0) == 0) {
          quitSeen.set_value();
          release.get_future().wait();  // the stall: no 221
          close(c);
          return;
        } else {
          say("250 ok\r\n");
        }
      }
    }
    close(c);
  });

  FakeClock clock;
  MailSettings s;
  s.smtp.host = "127.0.0.1";
  s.smtp.port = ntohs(addr.sin_port);
  s.smtp.tls = TlsMode::None;
  auto store = store::SqliteStore::open(db);
  ASSERT_TRUE(store);
  Outbox outbox(
      **store, clock, [&] { return s; },
      [](core::OutboxMail&) -> core::Result<void> { return {}; });
  ASSERT_TRUE(outbox.enqueue(testMail()));
  auto run = std::async(std::launch::async, [&] { return outbox.runOnce(); });
  quitSeen.get_future().wait();
  auto other = store::SqliteStore::open(db);  // what a restart would read
  ASSERT_TRUE(other);
  auto list = (*other)->listOutbox(0);
  release.set_value();
  EXPECT_EQ(run.get(), 1);
  server.join();
  close(listener);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().state, core::OutboxState::Sent);
}

TEST(MailStore, ProcessedMailsRoundTrip) {
  auto store = store::SqliteStore::open(":memory:");
  ASSERT_TRUE(store);
  core::ProcessedMail p{"k1", "<m@x>", "pending", {}, "", 5};
  ASSERT_TRUE((*store)->saveProcessedMail(p));
  p.state = "done";
  p.faxIds = {3, 4};
  ASSERT_TRUE((*store)->saveProcessedMail(p));
  auto back = (*store)->processedMail("k1");
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->state, "done");
  EXPECT_EQ((*back)->faxIds, (std::vector<std::int64_t>{3, 4}));
  EXPECT_FALSE(*(*store)->processedMail("k2"));
  ASSERT_TRUE((*store)->saveMailSettings({{"language", "en"}}));
  EXPECT_EQ((*store)->loadMailSettings()->at("language"), "en");
}

TEST(MailStore, RepliesCountedPerRecipientKindAndTime) {
  auto store = store::SqliteStore::open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  for (auto [kind, to, at] : {std::tuple{"reply", "a@x.test", 1000},
                              {"reply", "a@x.test", 5000},
                              {"status", "a@x.test", 5000},
                              {"reply", "b@x.test", 5000}}) {
    core::OutboxMail m;
    m.kind = kind;
    m.recipient = to;
    m.createdAt = at;
    ASSERT_TRUE(s.enqueueMail(m));
  }
  EXPECT_EQ(*s.countMailsTo("reply", "a@x.test", 0), 2);
  EXPECT_EQ(*s.countMailsTo("reply", "a@x.test", 2000), 1);
  EXPECT_EQ(*s.countMailsTo("reply", "c@x.test", 0), 0);
}

// vfaxd killed between a fax's final state and its mail: the restart finds exactly those.
TEST(MailStore, MailsMissedByACrashAreFound) {
  auto store = store::SqliteStore::open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  auto fax = [&](core::FaxState state, const std::string& notify, core::Millis at) {
    core::Fax f;
    f.state = state;
    f.notify = notify;
    f.createdAt = at;
    f.updatedAt = at;
    auto r = s.insertFax(f);
    EXPECT_TRUE(r);
    return r ? r->id : 0;
  };
  const auto mailed = fax(core::FaxState::Done, "a@x.test", 5000);
  const auto missed = fax(core::FaxState::Failed, "a@x.test", 5000);
  fax(core::FaxState::Done, "", 5000);              // nobody to tell
  fax(core::FaxState::Sending, "a@x.test", 5000);   // not final
  fax(core::FaxState::Canceled, "a@x.test", 1000);  // too old
  core::OutboxMail m;
  m.kind = "status";
  m.faxId = mailed;
  m.faxState = "done";
  m.recipient = "a@x.test";
  m.createdAt = 5000;
  ASSERT_TRUE(s.enqueueMail(m));
  auto found = s.mailsMissedByACrash(2000);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].faxId, missed);
  EXPECT_EQ((*found)[0].kind, "status");
  EXPECT_EQ((*found)[0].faxState, "failed");
  EXPECT_EQ((*found)[0].recipient, "a@x.test");
}

TEST(MailSettings, SenderAuthKeys) {
  MailSettings s;
  EXPECT_EQ(s.senderAuth, SenderAuth::Either);
  EXPECT_EQ(s.maxNumbersPerMail, 10);
  EXPECT_TRUE(validateMailSettings(s));  // the default needs no trusted id (PINs work)
  EXPECT_TRUE(assignMailSetting(s, "sender_auth", "authentication-results"));
  auto v = validateMailSettings(s);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("trusted_authserv_ids"), std::string::npos);
  EXPECT_TRUE(assignMailSetting(s, "trusted_authserv_ids", "MX.example.com, mx2.example.com"));
  EXPECT_EQ(s.trustedAuthservIds, (std::vector<std::string>{"mx.example.com", "mx2.example.com"}));
  EXPECT_TRUE(validateMailSettings(s));
  EXPECT_FALSE(assignMailSetting(s, "trusted_authserv_ids", "mx.example.com; dmarc=pass"));
  EXPECT_FALSE(assignMailSetting(s, "sender_auth", "dkim"));
  EXPECT_FALSE(assignMailSetting(s, "max_numbers_per_mail", "0"));
  EXPECT_TRUE(assignMailSetting(s, "max_numbers_per_mail", "3"));
  EXPECT_TRUE(assignMailSetting(s, "replies_per_sender_per_hour", "0"));
  EXPECT_FALSE(assignMailSetting(s, "replies_per_sender_per_hour", "-1"));
  auto m = toMap(s, false);
  EXPECT_EQ(m["sender_auth"], "authentication-results");
  EXPECT_EQ(m["trusted_authserv_ids"], "mx.example.com,mx2.example.com");
  EXPECT_EQ(m["max_numbers_per_mail"], "3");
}

TEST(MailStore, RetentionPrunesFinishedRecordsOnly) {
  auto store = store::SqliteStore::open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  core::OutboxMail sent, pending;
  sent.kind = pending.kind = "status";
  sent.recipient = pending.recipient = "a@example.test";
  sent.state = core::OutboxState::Sent;
  pending.state = core::OutboxState::Pending;
  sent.createdAt = pending.createdAt = 1000;
  ASSERT_TRUE(s.enqueueMail(sent));
  ASSERT_TRUE(s.enqueueMail(pending));
  ASSERT_TRUE(s.saveProcessedMail({"done-key", "<a@x>", "done", {1}, "faxed", 1000}));
  ASSERT_TRUE(s.saveProcessedMail({"pending-key", "<b@x>", "pending", {}, "", 1000}));

  // Kept mailbox mails: the processed records stay.
  auto n = s.pruneMail(5000, false);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(s.listOutbox(10)->size(), 1u);  // the pending mail is never dropped
  EXPECT_TRUE(*s.processedMail("done-key"));
  // Deleting mailbox: finished records go too, a pending one stays; nothing newer than the cutoff.
  n = s.pruneMail(5000, true);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(*s.processedMail("done-key"));
  EXPECT_TRUE(*s.processedMail("pending-key"));
  EXPECT_EQ(*s.pruneMail(500, true), 0);
}

TEST(RejectionText, DestinationPolicyGivesTheReason) {
  const std::string why = "+49 900 1 234567 may not be dialled: it is a premium-rate number";
  EXPECT_EQ(rejectionText("en", "destination_not_allowed", why), "refused fax number: " + why);
  EXPECT_EQ(rejectionText("de", "destination_not_allowed", why), "Abgelehnte Faxnummer: " + why);
}

}  // namespace
}  // namespace vfax::mail
