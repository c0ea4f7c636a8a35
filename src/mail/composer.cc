#include "mail/composer.h"

#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <sstream>

namespace vfax::mail {
namespace {

core::Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::makeError("not_ready", "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string orUnknown(const Templates& t, const std::string& v) {
  return v.empty() ? t.word("unknown") : v;
}

const core::Attempt* lastAttempt(const core::Fax& fax) {
  return fax.attempts.empty() ? nullptr : &fax.attempts.back();
}

std::string outcomeText(const Templates& t, const core::Attempt& a) {
  if (!a.finished) return t.word("sending");
  if (a.outcome == core::OutcomeClass::Ok) return t.word("ok");
  std::string s(core::toString(a.outcome));
  if (!a.reason.empty()) s += ": " + a.reason;
  return s;
}

OutgoingMail base(const ComposeContext& ctx, const std::string& to, const MailText& text) {
  OutgoingMail m;
  m.from = ctx.settings.smtp.from;
  m.fromName = "vfax";
  m.to = to;
  m.subject = text.subject;
  m.text = text.body;
  return m;
}

std::string baseName(const core::Fax& fax) { return "fax-" + std::to_string(fax.id); }

}  // namespace

std::string formatTime(core::Millis when) {
  const std::time_t t = static_cast<std::time_t>(when / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string formatDuration(core::Millis ms) {
  if (ms < 0) ms = 0;
  const long long s = (ms + 500) / 1000;
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool wantsStatusMail(StatusMails mode, core::FaxState state, core::FaxState previous) {
  using core::FaxState;
  if (mode == StatusMails::Off) return false;
  const bool final =
      state == FaxState::Done || state == FaxState::Failed || state == FaxState::Canceled;
  if (mode == StatusMails::Final) return final && previous != state;
  if (final) return previous != state;
  // A new job (previous == state): reported as queued, whatever the scheduler already did.
  if (previous == state) return true;
  if (state == FaxState::Sending) return previous != FaxState::Sending;
  // Waiting after a call (busy, no answer, dropped): a retry is coming.
  if (state == FaxState::Waiting)
    return previous == FaxState::Dialing || previous == FaxState::Sending;
  return false;
}

namespace {
// "T.38", "audio (G.711), PCMA", or "T.38 (PCMA)" for a call that switched from audio.
std::string mediaText(const Templates& t, const core::Attempt& a) {
  std::string s = t.word(a.media == core::FaxMedia::T38 ? "media_t38" : "media_audio");
  if (a.codec.empty()) return s;
  return a.media == core::FaxMedia::T38 ? s + " (" + a.codec + ")" : s + ", " + a.codec;
}
}  // namespace

std::string transmissionReport(const Templates& t, const core::Fax& fax) {
  const core::Attempt* last = lastAttempt(fax);
  std::string r;
  auto line = [&](const std::string& label, const std::string& value) {
    r += fmt::format("{:<18}{}\n", label + ":", value);
  };
  line(t.word("pages_sent"), fmt::format("{} {} {}", fax.pages, t.word("of"), fax.pagesTotal));
  line(t.word("remote_id"),
       orUnknown(t, last && !last->remoteId.empty() ? last->remoteId : fax.remoteId));
  line(t.word("bit_rate"),
       last && last->bitRate ? fmt::format("{} bit/s", last->bitRate) : t.word("unknown"));
  line(t.word("ecm"), last && last->ecm ? t.word("yes") : t.word("no"));
  if (last && last->finished) line(t.word("media"), mediaText(t, *last));
  line(t.word("duration"),
       last && last->endedAt ? formatDuration(last->endedAt - last->startedAt) : "-");
  line(t.word("attempts"), std::to_string(fax.attempts.size()));
  int n = 0;
  for (const auto& a : fax.attempts) {
    r += fmt::format("  {}. {}  {}  ({} s, {} p.{})\n", ++n, formatTime(a.startedAt),
                     outcomeText(t, a), a.endedAt ? (a.endedAt - a.startedAt + 500) / 1000 : 0,
                     a.pages, a.finished ? ", " + mediaText(t, a) : std::string());
  }
  return r;
}

core::Result<OutgoingMail> composeFaxReceived(const ComposeContext& ctx, const core::Fax& fax,
                                              const core::Device& device, const FaxFiles& files) {
  const core::Attempt* last = lastAttempt(fax);
  const std::map<std::string, std::string> vars = {
      {"sender", orUnknown(ctx.templates, fax.number.empty() ? fax.callerId : fax.number)},
      {"remote_id", orUnknown(ctx.templates, fax.remoteId)},
      {"device", device.name},
      {"extension", fax.extension},
      {"pages", std::to_string(fax.pages)},
      {"time", formatTime(fax.createdAt)},
      {"duration", last && last->endedAt ? formatDuration(last->endedAt - last->startedAt) : "-"},
      {"fax_id", std::to_string(fax.id)},
  };
  OutgoingMail m = base(ctx, device.email, ctx.templates.render("fax_received", vars));
  if (device.inboundFormat == core::InboundFormat::Tiff) {
    auto tiff = readFile(files.tiff);
    if (!tiff) return tiff.error();
    m.parts.push_back({baseName(fax) + ".tif", "image/tiff", std::move(*tiff), ""});
    return m;
  }
  auto pdf = readFile(files.pdf);
  if (!pdf) return pdf.error();
  if (device.inboundFormat == core::InboundFormat::Inline) {
    m.html = textToHtml(m.text);
    if (auto png = readFile(files.preview)) {
      m.html += "<p><img src=\"cid:page1@vfax\" alt=\"page 1\" style=\"max-width: 100%\"></p>";
      m.parts.push_back({"page1.png", "image/png", std::move(*png), "page1@vfax"});
    }
  }
  m.parts.push_back({baseName(fax) + ".pdf", "application/pdf", std::move(*pdf), ""});
  return m;
}

core::Result<OutgoingMail> composeStatus(const ComposeContext& ctx, const core::Fax& fax,
                                         core::FaxState state, const FaxFiles& files) {
  const auto& t = ctx.templates;
  const bool final = state == core::FaxState::Done || state == core::FaxState::Failed ||
                     state == core::FaxState::Canceled;
  std::string reason;
  if (state == core::FaxState::Failed && !fax.error.empty()) {
    reason = t.word("reason") + ": " + fax.error + "\n";
  } else if (const core::Attempt* last = lastAttempt(fax);
             last && last->finished && last->outcome != core::OutcomeClass::Ok &&
             (state == core::FaxState::Waiting || state == core::FaxState::Failed)) {
    reason = t.word("reason") + ": " + outcomeText(t, *last) + "\n";
  }
  if (state == core::FaxState::Waiting && fax.nextAttemptAt > 0) {
    reason += t.word("retry") + ": " + formatTime(fax.nextAttemptAt) + "\n";
  }
  const std::map<std::string, std::string> vars = {
      {"number", fax.number},
      {"subject", fax.subject.empty() ? "#" + std::to_string(fax.id) : fax.subject},
      {"state", t.word(std::string(core::toString(state)))},
      {"state_code", std::string(core::toString(state))},
      {"reason", reason},
      {"fax_id", std::to_string(fax.id)},
      {"pages_total", std::to_string(fax.pagesTotal)},
      {"attempts", std::to_string(fax.attempts.size())},
      {"report", transmissionReport(t, fax)},
  };
  OutgoingMail m = base(ctx, fax.notify, t.render(final ? "status_final" : "status", vars));
  if (ctx.settings.statusFormat == StatusFormat::Html) {
    m.html = textToHtml(m.text);
    if (!files.preview.empty()) {
      if (auto png = readFile(files.preview)) {
        m.html += "<p><img src=\"cid:page1@vfax\" alt=\"page 1\" style=\"max-width: 100%\"></p>";
        m.parts.push_back({"page1.png", "image/png", std::move(*png), "page1@vfax"});
      }
    }
    if (!files.pdf.empty()) {
      if (auto pdf = readFile(files.pdf)) {
        m.parts.push_back({baseName(fax) + ".pdf", "application/pdf", std::move(*pdf), ""});
      }
    }
  }
  return m;
}

OutgoingMail composeRejection(const ComposeContext& ctx, const std::string& to,
                              const std::string& reason, const std::string& inReplyTo) {
  OutgoingMail m = base(ctx, to, ctx.templates.render("rejected", {{"reason", reason}}));
  m.inReplyTo = inReplyTo;
  m.autoSubmitted = "auto-replied";
  return m;
}

core::Result<OutgoingMail> composePrintExpired(const ComposeContext& ctx, const core::Fax& fax) {
  return base(
      ctx, fax.notify,
      ctx.templates.render("print_expired", {{"fax_id", std::to_string(fax.id)},
                                             {"pages_total", std::to_string(fax.pagesTotal)},
                                             {"reason", fax.error}}));
}

OutgoingMail composePrintRefused(const ComposeContext& ctx, const std::string& to,
                                 const std::string& jobName, const std::string& reason) {
  OutgoingMail m =
      base(ctx, to,
           ctx.templates.render("print_refused",
                                {{"job", jobName.empty() ? "-" : jobName}, {"reason", reason}}));
  m.autoSubmitted = "auto-generated";
  return m;
}

OutgoingMail composeTest(const ComposeContext& ctx, const std::string& to) {
  return base(ctx, to, ctx.templates.render("test", {{"server", ctx.settings.smtp.host}}));
}

}  // namespace vfax::mail
