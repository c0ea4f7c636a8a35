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
  std::string from;     // the first From address, lower case; empty when there is none
  int fromCount = 0;    // addresses in From (all From fields): only exactly 1 can be authenticated
  std::string subject;  // decoded UTF-8
  std::string messageId;
  std::string textBody;  // UTF-8
  std::string htmlBody;  // UTF-8
  std::vector<IncomingAttachment> attachments;
  std::vector<std::string> skipped;  // parts left out on purpose (signatures, TNEF), for replies
  bool tnef = false;                 // an Outlook winmail.dat was among them
  // RFC 3834: mails that are never answered.
  bool autoSubmitted = false;   // Auto-Submitted other than "no"
  bool bulk = false;            // Precedence bulk/list/junk, List-Id or List-Unsubscribe
  bool nullReturnPath = false;  // Return-Path: <> (a bounce or other automatic mail)
  // The raw values of every Authentication-Results field (RFC 8601), topmost first.
  std::vector<std::string> authenticationResults;
};

struct IntakeLimits {
  size_t maxBytes = 30u << 20;
  int maxDepth = 16;
  int maxParts = 500;
};

/// Error codes: `mail_too_large`, `mail_malformed` (not a mail at all).
core::Result<IncomingMail> parseMail(const std::string& raw, const IntakeLimits& limits = {});

}  // namespace vfax::mail
