#pragma once
// Turns faxes into mails: fax-to-email for received faxes (PDF, TIFF, or HTML with the first page
// inline), status mails for job changes (text, or HTML with the first page and the PDF; the final
// one with a transmission report), and rejection replies for Mail-to-Fax.
#include <optional>
#include <string>

#include "core/model.h"
#include "mail/mail_settings.h"
#include "mail/mime_build.h"
#include "mail/templates.h"

namespace vfax::mail {

/// The files of a fax that a mail may carry; empty paths are left out.
struct FaxFiles {
  std::string pdf;
  std::string tiff;
  std::string preview;  // PNG of the first page
};

struct ComposeContext {
  const MailSettings& settings;
  const Templates& templates;
};

core::Result<OutgoingMail> composeFaxReceived(const ComposeContext& ctx, const core::Fax& fax,
                                              const core::Device& device, const FaxFiles& files);

/// `state` is the state the mail reports (the fax may have moved on since).
core::Result<OutgoingMail> composeStatus(const ComposeContext& ctx, const core::Fax& fax,
                                         core::FaxState state, const FaxFiles& files);

/// A reply to a Mail-to-Fax mail that was not faxed. It never quotes the mail's subject or body
/// (a reply must not carry a stranger's text to whoever the From names); In-Reply-To threads it.
OutgoingMail composeRejection(const ComposeContext& ctx, const std::string& to,
                              const std::string& reason, const std::string& inReplyTo);

OutgoingMail composeTest(const ComposeContext& ctx, const std::string& to);
/// A held print job expired (Print-to-Fax): to its notify address.
core::Result<OutgoingMail> composePrintExpired(const ComposeContext& ctx, const core::Fax& fax);
/// A print job was refused (no number in mode fields, a broken document, ...).
OutgoingMail composePrintRefused(const ComposeContext& ctx, const std::string& to,
                                 const std::string& jobName, const std::string& reason);

/// The transmission report (pages, remote id, bit rate, ECM, duration, each attempt).
std::string transmissionReport(const Templates& t, const core::Fax& fax);

/// Whether a change of state gets a status mail under the settings.
bool wantsStatusMail(StatusMails mode, core::FaxState state, core::FaxState previous);

std::string formatTime(core::Millis when);
std::string formatDuration(core::Millis ms);

}  // namespace vfax::mail
