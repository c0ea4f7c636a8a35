#include "mail/mail_to_fax.h"

#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "mail/composer.h"
#include "mail/mime_intake.h"

namespace fs = std::filesystem;

namespace vfax::mail {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// A file name that is safe in our staging folder; the extension helps nobody but a person
// reading the folder (the documents component sniffs the content).
std::string safeExtension(const std::string& filename, const std::string& contentType) {
  auto dot = filename.rfind('.');
  std::string ext = dot == std::string::npos ? "" : lower(filename.substr(dot + 1));
  if (ext.empty() || ext.size() > 5 ||
      !std::all_of(ext.begin(), ext.end(), [](unsigned char c) { return std::isalnum(c); })) {
    ext = contentType == "application/pdf" ? "pdf" : contentType == "image/tiff" ? "tif" : "bin";
  }
  return ext;
}

bool looksLikeNumber(const std::string& n) {
  bool digit = false;
  for (unsigned char c : n) {
    if (std::isdigit(c)) {
      digit = true;
    } else if (c != '+' && c != ' ' && c != '-' && c != '/' && c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digit;
}

bool writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out.flush());
}

}  // namespace

std::string rejectionText(const std::string& language, const std::string& code,
                          const std::string& detail) {
  const bool de = language != "en";
  std::string text;
  if (code == "sender_not_allowed") {
    text = de ? "Ihre Absenderadresse darf keine Faxe senden."
              : "your sender address may not send faxes.";
  } else if (code == "no_number") {
    text = de ? "Der Betreff enthält keine Faxnummer." : "the subject holds no fax number.";
  } else if (code == "invalid_number") {
    text = de ? "Ungültige Faxnummer: " : "invalid fax number: ";
  } else if (code == "destination_not_allowed") {
    text = de ? "Abgelehnte Faxnummer: " : "refused fax number: ";
  } else if (code == "no_attachment") {
    text = de ? "Die Mail hat keinen Anhang, der gefaxt werden kann."
              : "the mail has no attachment that can be faxed.";
  } else if (code == "tnef") {
    text = de ? "Die Anhänge stecken in Outlooks winmail.dat (TNEF); bitte im HTML- oder "
                "Textformat senden."
              : "the attachments are inside Outlook's winmail.dat (TNEF); please send in HTML or "
                "plain-text format.";
  } else if (code == "mail_too_large") {
    text = de ? "Die Mail ist zu groß: " : "the mail is too large: ";
  } else if (code == "mail_malformed") {
    text = de ? "Die Mail ist beschädigt und kann nicht gelesen werden."
              : "the mail is damaged and cannot be read.";
  } else {
    text = de ? "Ein Anhang kann nicht gefaxt werden: " : "an attachment cannot be faxed: ";
  }
  if (!detail.empty() && (code == "invalid_number" || code == "destination_not_allowed" ||
                          code == "mail_too_large" || text.back() == ' ')) {
    text += detail;
  }
  return text;
}

MailToFax::MailToFax(core::Service& service, core::MailStore& store, Outbox& outbox,
                     const core::Clock& clock, std::string stagingDir)
    : service_(service),
      store_(store),
      outbox_(outbox),
      clock_(clock),
      stagingDir_(std::move(stagingDir)) {}

