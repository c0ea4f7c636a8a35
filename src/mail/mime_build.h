#pragma once
// Builds outgoing mails with GMime: text, optional HTML with inline images (cid:), attachments.
#include <string>
#include <vector>

#include "core/result.h"

namespace vfax::mail {

/// g_mime_init once per process.
void initGMime();

struct OutgoingPart {
  std::string filename;
  std::string contentType;  // "application/pdf"
  std::string data;
  std::string contentId;  // set: an inline part of the HTML (referenced as cid:<contentId>)
};

struct OutgoingMail {
  std::string from;
  std::string fromName;
  std::string to;
  std::string subject;
  std::string text;
  std::string html;  // empty: plain text only
  std::vector<OutgoingPart> parts;
  std::string inReplyTo;                         // Message-ID of the mail answered
  std::string autoSubmitted = "auto-generated";  // RFC 3834: "auto-replied" for replies
};

/// The message with CRLF line ends, ready for SMTP. Error `mail_error` on a GMime failure.
core::Result<std::string> buildMessage(const OutgoingMail& mail);

/// Escapes text for HTML and keeps its lines.
std::string textToHtml(const std::string& text);

}  // namespace vfax::mail
