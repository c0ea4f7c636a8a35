#include "mail/sender_auth.h"

#include <algorithm>
#include <cctype>

#include "core/pin.h"
#include "mail/auth_results.h"

namespace vfax::mail {
namespace {

constexpr core::Millis kHour = 3600 * 1000;

bool isSeparator(char c) { return c == ' ' || c == '\t' || c == ',' || c == ';'; }
bool isBlank(char c) { return c == ' ' || c == '\t'; }
// "PIN" (any case) at `at` of `s`, starting a word.
bool isPinWord(const std::string& s, std::size_t at) {
  return at + 3 <= s.size() && (at == 0 || isSeparator(s[at - 1])) &&
         std::tolower(static_cast<unsigned char>(s[at])) == 'p' &&
         std::tolower(static_cast<unsigned char>(s[at + 1])) == 'i' &&
         std::tolower(static_cast<unsigned char>(s[at + 2])) == 'n';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }

struct PinCheck {
  bool ok = false;
  std::string log;    // for the log
  std::string reply;  // a pin_* key for the reply, when the From is verified otherwise
};

PinCheck checkPin(const SubjectPin& pin, const std::optional<core::Device>& device,
                  PinGuard& guard) {
  if (pin.pins.empty()) return {false, "no PIN in the subject", "pin_missing"};
  if (pin.pins.size() > 1) {
    return {false, "several PINs in the subject", "pin_several"};
  }
  if (!device) {
    return {false, "the From is no device's address, so no PIN can count", "pin_no_device"};
  }
  const std::string which = "device " + std::to_string(device->id);
  if (device->pinHash.empty()) {
    return {false, which + " has no PIN", "pin_not_set"};
  }
  if (guard.locked(device->id)) {
    return {false, which + ": PIN not checked, too many wrong PINs in the last hour", "pin_locked"};
  }
  if (pin.malformed || !core::verifyPin(device->pinHash, pin.pins.front())) {
    guard.wrong(device->id);
    return {false, "wrong PIN for " + which, "pin_wrong"};
  }
  // A right PIN does not clear the count: a guesser's tries stay counted between the owner's mails.
  return {true, "the PIN of " + which, ""};
}

}  // namespace

SubjectPin extractPin(const std::string& subject) {
  SubjectPin out;
  const std::size_t n = subject.size();
  std::size_t i = 0;
  while (i < n) {
    if (isPinWord(subject, i)) {
      std::size_t k = i + 3;
      while (k < n && isBlank(subject[k])) ++k;
      bool punct = false;
      if (k < n && (subject[k] == ':' || subject[k] == '=')) {
        punct = true;
        ++k;
        while (k < n && isBlank(subject[k])) ++k;
      }
      if (punct || (k < n && isDigit(subject[k]))) {
        // A PIN token: up to the next separator.
        std::size_t e = k;
        while (e < n && !isSeparator(subject[e])) ++e;
        const std::string value = subject.substr(k, e - k);
        const bool digits = !value.empty() && std::all_of(value.begin(), value.end(),
                                                          [](char c) { return isDigit(c); });
        out.pins.push_back(digits ? value : std::string());
        if (!digits) out.malformed = true;
        // A "PIN" word just before the token ("PIN PIN:1234") is the same attempt: left in the
        // subject it would stand before what follows the token, and "PIN PIN:1 9" would read as
        // "PIN  9", a PIN token the subject did not have.
        for (;;) {
          std::size_t b = out.subject.size();
          while (b > 0 && isBlank(out.subject[b - 1])) --b;
          if (b == out.subject.size() || b < 3 || !isPinWord(out.subject, b - 3)) break;
          out.subject.erase(b - 3);
        }
        i = e;
        continue;
      }
    }
    out.subject += subject[i];
    ++i;
  }
  return out;
}

void PinGuard::expire(std::deque<core::Millis>& times) {
  const core::Millis cutoff = clock_.now() - kHour;
  while (!times.empty() && times.front() <= cutoff) times.pop_front();
}

bool PinGuard::locked(std::int64_t deviceId) {
  std::lock_guard lock(mu_);
  auto it = wrong_.find(deviceId);
  if (it == wrong_.end()) return false;
  expire(it->second);
  return static_cast<int>(it->second.size()) >= kMaxWrongPins;
}

void PinGuard::wrong(std::int64_t deviceId) {
  std::lock_guard lock(mu_);
  auto& times = wrong_[deviceId];
  expire(times);
  times.push_back(clock_.now());
}

SenderAuthResult authenticateSender(const IncomingMail& mail, const SubjectPin& pin,
                                    const std::optional<core::Device>& device,
                                    const MailSettings& s, PinGuard& guard) {
  SenderAuthResult r;
  if (s.senderAuth == SenderAuth::None) {
    // The administrator chose to trust the From alone (vfaxd warned at start).
    r.authenticated = r.fromVerified = !mail.from.empty();
    r.how = "sender_auth = none: the From is taken as it is";
    return r;
  }
  if (mail.from.empty() || mail.fromCount != 1) {
    r.how = mail.fromCount == 0 ? "the mail has no From address"
                                : "the From holds " + std::to_string(mail.fromCount) +
                                      " addresses; only a single one can be authenticated";
    return r;
  }
  // Also under `pin`: a From the receiving server confirms may hear why its PIN failed.
  const SenderVerdict ar = checkAuthenticationResults(mail.authenticationResults,
                                                      domainOf(mail.from), s.trustedAuthservIds);
  if (s.senderAuth == SenderAuth::AuthenticationResults) {
    r.authenticated = r.fromVerified = ar.authenticated;
    r.how = ar.detail;
    return r;
  }
  if (s.senderAuth == SenderAuth::Either && ar.authenticated) {
    r.authenticated = r.fromVerified = true;
    r.how = ar.detail;
    return r;
  }
  const PinCheck p = checkPin(pin, device, guard);
  if (s.senderAuth == SenderAuth::Pin) {
    r.authenticated = p.ok;
    r.fromVerified = p.ok || ar.authenticated;
    r.how = p.log + (ar.authenticated ? " (the From itself is confirmed: " + ar.detail + ")" : "");
    if (!p.ok) r.replyReason = p.reply;
    return r;
  }
  // Either, and the Authentication-Results did not do it.
  r.authenticated = r.fromVerified = p.ok;
  r.how = p.ok ? p.log : ar.detail + "; " + p.log;
  return r;
}

}  // namespace vfax::mail
