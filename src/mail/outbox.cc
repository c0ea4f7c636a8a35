#include "mail/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log_safe.h"
#include "mail/address.h"
#include "mail/smtp_client.h"

namespace vfax::mail {

core::Millis backoff(int attempts, int initialSeconds, int maxSeconds) {
  core::Millis delay = static_cast<core::Millis>(initialSeconds) * 1000;
  const core::Millis cap = static_cast<core::Millis>(maxSeconds) * 1000;
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

Outbox::Outbox(core::MailStore& store, const core::Clock& clock, SettingsSource settings,
               Composer compose)
    : store_(store), clock_(clock), settings_(std::move(settings)), compose_(std::move(compose)) {}

Outbox::~Outbox() { stop(); }

void Outbox::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Outbox::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Outbox::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

core::Result<std::int64_t> Outbox::enqueue(core::OutboxMail mail) {
  mail.state = core::OutboxState::Pending;
  mail.createdAt = clock_.now();
  mail.nextAttemptAt = mail.createdAt;
  // A recipient set with the row must be one bare address. A bad one is kept as a failed row
  // (visible in the outbox with its reason) rather than sent or silently dropped.
  core::Result<void> valid;
  if (!mail.recipient.empty()) valid = checkAddress(mail.recipient, "recipient");
  if (!valid) {
    mail.state = core::OutboxState::Failed;
    mail.lastError = valid.error().message;
    mail.message.clear();
  }
  auto id = store_.enqueueMail(mail);
  if (!id) {
    spdlog::error("mail: cannot queue a {} mail to {}: {}", core::logSafe(mail.kind),
                  core::logSafe(mail.recipient), id.error().message);
    return id;
  }
  if (!valid) {
    spdlog::warn("mail {}: a {} mail not sent: {}", *id, core::logSafe(mail.kind),
                 valid.error().message);
    return valid.error();
  }
  wake();
  return id;
}

void Outbox::deliver(core::OutboxMail& m, const MailSettings& s) {
  const core::Millis now = clock_.now();
  auto retryLater = [&](const std::string& why) {
    m.attempts++;
    m.lastError = why;
    m.nextAttemptAt = now + backoff(m.attempts, s.retryInitialSeconds, s.retryMaxSeconds);
    spdlog::warn("mail {}: not delivered to {} (attempt {}), next try in {} s: {}", m.id,
                 core::logSafe(m.recipient), m.attempts, (m.nextAttemptAt - now) / 1000,
                 core::logSafe(why, 400));
  };
  auto fail = [&](const std::string& why) {
    m.attempts++;
    m.lastError = why;
    m.state = core::OutboxState::Failed;
    spdlog::error("mail {}: delivery to {} failed for good: {}", m.id, core::logSafe(m.recipient),
                  core::logSafe(why, 400));
  };

  if (m.message.empty()) {
    auto r = compose_(m);
    if (!r) {
      if (r.error().code == "not_ready") {
        retryLater(r.error().message);
      } else {
        fail(r.error().message);
      }
      if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
      return;
    }
    if (m.message.empty()) {
      // Nothing to say for this change (e.g. no device address): done without a mail.
      m.state = core::OutboxState::Sent;
      m.sentAt = now;
      m.lastError = "nothing to send";
      if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
      return;
    }
    // Kept as composed: a retry sends the very same message (same Message-ID).
    if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
  }
  if (auto r = checkAddress(m.recipient, "recipient"); !r) {
    fail(r.error().message);
    if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
    return;
  }
  // Recorded as sent the moment the server accepted it, before the connection's QUIT: a crash
  // between the server's 250 and this record sends the mail again after the restart (SMTP
  // cannot be exactly once; a duplicate beats a lost mail), so that window is kept short.
  auto recordSent = [&] {
    m.attempts++;
    m.state = core::OutboxState::Sent;
    m.sentAt = clock_.now();
    m.lastError.clear();
    m.message.clear();  // delivered: the documents need not stay in the database twice
    if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
  };
  auto sent = sendMail(s.smtp, s.smtp.from, {m.recipient}, m.message, recordSent);
  if (sent) {
    spdlog::info("mail {}: {} mail delivered to {}", m.id, m.kind, core::logSafe(m.recipient));
    return;
  }
  if (sent.error().code == "smtp_rejected") {
    fail(sent.error().message);
  } else {
    retryLater(sent.error().message);
  }
  if (auto u = store_.updateMail(m); !u) spdlog::error("mail {}: {}", m.id, u.error().message);
}

int Outbox::runOnce() {
  const MailSettings s = settings_();
  auto due = store_.dueMails(clock_.now(), 20);
  if (!due) {
    spdlog::error("mail: cannot read the outbox: {}", due.error().message);
    return 0;
  }
  int sent = 0;
  for (auto& m : *due) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    deliver(m, s);
    if (m.state == core::OutboxState::Sent) ++sent;
  }
  return sent;
}

void Outbox::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      woken_ = false;
    }
    runOnce();
    std::unique_lock lock(mu_);
    // Due times are in the store; a short wait keeps retries on time without a timer list.
    cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_ || woken_; });
    if (stop_) return;
  }
}

}  // namespace vfax::mail
