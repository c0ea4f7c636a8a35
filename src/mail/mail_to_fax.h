#pragma once
// Mail-to-Fax: one fetched mail in, fax jobs (one per number in the subject) or a reply that
// says why not. Exactly once: a mail's key (hash of Message-ID and content) is recorded as
// `pending` before its first job is submitted and `done` after the last; each job carries the
// key in its tag, so a crash in between resumes without submitting a number twice, and a mail
// seen again after `done` is only removed from the mailbox. Before anything else the sender must
// be authenticated (sender_auth.h); a PIN is taken out of the subject before the subject is used.
#include <atomic>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mail_store.h"
#include "core/service.h"
#include "mail/mail_settings.h"
#include "mail/outbox.h"
#include "mail/sender_auth.h"

namespace vfax::mail {

enum class IntakeOutcome {
  Faxed,        // jobs stored: remove the mail
  Rejected,     // reply queued (where possible): remove the mail
  AlreadyDone,  // taken before: remove the mail
  Retry,        // a passing problem (store): leave the mail for the next round
};

struct IntakeResult {
  IntakeOutcome outcome = IntakeOutcome::Retry;
  std::string code;  // rejection or error code
  std::string message;
  std::vector<std::int64_t> faxIds;
};

class MailToFax {
 public:
  MailToFax(core::Service& service, core::MailStore& store, Outbox& outbox,
            const core::Clock& clock, std::string stagingDir);

  /// `raw` is the whole mail. `tooLarge`: only the header was fetched (the mail is over the limit).
  IntakeResult process(const std::string& raw, const MailSettings& settings, bool tooLarge = false);

  /// The numbers of a subject: split at ',' and ';', trimmed. Empty items are dropped.
  static std::vector<std::string> numbersFromSubject(const std::string& subject);
  /// Whether `address` may send: an allow-list entry is an address, a domain or "@domain"; "*" is
  /// anyone.
  static bool allowed(const std::string& address, const std::vector<std::string>& allowList);
  static std::string mailKey(const std::string& messageId, const std::string& raw);

  /// Asked between the jobs of one mail: once set, the rest of the mail is left for the next
  /// start (its jobs' tags make the retry exactly-once), so that a stop never waits for a mail
  /// with many numbers.
  void setStopFlag(const std::atomic<bool>* stopping) { stopping_ = stopping; }

 private:
  /// Records the mail as done with `code` and queues a reply to `to` if `to` is set and may be
  /// answered (RFC 3834 and the per-sender limit); `noReplyWhy` says why `to` is empty.
  IntakeResult reject(const MailSettings& s, const std::string& key, const IncomingMail* mail,
                      const std::string& to, const std::string& noReplyWhy, const std::string& code,
                      const std::string& reason);
  /// Why no reply may go to `to` now, or "" if one may.
  std::string replyBlocked(const MailSettings& s, const IncomingMail& mail, const std::string& to);

  core::Service& service_;
  core::MailStore& store_;
  Outbox& outbox_;
  const core::Clock& clock_;
  std::string stagingDir_;
  const std::atomic<bool>* stopping_ = nullptr;
  PinGuard pinGuard_;
};

/// A reason for a reply, in the language.
std::string rejectionText(const std::string& language, const std::string& code,
                          const std::string& detail);

}  // namespace vfax::mail
