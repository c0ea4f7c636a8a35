#pragma once
// Sends one finished RFC 5322 message over SMTP (libcurl), with STARTTLS or implicit TLS.
#include <string>
#include <vector>

#include "core/result.h"
#include "mail/mail_settings.h"

namespace vfax::mail {

/// Error codes: `smtp_rejected` (the server refused for good: 550-553), `smtp_error` (anything
/// worth another try: connection, TLS, login, 4xx).
core::Result<void> sendMail(const SmtpSettings& smtp, const std::string& from,
                            const std::vector<std::string>& recipients, const std::string& message);

}  // namespace vfax::mail
