#pragma once
// Sends one finished RFC 5322 message over SMTP (libcurl), with STARTTLS or implicit TLS.
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "mail/mail_settings.h"

namespace vfax::mail {

/// Error codes: `smtp_rejected` (the server refused for good: 550-553), `smtp_error` (anything
/// worth another try: connection, TLS, login, 4xx).
/// `accepted`, when given, runs as soon as the server has accepted the message (250 after DATA),
/// before the connection is closed (QUIT): recording the delivery there leaves the least time in
/// which a crash would send the mail again after a restart. `message` is not read after it.
core::Result<void> sendMail(const SmtpSettings& smtp, const std::string& from,
                            const std::vector<std::string>& recipients, const std::string& message,
                            const std::function<void()>& accepted = {});

}  // namespace vfax::mail
