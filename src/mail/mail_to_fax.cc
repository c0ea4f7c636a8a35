#include "mail/mail_to_fax.h"

#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "mail/address.h"
#include "mail/composer.h"
#include "mail/mime_build.h"
#include "mail/mime_intake.h"

namespace fs = std::filesystem;

namespace vfax::mail {
namespace {

constexpr core::Millis kReplyWindow = 3600 * 1000;  // replies_per_sender_per_hour counts this

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

// A number plan message names the input ("'x' is not a valid fax number: why"); a reply gives
// only the why.
std::string withoutInput(const std::string& message) {
  static const std::string kMark = "is not a valid fax number: ";
  const auto at = message.find(kMark);
  return at == std::string::npos ? "not a valid fax number" : message.substr(at + kMark.size());
}

// Why a verified sender's PIN did not count (SenderAuthResult::replyReason), in the language.
std::string senderAuthText(bool de, const std::string& key) {
  static const std::map<std::string, std::pair<const char*, const char*>> kTexts = {
      {"pin_missing", {"Der Betreff enthält keine PIN.", "the subject holds no PIN."}},
      {"pin_several",
       {"Der Betreff enthält mehr als eine PIN.", "the subject holds more than one PIN."}},
      {"pin_no_device",
       {"Eine PIN gilt nur für die Adresse eines Faxgeräts.",
        "a PIN only counts for the address of a fax device."}},
      {"pin_not_set",
       {"Ihr Faxgerät hat keine PIN; bitten Sie die Administration, eine zu setzen.",
        "your fax device has no PIN; ask the administrator to set one."}},
      {"pin_locked",
       {"Zu viele falsche PINs in der letzten Stunde; bitte später erneut versuchen.",
        "too many wrong PINs in the last hour; try again later."}},
      {"pin_wrong", {"Die PIN im Betreff ist falsch.", "the PIN in the subject is wrong."}},
  };
  auto it = kTexts.find(key);
  if (it == kTexts.end()) {
    return de ? "Der Absender ist nicht nachgewiesen." : "nothing proves who sent it.";
  }
  return de ? it->second.first : it->second.second;
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
  } else if (code == "sender_not_authenticated") {
    text = de ? "Ihre Mail konnte nicht als von Ihnen stammend bestätigt werden: "
              : "the mail could not be confirmed as yours: ";
  } else if (code == "too_many_numbers") {
    text = de ? "Zu viele Faxnummern im Betreff: " : "too many fax numbers in the subject: ";
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
  if (code == "sender_not_authenticated") return text + senderAuthText(de, detail);
  if (!detail.empty() &&
      (code == "invalid_number" || code == "destination_not_allowed" || code == "mail_too_large" ||
       code == "too_many_numbers" || text.back() == ' ')) {
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
      stagingDir_(std::move(stagingDir)),
      pinGuard_(clock) {}

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

std::string MailToFax::replyBlocked(const MailSettings& s, const IncomingMail& mail,
                                    const std::string& to) {
  // RFC 3834: never answer automatic mail, lists or bounces.
  if (mail.autoSubmitted) return "it is auto-submitted";
  if (mail.bulk) return "it is list or bulk mail";
  if (mail.nullReturnPath) return "its Return-Path is empty";
  // The sender's address is the attacker's choice: a reply goes only to one bare address.
  if (!checkAddress(to, "from")) return "its sender address is not a single plain address";
  if (lower(to) == lower(s.smtp.from)) return "it is from vfax's own address";
  if (s.repliesPerSenderPerHour <= 0) return "replies are off (replies_per_sender_per_hour = 0)";
  auto sent = store_.countMailsTo("reply", to, clock_.now() - kReplyWindow);
  if (!sent) return "the reply count cannot be read (" + sent.error().message + ")";
  if (*sent >= s.repliesPerSenderPerHour) {
    return std::to_string(*sent) + " replies went to that address in the last hour";
  }
  return {};
}

IntakeResult MailToFax::reject(const MailSettings& s, const std::string& key,
                               const IncomingMail* mail, const std::string& to,
                               const std::string& noReplyWhy, const std::string& code,
                               const std::string& reason) {
  const std::string text = rejectionText(s.language, code, reason);
  std::string why = noReplyWhy;
  if (!to.empty() && mail) why = replyBlocked(s, *mail, to);
  // Outside text (addresses, Message-ID) only escaped; never the subject or the body.
  spdlog::warn("mail-to-fax: mail {} from {} rejected: {} ({}); {}",
               mail ? logSafe(mail->messageId) : "?",
               mail && !mail->from.empty() ? logSafe(mail->from) : "?", code, logSafe(reason, 300),
               why.empty() ? "reply to " + logSafe(to) : "no reply: " + why);
  if (why.empty() && !to.empty()) {
    Templates templates(s.language, s.templatesDir);
    ComposeContext ctx{s, templates};
    // In-Reply-To only with a Message-ID that is one (no spaces, brackets or controls).
    std::string inReplyTo = mail ? mail->messageId : "";
    if (std::any_of(inReplyTo.begin(), inReplyTo.end(), [](unsigned char c) {
          return c <= 0x20 || c >= 0x7f || c == '<' || c == '>';
        })) {
      inReplyTo.clear();
    }
    OutgoingMail reply = composeRejection(ctx, to, text, inReplyTo);
    auto message = buildMessage(reply);
    if (message) {
      core::OutboxMail m;
      m.kind = "reply";
      m.recipient = lower(to);
      m.subject = reply.subject;
      m.message = std::move(*message);
      (void)outbox_.enqueue(std::move(m));
    }
  }
  core::ProcessedMail p;
  p.key = key;
  p.messageId = mail ? mail->messageId : "";
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
                 logSafe((*seen)->messageId), (*seen)->faxIds.size());
    return {IntakeOutcome::AlreadyDone, (*seen)->outcome, "", (*seen)->faxIds};
  }
  const bool resuming = seen->has_value();

  if (!parsed) {
    return reject(s, key, nullptr, "", "the mail cannot be read", parsed.error().code,
                  parsed.error().message);
  }
  const IncomingMail& mail = *parsed;
  // The PIN leaves the subject before the subject is used for anything.
  const SubjectPin pin = extractPin(mail.subject);
  const std::string& subject = pin.subject;

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
  const SenderAuthResult auth = authenticateSender(mail, pin, device, s, pinGuard_);
  // Replies go to the From, never to Reply-To, and only when the From is proven.
  const std::string replyTo = auth.fromVerified ? mail.from : "";
  const std::string noReply = auth.fromVerified ? "" : "the sender is not authenticated";
  auto rejectWith = [&](const std::string& code, const std::string& detail) {
    return reject(s, key, &mail, replyTo, noReply, code, detail);
  };
  if (mail.from.empty() || (!device && !allowed(mail.from, s.allowedSenders))) {
    return rejectWith("sender_not_allowed", mail.from);
  }
  if (!auth.authenticated) {
    spdlog::warn("mail-to-fax: mail {} from {}: sender not authenticated: {}",
                 logSafe(mail.messageId), logSafe(mail.from), logSafe(auth.how, 400));
    return rejectWith("sender_not_authenticated", auth.replyReason);
  }
  spdlog::info("mail-to-fax: mail {} from {}: sender authenticated by {}", logSafe(mail.messageId),
               logSafe(mail.from), logSafe(auth.how, 400));
  // A disabled user's device sends nothing by mail either.
  if (device && device->owner) {
    auto owner = service_.accounts().user(*device->owner);
    if (owner && !owner->enabled) return rejectWith("sender_not_allowed", mail.from);
  }
  if (tooLarge) {
    return rejectWith("mail_too_large",
                      std::to_string(s.maxMailBytes / (1024 * 1024)) + " MB max.");
  }

  const bool de = s.language != "en";
  const auto numbers = numbersFromSubject(subject);
  if (numbers.empty()) return rejectWith("no_number", "");
  if (static_cast<int>(numbers.size()) > s.maxNumbersPerMail) {
    return rejectWith(
        "too_many_numbers",
        std::to_string(numbers.size()) + (de ? ", höchstens " : ", at most ") +
            std::to_string(s.maxNumbersPerMail) +
            (de ? " pro Mail; nichts wurde gesendet." : " per mail; nothing was sent."));
  }
  auto coreSettings = service_.settings();
  if (!coreSettings)
    return {IntakeOutcome::Retry, coreSettings.error().code, coreSettings.error().message, {}};
  // Replies name a number by its place, never by what the subject said.
  auto place = [&](std::size_t i) {
    return (de ? "Nummer " : "number ") + std::to_string(i + 1) + (de ? " von " : " of ") +
           std::to_string(numbers.size()) + (de ? " im Betreff" : " in the subject");
  };
  // Every number is read and checked against the destination policy before any job exists, so
  // that a mail with one refused number sends nothing.
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const std::string& n = numbers[i];
    if (!looksLikeNumber(n)) {
      return rejectWith("invalid_number",
                        place(i) + (de ? " enthält Zeichen, die keine Faxnummer hat"
                                       : " holds characters a fax number has not"));
    }
    auto check = service_.checkNumber(n);
    if (!check) return {IntakeOutcome::Retry, check.error().code, check.error().message, {}};
    if (!check->valid)
      return rejectWith("invalid_number", place(i) + ": " + withoutInput(check->reason));
    if (!check->allowed)
      return rejectWith("destination_not_allowed", place(i) + ": " + check->reason);
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
    if (device) {
      req.deviceId = device->id;
      req.userId = device->owner;  // a user device's owner: their daily page limit applies
    }
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
      if (ids.empty()) {
        if (e.code == "invalid_number")
          return rejectWith("invalid_number", place(i) + ": " + withoutInput(e.message));
        if (e.code == "destination_not_allowed")
          return rejectWith(e.code, place(i) + ": " + e.message);
        return rejectWith("unsupported_attachment", e.message);
      }
      // Some numbers have their job already: tell about the one that failed, keep the others.
      spdlog::warn("mail-to-fax: {} of mail {} failed: {}", place(i), logSafe(mail.messageId),
                   logSafe(e.message, 300));
      continue;
    }
    ids.push_back(fax->id);
    core::Caller sender;
    sender.userId = device && device->owner ? *device->owner : 0;
    sender.username = mail.from;
    sender.credential = "mail";
    service_.accounts().record(sender, "fax.send", "fax " + std::to_string(fax->id),
                               "to " + fax->number + " by Mail-to-Fax");
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
  spdlog::info("mail-to-fax: mail {} from {} -> {} fax job(s)", logSafe(mail.messageId),
               logSafe(mail.from), ids.size());
  return {IntakeOutcome::Faxed, "faxed", "", ids};
}

}  // namespace vfax::mail
