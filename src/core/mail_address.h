#pragma once
// The one rule for an e-mail address vfax sends to or from: a single bare RFC 5321 mailbox
// (local-part@domain) and nothing else. Every address a mail may be queued for (device and user
// addresses, a fax's notify, the test mail's recipient, smtp_from) is checked with it where it is
// set, so that a value like "a@x.test\r\nRCPT TO:<b@y.test>", "a@x.test, b@y.test" or
// "Boss <a@x.test>" never reaches the outbox, an SMTP envelope or a To: header.
#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace vfax::core {

inline constexpr std::size_t kMaxMailAddressBytes = 254;  // RFC 5321 path limit less the <>
inline constexpr std::size_t kMaxMailLocalPartBytes = 64;

/// Ok if `address` is one bare mailbox: a dot-atom local part (letters, digits and
/// !#$%&'*+-/=?^_`{|}~, dots between them) of at most 64 bytes, one '@', and a domain of
/// letters, digits and hyphens in dot-separated labels of 1..63 (a single label such as
/// "localhost" too; IDNs in their xn-- form), 254 bytes at most in all. No display name, no
/// quoted local part, no address literal, no spaces, control characters, commas or semicolons.
/// The error (code invalid_request) names `field` and says what is wrong.
Result<void> validateMailAddress(std::string_view address, std::string_view field);

}  // namespace vfax::core
