#pragma once
// Takes new mail from the Mail-to-Fax mailbox: IMAP picks it up at once through IDLE (a second
// thread waits and wakes the poller) with a fallback poll every mailbox_poll_seconds; POP3 polls.
// A mail leaves the mailbox (deleted, or marked seen) only after MailToFax stored its jobs or
// queued its rejection.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/mail_store.h"
#include "mail/mail_settings.h"
#include "mail/mail_to_fax.h"

namespace vfax::mail {

struct PollerStatus {
  std::string lastError;  // empty: the last round worked
  core::Millis lastPollAt = 0;
  int mailsTaken = 0;
  bool idle = false;  // an IMAP IDLE connection is up
};

/// The result of one round over the mailbox.
struct PollRound {
  bool configured = false;  // a mailbox server is set
  int fetched = 0;          // mails taken in (faxed or answered with a rejection)
  std::string error;        // empty: the round worked
};

class MailboxPoller {
 public:
  using SettingsSource = std::function<MailSettings()>;
  MailboxPoller(SettingsSource settings, MailToFax& mailToFax, core::MailStore& store,
                const core::Clock& clock);
  ~MailboxPoller();
  MailboxPoller(const MailboxPoller&) = delete;
  MailboxPoller& operator=(const MailboxPoller&) = delete;

  void start();
  void stop();
  /// Poll now (settings changed, IDLE saw new mail).
  void wake();
  /// One round over the mailbox; returns the mails handled. Tests call it directly.
  int pollOnce();
  /// One round now (POST /mail/check), after any round that is running; its result.
  PollRound checkNow();
  PollerStatus status() const;

 private:
  void run();
  void runIdle();
  PollRound round();  // under roundMu_

  SettingsSource settings_;
  MailToFax& mailToFax_;
  core::MailStore& store_;
  const core::Clock& clock_;
  std::mutex roundMu_;  // one round at a time (the thread's, or one asked for)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  bool woken_ = false;
  PollerStatus status_;
  std::atomic<bool> idling_{false};
  std::thread thread_;
  std::thread idleThread_;
};

}  // namespace vfax::mail
