#pragma once
// The durable outbox: every mail vfax sends is a row first (core::MailStore), then a worker thread
// delivers it over SMTP. A mail that cannot be delivered now is tried again with a doubling
// back-off (retry_initial_seconds .. retry_max_seconds) for as long as it takes, across restarts;
// only a server's permanent refusal (550-553) or a fax that no longer exists ends it as failed.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/mail_store.h"
#include "mail/mail_settings.h"

namespace vfax::mail {

class Outbox {
 public:
  /// Fills in `mail.message` (and subject/recipient) for rows queued without one.
  using Composer = std::function<core::Result<void>(core::OutboxMail& mail)>;
  using SettingsSource = std::function<MailSettings()>;

  Outbox(core::MailStore& store, const core::Clock& clock, SettingsSource settings,
         Composer compose);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void start();
  void stop();
  /// Stores the mail (pending, due now) and wakes the worker.
  core::Result<std::int64_t> enqueue(core::OutboxMail mail);
  void wake();
  /// One pass over the due mails (the worker's step; tests call it directly). Returns how many
  /// were sent.
  int runOnce();

 private:
  void run();
  void deliver(core::OutboxMail& m, const MailSettings& s);

  core::MailStore& store_;
  const core::Clock& clock_;
  SettingsSource settings_;
  Composer compose_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

/// The delay before attempt `attempts + 1`, after `attempts` failed ones.
core::Millis backoff(int attempts, int initialSeconds, int maxSeconds);

}  // namespace vfax::mail
