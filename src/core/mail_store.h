#pragma once
// What the mail gateway keeps: its settings, a durable outbox, and the mails it already turned
// into faxes (so that a crash between storing the jobs and deleting the mail never faxes twice).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/result.h"

namespace vfax::core {

enum class OutboxState { Pending, Sent, Failed };

/// One mail to send. Either `message` holds the finished RFC 5322 text, or it is empty and the
/// worker composes it from kind/faxId/state (documents are attached at sending time).
struct OutboxMail {
  std::int64_t id = 0;
  std::string kind;  // fax_received, status, reply, test
  std::optional<std::int64_t> faxId;
  std::string faxState;       // the state the mail reports (status mails)
  std::string previousState;  // ... and the one before it
  std::string recipient;
  std::string subject;  // for lists; the message carries its own
  std::string message;  // composed mail, may be empty until first sent
  OutboxState state = OutboxState::Pending;
  int attempts = 0;
  Millis nextAttemptAt = 0;
  std::string lastError;
  Millis createdAt = 0;
  Millis sentAt = 0;
};

/// A mail taken from the mailbox. `state`: `pending` while its jobs are being created, `done`
/// once every job is stored (or it was rejected and the reply queued).
struct ProcessedMail {
  std::string key;  // hash of Message-ID and content
  std::string messageId;
  std::string state;
  std::vector<std::int64_t> faxIds;
  std::string outcome;  // "faxed", or the rejection's error code
  Millis createdAt = 0;
};

class MailStore {
 public:
  virtual ~MailStore() = default;

  virtual Result<std::map<std::string, std::string>> loadMailSettings() = 0;
  virtual Result<void> saveMailSettings(const std::map<std::string, std::string>& values) = 0;

  virtual Result<std::int64_t> enqueueMail(const OutboxMail& m) = 0;
  /// Pending mails due at `now`, oldest first.
  virtual Result<std::vector<OutboxMail>> dueMails(Millis now, int limit) = 0;
  /// Newest first; `limit` <= 0: all.
  virtual Result<std::vector<OutboxMail>> listOutbox(int limit) = 0;
  virtual Result<void> updateMail(const OutboxMail& m) = 0;
  /// Recovery after a crash: faxes changed at or after `since` that reached the state a mail
  /// reports (outbound done/failed/canceled with a `notify` address, inbound received on a
  /// device) but have no outbox mail for it (vfaxd died between the state and the mail), as
  /// outbox rows to queue: kind, fax id, fax state and, for status mails, the recipient.
  virtual Result<std::vector<OutboxMail>> mailsMissedByACrash(Millis since) {
    (void)since;
    return std::vector<OutboxMail>{};
  }
  /// Outbox mails of `kind` to `recipient` (exact, lower case) created at or after `since`,
  /// whatever their state: the rejection-reply limit per sender and hour counts these.
  virtual Result<int> countMailsTo(const std::string& kind, const std::string& recipient,
                                   Millis since) = 0;

  virtual Result<std::optional<ProcessedMail>> processedMail(const std::string& key) = 0;
  /// Inserts or replaces the record.
  virtual Result<void> saveProcessedMail(const ProcessedMail& p) = 0;
  /// Retention: deletes delivered and failed outbox mails created before `cutoff` (pending ones
  /// stay), and, when `processedToo`, finished records of processed mails. Returns rows deleted.
  virtual Result<int> pruneMail(Millis cutoff, bool processedToo) = 0;
};

inline std::string_view toString(OutboxState s) {
  switch (s) {
    case OutboxState::Pending:
      return "pending";
    case OutboxState::Sent:
      return "sent";
    case OutboxState::Failed:
      return "failed";
  }
  return "pending";
}

inline std::optional<OutboxState> outboxStateFromString(std::string_view s) {
  if (s == "pending") return OutboxState::Pending;
  if (s == "sent") return OutboxState::Sent;
  if (s == "failed") return OutboxState::Failed;
  return std::nullopt;
}

}  // namespace vfax::core