std::vector<std::string> MailToFax::numbersFromSubject(const std::string& subject) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : subject + ",") {
    if (c == ',' || c == ';') {
      auto t = trim(cur);
      if (!t.empty()) out.push_back(t);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

bool MailToFax::allowed(const std::string& address, const std::vector<std::string>& allowList) {
  const std::string addr = lower(address);
  const auto at = addr.rfind('@');
  const std::string domain = at == std::string::npos ? "" : addr.substr(at + 1);
  for (const auto& entry : allowList) {
    const std::string e = lower(entry);
    if (e == "*" || e == addr) return true;
    if (!domain.empty() && (e == domain || e == "@" + domain)) return true;
  }
  return false;
}

std::string MailToFax::mailKey(const std::string& messageId, const std::string& raw) {
  unsigned char content[32];
  crypto_generichash(content, sizeof content, reinterpret_cast<const unsigned char*>(raw.data()),
                     raw.size(), nullptr, 0);
  const std::string both = messageId + '\n' + hex(content, sizeof content);
  unsigned char key[16];
  crypto_generichash(key, sizeof key, reinterpret_cast<const unsigned char*>(both.data()),
                     both.size(), nullptr, 0);
  return hex(key, sizeof key);
}

IntakeResult MailToFax::reject(const MailSettings& s, const std::string& key, const std::string& to,
                               const std::string& subject, const std::string& messageId,
                               const std::string& code, const std::string& reason) {
  const std::string text = rejectionText(s.language, code, reason);
  spdlog::warn("mail-to-fax: mail from {} ('{}') rejected: {} ({})", to.empty() ? "?" : to, subject,
               code, reason);
  const bool ownAddress = lower(to) == lower(s.smtp.from);
  if (!to.empty() && !ownAddress) {
    Templates templates(s.language, s.templatesDir);
    ComposeContext ctx{s, templates};
    auto message = buildMessage(composeRejection(ctx, to, subject, text, messageId));
    if (message) {
      core::OutboxMail m;
      m.kind = "reply";
      m.recipient = to;
      m.subject = subject;
      m.message = std::move(*message);
      (void)outbox_.enqueue(std::move(m));
    }
  }
  core::ProcessedMail p;
  p.key = key;
  p.messageId = messageId;
  p.state = "done";
  p.outcome = code;
  p.createdAt = clock_.now();
  if (auto r = store_.saveProcessedMail(p); !r) {
    return {IntakeOutcome::Retry, r.error().code, r.error().message, {}};
  }
  return {IntakeOutcome::Rejected, code, text, {}};
}

IntakeResult MailToFax::process(const std::string& raw, const MailSettings& s, bool tooLarge) {
  IntakeLimits limits;
  limits.maxBytes = static_cast<size_t>(s.maxMailBytes);
  auto parsed = parseMail(raw, tooLarge ? IntakeLimits{} : limits);
  const std::string key = mailKey(parsed ? parsed->messageId : "", raw);

  auto seen = store_.processedMail(key);
  if (!seen) return {IntakeOutcome::Retry, seen.error().code, seen.error().message, {}};
  if (*seen && (*seen)->state == "done") {
    spdlog::info("mail-to-fax: mail {} was taken before (faxes {}); removing it",
                 (*seen)->messageId, (*seen)->faxIds.size());
    return {IntakeOutcome::AlreadyDone, (*seen)->outcome, "", (*seen)->faxIds};
  }
  const bool resuming = seen->has_value();

  if (!parsed) return reject(s, key, "", "", "", parsed.error().code, parsed.error().message);
  const IncomingMail& mail = *parsed;
  const std::string replyTo = mail.autoSubmitted ? "" : mail.replyTo;
  auto rejectWith = [&](const std::string& code, const std::string& detail) {
    return reject(s, key, replyTo, mail.subject, mail.messageId, code, detail);
  };
  if (tooLarge) {
    return rejectWith("mail_too_large",
                      std::to_string(s.maxMailBytes / (1024 * 1024)) + " MB max.");
  }

  // Who sends: a device's address (its TSI and notify address), or the allow-list.
  auto devices = service_.devices();
  if (!devices) return {IntakeOutcome::Retry, devices.error().code, devices.error().message, {}};
  std::optional<core::Device> device;
  for (const auto& d : *devices) {
    if (!mail.from.empty() && lower(d.email) == mail.from) {
      device = d;
      break;
    }
  }
  if (mail.from.empty() || (!device && !allowed(mail.from, s.allowedSenders))) {
    return rejectWith("sender_not_allowed", mail.from);
  }

  const auto numbers = numbersFromSubject(mail.subject);
  if (numbers.empty()) return rejectWith("no_number", "");
  auto coreSettings = service_.settings();
  if (!coreSettings)
    return {IntakeOutcome::Retry, coreSettings.error().code, coreSettings.error().message, {}};
  // Every number is read and checked against the destination policy before any job exists, so
  // that a mail with one refused number sends nothing.
  for (const auto& n : numbers) {
    if (!looksLikeNumber(n)) return rejectWith("invalid_number", "'" + n + "'");
    auto check = service_.checkNumber(n);
    if (!check) return {IntakeOutcome::Retry, check.error().code, check.error().message, {}};
    if (!check->valid) return rejectWith("invalid_number", "'" + n + "' (" + check->reason + ")");
    if (!check->allowed) return rejectWith("destination_not_allowed", check->reason);
  }

  // The documents: the body first (body_and_attachments), then the attachments in order.
  struct Doc {
    std::string filename;
    std::string ext;
    const std::string* data;
  };
  std::vector<Doc> docs;
  const bool bodyMode = coreSettings->mailToFaxMode == core::MailToFaxMode::BodyAndAttachments;
  std::string body;
  if (bodyMode) {
    auto blank = [](const std::string& t) {
      return t.find_first_not_of(" \t\r\n") == std::string::npos;
    };
    if (!blank(mail.textBody)) {
      body = mail.textBody;
      docs.push_back({"mail.txt", "txt", &body});
    } else if (!blank(mail.htmlBody)) {
      body = mail.htmlBody;
      docs.push_back({"mail.html", "html", &body});
    }
  }
  for (const auto& a : mail.attachments) {
    docs.push_back({a.filename.empty() ? "attachment" : a.filename,
                    safeExtension(a.filename, a.contentType), &a.data});
  }
  if (mail.attachments.empty()) {
    if (mail.tnef) return rejectWith("tnef", "");
    if (docs.empty()) return rejectWith("no_attachment", "");
  }

  core::ProcessedMail record;
  record.key = key;
  record.messageId = mail.messageId;
  record.state = "pending";
  record.createdAt = clock_.now();
  if (resuming) record.faxIds = (*seen)->faxIds;
  if (!resuming) {
    if (auto r = store_.saveProcessedMail(record); !r)
      return {IntakeOutcome::Retry, r.error().code, r.error().message, {}};
  }

  // Jobs a crashed run already stored carry the key in their tag.
  std::map<std::string, std::int64_t> existing;
  if (resuming) {
    core::FaxQuery q;
    q.direction = core::Direction::Out;
    q.limit = 1000;
    q.withAttempts = false;
    if (auto list = service_.list(q)) {
      for (const auto& f : *list) {
        if (f.tag.rfind("mail:" + key.substr(0, 16) + ":", 0) == 0) existing[f.tag] = f.id;
      }
    }
  }

  std::error_code ec;
  fs::create_directories(stagingDir_, ec);
  std::string names;
  for (const auto& d : docs) names += (names.empty() ? "" : ", ") + d.filename;
  std::vector<std::int64_t> ids;
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (stopping_ && stopping_->load()) {
      return {IntakeOutcome::Retry, "stopping", "vfaxd is stopping", ids};
    }
    const std::string tag = "mail:" + key.substr(0, 16) + ":" + std::to_string(i + 1);
    if (auto it = existing.find(tag); it != existing.end()) {
      ids.push_back(it->second);
      continue;
    }
    core::SubmitRequest req;
    req.to = numbers[i];
    req.origin = "mail";
    req.tag = tag;
    req.subject = names;
    req.notify = device ? device->email : mail.from;
    if (device) req.deviceId = device->id;
    for (size_t j = 0; j < docs.size(); ++j) {
      const std::string path =
          (fs::path(stagingDir_) / (key.substr(0, 16) + "-" + std::to_string(i + 1) + "-" +
                                    std::to_string(j + 1) + "." + docs[j].ext))
              .string();
      if (!writeFile(path, *docs[j].data)) {
        for (const auto& u : req.files) fs::remove(u.path, ec);
        return {IntakeOutcome::Retry, "storage_error", "cannot write " + path, ids};
      }
      req.files.push_back({docs[j].filename, path});
    }
    auto fax = service_.submit(std::move(req));
    if (!fax) {
      const auto& e = fax.error();
      if (e.code == "storage_error" || e.code == "internal")
        return {IntakeOutcome::Retry, e.code, e.message, ids};
      if (ids.empty())
        return rejectWith(e.code == "invalid_number" || e.code == "destination_not_allowed"
                              ? e.code
                              : "unsupported_attachment",
                          e.message);
      // Some numbers have their job already: tell about the one that failed, keep the others.
      spdlog::warn("mail-to-fax: number '{}' of mail {} failed: {}", numbers[i], mail.messageId,
                   e.message);
      continue;
    }
    ids.push_back(fax->id);
    // A deliberately injected fault for the exactly-once test: die between two jobs of a mail.
    if (const char* crash = std::getenv("VFAX_TEST_CRASH_BETWEEN_JOBS");
        crash && *crash == '1' && i + 1 < numbers.size()) {
      spdlog::critical("mail-to-fax: injected crash between the jobs of a mail");
      kill(getpid(), SIGKILL);
    }
  }
  record.state = "done";
  record.outcome = "faxed";
  record.faxIds = ids;
  if (auto r = store_.saveProcessedMail(record); !r)
    return {IntakeOutcome::Retry, r.error().code, r.error().message, ids};
  spdlog::info("mail-to-fax: mail {} from {} -> {} fax job(s)", mail.messageId, mail.from,
               ids.size());
  return {IntakeOutcome::Faxed, "faxed", "", ids};
}

}  // namespace vfax::mail
