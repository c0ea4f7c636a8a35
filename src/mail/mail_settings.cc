#include "mail/mail_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/secrets.h"
#include "mail/address.h"

namespace vfax::mail {
namespace {

core::Error bad(std::string_view key, std::string_view expected) {
  return core::makeError("invalid_setting", std::string(key) + " must be " + std::string(expected));
}

core::Result<bool> parseBool(std::string_view key, std::string_view v) {
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return bad(key, "true or false");
}

core::Result<long long> parseInt(std::string_view key, std::string_view v, long long lo,
                                 long long hi) {
  long long out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    return bad(key, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return out;
}

core::Result<TlsMode> parseTls(std::string_view key, std::string_view v) {
  if (v == "none") return TlsMode::None;
  if (v == "starttls") return TlsMode::StartTls;
  if (v == "tls") return TlsMode::Tls;
  return bad(key, "none, starttls or tls");
}

std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(" \t");
    auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) {
      std::string item = cur.substr(b, e - b + 1);
      std::transform(item.begin(), item.end(), item.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      out.push_back(item);
    }
    cur.clear();
  };
  for (char c : v) {
    if (c == ',' || c == ';' || c == ' ' || c == '\n') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

const std::vector<std::string>& mailSettingKeys() {
  static const std::vector<std::string> kKeys = {"smtp_host",
                                                 "smtp_port",
                                                 "smtp_tls",
                                                 "smtp_user",
                                                 "smtp_password",
                                                 "smtp_from",
                                                 "smtp_ignore_invalid_certificates",
                                                 "mailbox_server",
                                                 "mailbox_port",
                                                 "mailbox_protocol",
                                                 "mailbox_tls",
                                                 "mailbox_user",
                                                 "mailbox_password",
                                                 "mailbox_folder",
                                                 "mailbox_poll_seconds",
                                                 "mailbox_delete",
                                                 "mailbox_ignore_invalid_certificates",
                                                 "mailbox_idle",
                                                 "language",
                                                 "status_mails",
                                                 "status_format",
                                                 "allowed_senders",
                                                 "templates_dir",
                                                 "retry_initial_seconds",
                                                 "retry_max_seconds",
                                                 "max_mail_mb",
                                                 "sender_auth",
                                                 "trusted_authserv_ids",
                                                 "max_numbers_per_mail",
                                                 "replies_per_sender_per_hour"};
  return kKeys;
}

bool isSecretKey(std::string_view key) {
  return key == "smtp_password" || key == "mailbox_password";
}

core::Result<void> assignMailSetting(MailSettings& s, std::string_view key, std::string_view v) {
  auto setInt = [&](int& out, long long lo, long long hi) -> core::Result<void> {
    auto n = parseInt(key, v, lo, hi);
    if (!n) return n.error();
    out = static_cast<int>(*n);
    return {};
  };
  auto setBool = [&](bool& out) -> core::Result<void> {
    auto b = parseBool(key, v);
    if (!b) return b.error();
    out = *b;
    return {};
  };
  auto setTls = [&](TlsMode& out) -> core::Result<void> {
    auto t = parseTls(key, v);
    if (!t) return t.error();
    out = *t;
    return {};
  };
  auto& sm = s.smtp;
  auto& mb = s.mailbox;
  if (key == "smtp_host") {
    sm.host = v;
    return {};
  }
  if (key == "smtp_port") return setInt(sm.port, 0, 65535);
  if (key == "smtp_tls") return setTls(sm.tls);
  if (key == "smtp_user") {
    sm.user = v;
    return {};
  }
  if (key == "smtp_password") {
    sm.password = v;
    return {};
  }
  if (key == "smtp_from") {
    if (auto r = checkAddress(v, key); !r)
      return core::makeError("invalid_setting", r.error().message);
    sm.from = v;
    return {};
  }
  if (key == "smtp_ignore_invalid_certificates") return setBool(sm.ignoreInvalidCertificates);
  if (key == "mailbox_server") {
    mb.server = v;
    return {};
  }
  if (key == "mailbox_port") return setInt(mb.port, 0, 65535);
  if (key == "mailbox_protocol") {
    if (v == "imap") {
      mb.protocol = MailboxProtocol::Imap;
      return {};
    }
    if (v == "pop3") {
      mb.protocol = MailboxProtocol::Pop3;
      return {};
    }
    return bad(key, "imap or pop3");
  }
  if (key == "mailbox_tls") return setTls(mb.tls);
  if (key == "mailbox_user") {
    mb.user = v;
    return {};
  }
  if (key == "mailbox_password") {
    mb.password = v;
    return {};
  }
  if (key == "mailbox_folder") {
    if (v.empty()) return bad(key, "a folder name");
    mb.folder = v;
    return {};
  }
  if (key == "mailbox_poll_seconds") return setInt(mb.pollSeconds, 1, 86400);
  if (key == "mailbox_delete") return setBool(mb.deleteAfterFetch);
  if (key == "mailbox_ignore_invalid_certificates") return setBool(mb.ignoreInvalidCertificates);
  if (key == "mailbox_idle") return setBool(mb.idle);
  if (key == "language") {
    if (v != "de" && v != "en") return bad(key, "de or en");
    s.language = v;
    return {};
  }
  if (key == "status_mails") {
    if (v == "every") {
      s.statusMails = StatusMails::Every;
      return {};
    }
    if (v == "final") {
      s.statusMails = StatusMails::Final;
      return {};
    }
    if (v == "off") {
      s.statusMails = StatusMails::Off;
      return {};
    }
    return bad(key, "every, final or off");
  }
  if (key == "status_format") {
    if (v == "text") {
      s.statusFormat = StatusFormat::Text;
      return {};
    }
    if (v == "html") {
      s.statusFormat = StatusFormat::Html;
      return {};
    }
    return bad(key, "text or html");
  }
  if (key == "allowed_senders") {
    s.allowedSenders = splitList(v);
    return {};
  }
  if (key == "templates_dir") {
    s.templatesDir = v;
    return {};
  }
  if (key == "retry_initial_seconds") return setInt(s.retryInitialSeconds, 1, 86400);
  if (key == "retry_max_seconds") return setInt(s.retryMaxSeconds, 1, 7 * 86400);
  if (key == "max_mail_mb") {
    auto n = parseInt(key, v, 1, 1024);
    if (!n) return n.error();
    s.maxMailBytes = *n * 1024 * 1024;
    return {};
  }
  if (key == "sender_auth") {
    for (auto a : {SenderAuth::AuthenticationResults, SenderAuth::Pin, SenderAuth::Either,
                   SenderAuth::None}) {
      if (v == toString(a)) {
        s.senderAuth = a;
        return {};
      }
    }
    return bad(key, "authentication-results, pin, either or none");
  }
  if (key == "trusted_authserv_ids") {
    auto ids = splitList(v);
    for (const auto& id : ids) {
      // An authserv-id is a host name in practice (RFC 8601 2.5); nothing else is ever matched.
      const bool ok = id.size() <= 253 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '.' || c == '-' || c == '_';
                      });
      if (!ok) return bad(key, "a list of host names (the receiving servers' authserv-ids)");
    }
    s.trustedAuthservIds = std::move(ids);
    return {};
  }
  if (key == "max_numbers_per_mail") return setInt(s.maxNumbersPerMail, 1, 1000);
  if (key == "replies_per_sender_per_hour") return setInt(s.repliesPerSenderPerHour, 0, 100);
  return core::makeError("invalid_setting", "unknown mail setting '" + std::string(key) + "'");
}

core::Result<void> validateMailSettings(const MailSettings& s) {
  if (s.retryMaxSeconds < s.retryInitialSeconds) {
    return core::makeError("invalid_setting",
                           "retry_max_seconds must not be below retry_initial_seconds");
  }
  if (!s.mailbox.server.empty() && s.mailbox.user.empty()) {
    return core::makeError("invalid_setting", "mailbox_user is needed when mailbox_server is set");
  }
  if (s.senderAuth == SenderAuth::AuthenticationResults && s.trustedAuthservIds.empty()) {
    return core::makeError("invalid_setting",
                           "sender_auth = authentication-results needs trusted_authserv_ids: the "
                           "authserv-id your receiving mail server writes into its "
                           "Authentication-Results header");
  }
  if (s.mailbox.protocol == MailboxProtocol::Pop3 && s.mailbox.folder != "INBOX") {
    return core::makeError("invalid_setting",
                           "POP3 has only the INBOX; leave mailbox_folder at INBOX");
  }
  return {};
}

std::map<std::string, std::string> toMap(const MailSettings& s, bool withSecrets) {
  auto secret = [&](const std::string& v) { return withSecrets ? v : core::SecretBox::mask(v); };
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  return {
      {"smtp_host", s.smtp.host},
      {"smtp_port", std::to_string(s.smtp.port)},
      {"smtp_tls", std::string(toString(s.smtp.tls))},
      {"smtp_user", s.smtp.user},
      {"smtp_password", s.smtp.password.empty() ? "" : secret(s.smtp.password)},
      {"smtp_from", s.smtp.from},
      {"smtp_ignore_invalid_certificates", b(s.smtp.ignoreInvalidCertificates)},
      {"mailbox_server", s.mailbox.server},
      {"mailbox_port", std::to_string(s.mailbox.port)},
      {"mailbox_protocol", std::string(toString(s.mailbox.protocol))},
      {"mailbox_tls", std::string(toString(s.mailbox.tls))},
      {"mailbox_user", s.mailbox.user},
      {"mailbox_password", s.mailbox.password.empty() ? "" : secret(s.mailbox.password)},
      {"mailbox_folder", s.mailbox.folder},
      {"mailbox_poll_seconds", std::to_string(s.mailbox.pollSeconds)},
      {"mailbox_delete", b(s.mailbox.deleteAfterFetch)},
      {"mailbox_ignore_invalid_certificates", b(s.mailbox.ignoreInvalidCertificates)},
      {"mailbox_idle", b(s.mailbox.idle)},
      {"language", s.language},
      {"status_mails", std::string(toString(s.statusMails))},
      {"status_format", std::string(toString(s.statusFormat))},
      {"allowed_senders", joinList(s.allowedSenders)},
      {"templates_dir", s.templatesDir},
      {"retry_initial_seconds", std::to_string(s.retryInitialSeconds)},
      {"retry_max_seconds", std::to_string(s.retryMaxSeconds)},
      {"max_mail_mb", std::to_string(s.maxMailBytes / (1024 * 1024))},
      {"sender_auth", std::string(toString(s.senderAuth))},
      {"trusted_authserv_ids", joinList(s.trustedAuthservIds)},
      {"max_numbers_per_mail", std::to_string(s.maxNumbersPerMail)},
      {"replies_per_sender_per_hour", std::to_string(s.repliesPerSenderPerHour)},
  };
}

int effectivePort(const SmtpSettings& s) {
  if (s.port != 0) return s.port;
  return s.tls == TlsMode::Tls ? 465 : s.tls == TlsMode::StartTls ? 587 : 25;
}

int effectivePort(const MailboxSettings& s) {
  if (s.port != 0) return s.port;
  if (s.protocol == MailboxProtocol::Imap) return s.tls == TlsMode::Tls ? 993 : 143;
  return s.tls == TlsMode::Tls ? 995 : 110;
}

std::string_view toString(TlsMode m) {
  switch (m) {
    case TlsMode::None:
      return "none";
    case TlsMode::StartTls:
      return "starttls";
    case TlsMode::Tls:
      return "tls";
  }
  return "none";
}
std::string_view toString(MailboxProtocol p) {
  return p == MailboxProtocol::Imap ? "imap" : "pop3";
}
std::string_view toString(StatusMails m) {
  return m == StatusMails::Every ? "every" : m == StatusMails::Final ? "final" : "off";
}
std::string_view toString(StatusFormat f) { return f == StatusFormat::Text ? "text" : "html"; }
std::string_view toString(SenderAuth a) {
  switch (a) {
    case SenderAuth::AuthenticationResults:
      return "authentication-results";
    case SenderAuth::Pin:
      return "pin";
    case SenderAuth::Either:
      return "either";
    case SenderAuth::None:
      return "none";
  }
  return "either";
}

}  // namespace vfax::mail
