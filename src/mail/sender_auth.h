#pragma once
// Mail-to-Fax: is the mail from whom its From: says? `[mail] sender_auth` decides what proves it:
// - authentication-results: the receiving mail server's Authentication-Results header
//   (auth_results.h) from a trusted authserv-id says dmarc=pass, or an aligned dkim/spf pass;
// - pin: the sending device's PIN stands in the subject ("PIN 1234" or "PIN:1234");
// - either (default): one of the two;
// - none: the From alone counts (as mail did before; vfaxd warns at start).
// A From that is proven (by either means, in any mode) may receive a rejection reply; one that is
// not gets none, so a forged From can never make vfax mail a stranger.
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/log_safe.h"
#include "core/model.h"
#include "mail/mail_settings.h"
#include "mail/mime_intake.h"

namespace vfax::mail {

/// The subject without its PIN tokens, and the PINs found. A token is the word "PIN" (any case)
/// followed by optional ':' or '=' and spaces, then the digits; it stands at the start or after a
/// space, ',' or ';', and ends at the end or before one of those. "PIN" followed by something
/// else than digits (PIN:12a4) is taken out too and counts as a wrong PIN, so that no part of a
/// PIN attempt ever reaches a fax, a log or a mail.
struct SubjectPin {
  std::string subject;
  std::vector<std::string> pins;
  bool malformed = false;
};
SubjectPin extractPin(const std::string& subject);

/// Wrong PINs per device: after kMaxWrongPins within an hour the device's PIN is not checked
/// (refused) until the oldest of them is an hour old. Kept in memory: a restart forgets them,
/// which costs a guesser a restart of vfaxd per ten guesses.
class PinGuard {
 public:
  static constexpr int kMaxWrongPins = 10;
  explicit PinGuard(const core::Clock& clock) : clock_(clock) {}
  bool locked(std::int64_t deviceId);
  void wrong(std::int64_t deviceId);

 private:
  void expire(std::deque<core::Millis>& times);
  const core::Clock& clock_;
  std::mutex mu_;
  std::map<std::int64_t, std::deque<core::Millis>> wrong_;
};

struct SenderAuthResult {
  bool authenticated = false;  // the mail may become faxes
  bool fromVerified = false;   // the From address is the real sender: a reply may go there
  std::string how;             // for the log: what proved it, or why it failed
  // For a reply to a verified sender whose PIN failed (`pin` mode): pin_missing, pin_several,
  // pin_no_device, pin_not_set, pin_locked or pin_wrong (rejectionText words them).
  std::string replyReason;
};

/// Decides for one mail. `device` is the device whose address is the From (if any); `pin` is
/// extractPin(mail.subject). Verifies the PIN only when the mode asks for it (argon2id costs
/// ~0.1 s) and records wrong ones in `guard`.
SenderAuthResult authenticateSender(const IncomingMail& mail, const SubjectPin& pin,
                                    const std::optional<core::Device>& device,
                                    const MailSettings& settings, PinGuard& guard);

/// Outside strings in log lines go through the one helper of core (see core/log_safe.h).
using core::logSafe;

}  // namespace vfax::mail
