#pragma once
// Reads an incoming mail (Mail-to-Fax) with GMime: sender, subject, Message-ID, the text or HTML
// body, and the attachments with their decoded file names and contents. Robust against whatever
// arrives: nested multiparts, forwarded mails (message/rfc822, whose attachments count too),
// octet-stream attachments, RFC 2231/2047 names, odd charsets, malformed structure.
#include <string>
#include <vector>

#include "core/result.h"

namespace vfax::mail {

struct IncomingAttachment {
  std::string filename;     // decoded; may be empty (a name is made up)
  std::string contentType;  // as declared, lower case ("application/octet-stream")
  std::string data;         // transfer-decoded bytes
};

struct IncomingMail {
  std::string from;     // address, lower case; empty when there is none
  std::string replyTo;  // where replies go: Reply-To, else From
  std::string subject;  // decoded UTF-8
  std::string messageId;
  std::string textBody;  // UTF-8
  std::string htmlBody;  // UTF-8
  std::vector<IncomingAttachment> attachments;
  std::vector<std::string> skipped;  // parts left out on purpose (signatures, TNEF), for replies
  bool tnef = false;                 // an Outlook winmail.dat was among them
  bool autoSubmitted = false;        // Auto-Submitted other than "no": never answered
};

struct IntakeLimits {
  size_t maxBytes = 30u << 20;
  int maxDepth = 16;
  int maxParts = 500;
};

/// Error codes: `mail_too_large`, `mail_malformed` (not a mail at all).
core::Result<IncomingMail> parseMail(const std::string& raw, const IntakeLimits& limits = {});

}  // namespace vfax::mail
