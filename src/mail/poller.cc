#include "mail/poller.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "core/log_safe.h"
#include "mail/mailbox_client.h"

namespace vfax::mail {
namespace {

// A deliberately injected fault for the exactly-once test: die right after the jobs are stored
// and before the mailbox is told.
bool crashBeforeMailboxUpdate() {
  const char* v = std::getenv("VFAX_TEST_CRASH_BEFORE_MAILBOX_UPDATE");
  return v && *v == '1';
}

bool sameMailbox(const MailboxSettings& a, const MailboxSettings& b) {
  return a.server == b.server && a.port == b.port && a.protocol == b.protocol && a.tls == b.tls &&
         a.user == b.user && a.password == b.password && a.folder == b.folder && a.idle == b.idle &&
         a.ignoreInvalidCertificates == b.ignoreInvalidCertificates;
}

}  // namespace

MailboxPoller::MailboxPoller(SettingsSource settings, MailToFax& mailToFax, core::MailStore& store,
                             const core::Clock& clock)
    : settings_(std::move(settings)), mailToFax_(mailToFax), store_(store), clock_(clock) {
  mailToFax_.setStopFlag(&stop_);
}

MailboxPoller::~MailboxPoller() { stop(); }

void MailboxPoller::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  idleThread_ = std::thread([this] { runIdle(); });
}

void MailboxPoller::stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (idleThread_.joinable()) idleThread_.join();
}

void MailboxPoller::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

PollerStatus MailboxPoller::status() const {
  std::lock_guard lock(mu_);
  PollerStatus s = status_;
  s.idle = idling_.load();
  return s;
}

int MailboxPoller::pollOnce() {
  std::lock_guard round(roundMu_);
  return this->round().fetched;
}

PollRound MailboxPoller::checkNow() {
  std::lock_guard lock(roundMu_);
  return round();
}

PollRound MailboxPoller::round() {
  PollRound result;
  const MailSettings s = settings_();
  const MailboxSettings& mb = s.mailbox;
  if (mb.server.empty()) return result;
  result.configured = true;
  auto setError = [this](const std::string& e) {
    std::lock_guard lock(mu_);
    if (e != status_.lastError && !e.empty())
      spdlog::warn("mail-to-fax: {}", core::logSafe(e, 600));
    status_.lastError = e;
    status_.lastPollAt = clock_.now();
  };
  auto session = openMailbox(mb);
  auto entries = session->list();
  if (!entries) {
    setError(entries.error().message);
    result.error = entries.error().message;
    return result;
  }
  const bool pop3Keep = mb.protocol == MailboxProtocol::Pop3 && !mb.deleteAfterFetch;
  auto popKey = [&mb](const MailboxEntry& e) {
    return "pop3:" + mb.user + "@" + mb.server + ":" + e.uid;
  };
  int handled = 0;
  std::string roundError;
  for (const auto& e : *entries) {
    if (stop_) break;
    if (pop3Keep) {
      auto seen = store_.processedMail(popKey(e));
      if (seen && *seen) continue;
    }
    bool tooLarge = false;
    auto raw = session->fetch(e, static_cast<size_t>(s.maxMailBytes));
    std::string text;
    if (raw) {
      text = std::move(*raw);
    } else if (raw.error().code == "mail_too_large") {
      tooLarge = true;
      text = raw.error().message;  // the header
    } else {
      roundError = raw.error().message;
      break;
    }
    const IntakeResult r = mailToFax_.process(text, s, tooLarge);
    if (r.outcome == IntakeOutcome::Retry) {
      roundError = "a mail stays in the mailbox for the next round: " + r.message;
      continue;
    }
    if (crashBeforeMailboxUpdate()) {
      spdlog::critical("mail-to-fax: injected crash before the mailbox update");
      kill(getpid(), SIGKILL);
    }
    if (auto f = session->finish(e, mb.deleteAfterFetch); !f) {
      roundError = f.error().message;
      break;
    }
    if (pop3Keep) {
      core::ProcessedMail p;
      p.key = popKey(e);
      p.state = "done";
      p.outcome = "pop3_seen";
      p.createdAt = clock_.now();
      (void)store_.saveProcessedMail(p);
    }
    ++handled;
  }
  if (auto c = session->close(); !c && roundError.empty()) roundError = c.error().message;
  setError(roundError);
  if (handled > 0) {
    std::lock_guard lock(mu_);
    status_.mailsTaken += handled;
  }
  result.fetched = handled;
  result.error = roundError;
  return result;
}

void MailboxPoller::run() {
  while (!stop_) {
    {
      std::lock_guard lock(mu_);
      woken_ = false;
    }
    pollOnce();
    const int seconds = std::max(1, settings_().mailbox.pollSeconds);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return stop_.load() || woken_; });
  }
}

void MailboxPoller::runIdle() {
  while (!stop_) {
    MailSettings s = settings_();
    if (s.mailbox.server.empty() || s.mailbox.protocol != MailboxProtocol::Imap ||
        !s.mailbox.idle) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stop_.load(); });
      continue;
    }
    IdleWatcher watcher(s.mailbox);
    for (;;) {
      if (stop_) return;
      if (!sameMailbox(settings_().mailbox, s.mailbox)) break;
      // Servers drop idle connections after 30 minutes; renew well before.
      auto r = watcher.wait(60'000, stop_, &idling_);
      if (!r) {
        spdlog::debug("mail-to-fax: IMAP IDLE unavailable ({}); polling every {} s",
                      core::logSafe(r.error().message, 600), s.mailbox.pollSeconds);
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(std::max(1, s.mailbox.pollSeconds)),
                     [this] { return stop_.load(); });
        break;
      }
      if (*r) wake();
    }
  }
}

}  // namespace vfax::mail
