// libFuzzer target over what Mail-to-Fax reads out of a mail's subject and addresses before any
// job exists (mail/sender_auth.h, mail/mail_to_fax.h): the PIN tokens taken out (no part of a PIN
// attempt may stay in the subject), the numbers split at ',' and ';', the From checked against an
// allow-list, and the log form of outside strings (printable ASCII only, bounded). The input is
// the subject; its first line, when there are several, is the From address and the other lines
// the allow-list entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mail_to_fax.h"
#include "mail/sender_auth.h"

namespace {

void checkLogSafe(const std::string& s, std::size_t max) {
  // core::logSafe: at most `max` input bytes kept, each at most 4 bytes out (\xNN), then
  // "...(+N bytes)"; no control character and no backslash but its own escapes; valid UTF-8
  // above 0x7f stays as it is.
  const std::string out = vfax::mail::logSafe(s, max);
  if (out.size() > 4 * max + std::string("...(+ bytes)").size() + 20) std::abort();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (c < 0x20 || c == 0x7f) std::abort();
    if (c == '\\' && (i + 1 >= out.size() || out[i + 1] != 'x')) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const auto pin = vfax::mail::extractPin(in);
  if (pin.subject.size() > in.size()) std::abort();
  for (const auto& p : pin.pins) {
    if (p.empty() && !pin.malformed) std::abort();  // an empty PIN is a malformed one
    if (p.find_first_not_of("0123456789") != std::string::npos) std::abort();
  }
  // Taken out once, nothing of a PIN is left to take out.
  const auto again = vfax::mail::extractPin(pin.subject);
  if (!again.pins.empty() || again.malformed || again.subject != pin.subject) std::abort();

  for (const auto& n : vfax::mail::MailToFax::numbersFromSubject(pin.subject)) {
    if (n.empty() || n.find_first_of(",;") != std::string::npos) std::abort();
    if (n.front() == ' ' || n.back() == ' ') std::abort();
    checkLogSafe(n, 100);
  }

  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos <= in.size();) {
    const auto nl = std::min(in.find('\n', pos), in.size());
    lines.push_back(in.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() > 1) {
    const std::string& from = lines.front();
    const std::vector<std::string> allow(lines.begin() + 1, lines.end());
    const bool ok = vfax::mail::MailToFax::allowed(from, allow);
    if (!vfax::mail::MailToFax::allowed(from, {"*"})) std::abort();
    if (vfax::mail::MailToFax::allowed(from, {})) std::abort();
    // An entry that is the address itself always lets it in.
    if (!vfax::mail::MailToFax::allowed(from, {from})) std::abort();
    (void)ok;
  }
  checkLogSafe(in, 100);
  checkLogSafe(in, size % 7);
  return 0;
}
