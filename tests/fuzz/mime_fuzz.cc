// libFuzzer target over the Mail-to-Fax intake: any bytes as a mail must parse or fail cleanly,
// with every name, body and attachment decoded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mail/mime_intake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  vfax::mail::IntakeLimits limits;
  limits.maxBytes = 1u << 20;
  auto mail = vfax::mail::parseMail(raw, limits);
  if (mail) {
    size_t total = mail->textBody.size() + mail->htmlBody.size();
    for (const auto& a : mail->attachments) total += a.data.size() + a.filename.size();
    total += mail->subject.size() + mail->from.size() + mail->messageId.size();
    (void)total;
  }
  return 0;
}
