#pragma once
// The recipient check at the point where a mail is queued or sent: core's grammar for one bare
// address (core/mail_address.h), and GMime's address parser as a second opinion that what an
// SMTP envelope and a To: header will carry is exactly that one mailbox, no group, no name.
#include <string_view>

#include "core/result.h"

namespace vfax::mail {

/// Ok if `address` is a single bare e-mail address; otherwise invalid_request naming `field`.
core::Result<void> checkAddress(std::string_view address, std::string_view field);

}  // namespace vfax::mail
