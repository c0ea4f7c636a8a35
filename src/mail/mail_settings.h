#pragma once
// The mail gateway's settings: SMTP out, the Mail-to-Fax mailbox in, and how mails look. Flat
// string keys (smtp_host, mailbox_protocol, ...) are the one form the config file, the store and
// the API share; passwords are sealed at rest and masked on the way out.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vfax::mail {

enum class TlsMode { None, StartTls, Tls };
enum class MailboxProtocol { Imap, Pop3 };
enum class StatusMails { Every, Final, Off };
enum class StatusFormat { Text, Html };
// How Mail-to-Fax knows that a mail comes from whom its From: says (mail_to_fax.h).
enum class SenderAuth { AuthenticationResults, Pin, Either, None };

struct SmtpSettings {
  std::string host;  // empty: no mail is sent (the outbox keeps it until a server is set)
  int port = 0;      // 0: 25, 587 (STARTTLS) or 465 (TLS)
  TlsMode tls = TlsMode::StartTls;
  std::string user;
  std::string password;
  std::string from = "vfax@localhost";
  bool ignoreInvalidCertificates = false;
};

struct MailboxSettings {
  std::string server;  // empty: Mail-to-Fax is off
  int port = 0;        // 0: the protocol's default for the TLS mode
  MailboxProtocol protocol = MailboxProtocol::Imap;
  TlsMode tls = TlsMode::Tls;
  std::string user;
  std::string password;
  std::string folder = "INBOX";
  int pollSeconds = 60;  // POP3's interval; IMAP's fallback poll next to IDLE
  bool deleteAfterFetch = true;
  bool ignoreInvalidCertificates = false;
  bool idle = true;  // IMAP: wait with IDLE for new mail
};

struct MailSettings {
  SmtpSettings smtp;
  MailboxSettings mailbox;
  std::string language = "de";  // de | en
  StatusMails statusMails = StatusMails::Every;
  StatusFormat statusFormat = StatusFormat::Text;
  std::vector<std::string> allowedSenders;  // addresses or domains ("example.com", "@example.com")
  std::string templatesDir;                 // admin's templates: DIR/<language>/<name>.txt
  int retryInitialSeconds = 30;             // outbox back-off: doubles per failed attempt ...
  int retryMaxSeconds = 3600;               // ... up to this
  long long maxMailBytes = 30LL * 1024 * 1024;  // larger mails are rejected unread
  SenderAuth senderAuth = SenderAuth::Either;
  std::vector<std::string> trustedAuthservIds;  // whose Authentication-Results count (lower case)
  int maxNumbersPerMail = 10;                   // more: no fax, one reply
  int repliesPerSenderPerHour = 3;              // rejection replies to one address per hour
};

/// The keys in documented order.
const std::vector<std::string>& mailSettingKeys();
bool isSecretKey(std::string_view key);

/// One key from its string form; error `invalid_setting` naming the key.
core::Result<void> assignMailSetting(MailSettings& s, std::string_view key, std::string_view value);
/// Rules across keys.
core::Result<void> validateMailSettings(const MailSettings& s);
/// Every key as a string; secrets masked unless `withSecrets`.
std::map<std::string, std::string> toMap(const MailSettings& s, bool withSecrets);

int effectivePort(const SmtpSettings& s);
int effectivePort(const MailboxSettings& s);

std::string_view toString(TlsMode m);
std::string_view toString(MailboxProtocol p);
std::string_view toString(StatusMails m);
std::string_view toString(StatusFormat f);
std::string_view toString(SenderAuth a);

}  // namespace vfax::mail
