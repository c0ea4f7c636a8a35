#include "mail/templates.h"

#include <fstream>
#include <sstream>

namespace vfax::mail {
namespace {

const std::map<std::string, std::string>& builtIn(const std::string& language) {
  static const std::map<std::string, std::string> kDe = {
      {"fax_received",
       "Subject: Fax von {{sender}} ({{pages}} Seite(n))\n\n"
       "Sie haben ein Fax erhalten.\n\n"
       "Absender:        {{sender}}\n"
       "Kennung:         {{remote_id}}\n"
       "An:              {{device}} ({{extension}})\n"
       "Seiten:          {{pages}}\n"
       "Empfangen:       {{time}}\n"
       "Dauer:           {{duration}}\n\n"
       "Das Fax ist angehängt.\n"},
      {"status",
       "Subject: Fax an {{number}}: {{state}}\n\n"
       "Ihr Fax an {{number}} ({{subject}}) ist jetzt: {{state}}.\n"
       "{{reason}}\n"
       "Auftrag:         {{fax_id}}\n"
       "Seiten:          {{pages_total}}\n"
       "Versuche:        {{attempts}}\n"},
      {"status_final",
       "Subject: Fax an {{number}}: {{state}}\n\n"
       "Ihr Fax an {{number}} ({{subject}}) ist abgeschlossen: {{state}}.\n"
       "{{reason}}\n"
       "Sendebericht\n"
       "------------\n{{report}}"},
      {"rejected",
       "Subject: Fax nicht gesendet\n\n"
       "Ihre Mail an den Faxdienst wurde nicht als Fax gesendet.\n\n"
       "Grund: {{reason}}\n\n"
       "So senden Sie ein Fax per Mail: die Faxnummer (mit Amtsholung) in den Betreff, "
       "mehrere Nummern durch Komma oder Semikolon getrennt, und das Dokument (PDF, TIFF) "
       "als Anhang.\n"},
      {"print_expired",
       "Subject: Druckauftrag verfallen (Fax {{fax_id}})\n\n"
       "Ihr Druckauftrag an den Faxdrucker ({{pages_total}} Seite(n)) wurde nicht gesendet: "
       "niemand hat ihm rechtzeitig eine Faxnummer gegeben.\n\n"
       "Grund: {{reason}}\n\n"
       "Drucken Sie das Dokument erneut und geben Sie die Nummer auf der vfax-Seite an, oder "
       "schreiben Sie sie als Steuerfeld in das Dokument (z. B. @@+FAX:0891234567@@).\n"},
      {"print_refused",
       "Subject: Druckauftrag nicht gefaxt: {{job}}\n\n"
       "Ihr Druckauftrag \"{{job}}\" an den Faxdrucker wurde nicht als Fax gesendet.\n\n"
       "Grund: {{reason}}\n\n"
       "Die Faxnummer steht als Steuerfeld im Dokument, z. B. @@+FAX:0891234567@@ (auch weiß "
       "oder klein gedruckt); es wird auf der gesendeten Seite unkenntlich gemacht.\n"},
      {"test",
       "Subject: vfax: Testmail\n\n"
       "Diese Testmail zeigt, dass vfax über {{server}} Mails versenden kann.\n"},
  };
  static const std::map<std::string, std::string> kEn = {
      {"fax_received",
       "Subject: Fax from {{sender}} ({{pages}} page(s))\n\n"
       "You have received a fax.\n\n"
       "From:            {{sender}}\n"
       "Station id:      {{remote_id}}\n"
       "To:              {{device}} ({{extension}})\n"
       "Pages:           {{pages}}\n"
       "Received:        {{time}}\n"
       "Duration:        {{duration}}\n\n"
       "The fax is attached.\n"},
      {"status",
       "Subject: Fax to {{number}}: {{state}}\n\n"
       "Your fax to {{number}} ({{subject}}) is now: {{state}}.\n"
       "{{reason}}\n"
       "Job:             {{fax_id}}\n"
       "Pages:           {{pages_total}}\n"
       "Attempts:        {{attempts}}\n"},
      {"status_final",
       "Subject: Fax to {{number}}: {{state}}\n\n"
       "Your fax to {{number}} ({{subject}}) is finished: {{state}}.\n"
       "{{reason}}\n"
       "Transmission report\n"
       "-------------------\n{{report}}"},
      {"rejected",
       "Subject: Fax not sent\n\n"
       "Your mail to the fax service was not sent as a fax.\n\n"
       "Reason: {{reason}}\n\n"
       "To send a fax by mail: put the fax number (with the outside-line prefix) in the subject, "
       "several numbers separated by commas or semicolons, and attach the document (PDF, TIFF).\n"},
      {"print_expired",
       "Subject: Print job expired (fax {{fax_id}})\n\n"
       "Your print job to the fax printer ({{pages_total}} page(s)) was not sent: nobody gave "
       "it a fax number in time.\n\n"
       "Reason: {{reason}}\n\n"
       "Print the document again and give the number on the vfax page, or write it into the "
       "document as a control field (e.g. @@+FAX:0891234567@@).\n"},
      {"print_refused",
       "Subject: Print job not faxed: {{job}}\n\n"
       "Your print job \"{{job}}\" to the fax printer was not sent as a fax.\n\n"
       "Reason: {{reason}}\n\n"
       "The fax number goes into the document as a control field, e.g. @@+FAX:0891234567@@ "
       "(white or tiny text works too); it is blanked out on the page that is sent.\n"},
      {"test",
       "Subject: vfax: test mail\n\n"
       "This test mail shows that vfax can send mail through {{server}}.\n"},
  };
  return language == "en" ? kEn : kDe;
}

const std::map<std::string, std::string>& words(const std::string& language) {
  static const std::map<std::string, std::string> kDe = {
      {"queued", "in der Warteschlange"},
      {"converting", "wird umgewandelt"},
      {"waiting", "wartet auf den nächsten Versuch"},
      {"dialing", "wählt"},
      {"sending", "wird gesendet"},
      {"done", "gesendet"},
      {"failed", "fehlgeschlagen"},
      {"canceled", "abgebrochen"},
      {"received", "empfangen"},
      {"receiving", "wird empfangen"},
      {"held", "angehalten (wartet auf eine Nummer)"},
      {"reason", "Grund"},
      {"retry", "Nächster Versuch"},
      {"pages_sent", "Seiten bestätigt"},
      {"of", "von"},
      {"remote_id", "Gegenstelle"},
      {"bit_rate", "Bitrate"},
      {"ecm", "ECM"},
      {"media", "Übertragung"},
      {"media_audio", "Audio (G.711)"},
      {"media_t38", "T.38"},
      {"duration", "Dauer"},
      {"attempts", "Versuche"},
      {"attempt", "Versuch"},
      {"yes", "ja"},
      {"no", "nein"},
      {"unknown", "unbekannt"},
      {"ok", "erfolgreich"}};
  static const std::map<std::string, std::string> kEn = {
      {"queued", "queued"},
      {"converting", "being converted"},
      {"waiting", "waiting for the next attempt"},
      {"dialing", "dialing"},
      {"sending", "being sent"},
      {"done", "sent"},
      {"failed", "failed"},
      {"canceled", "canceled"},
      {"received", "received"},
      {"receiving", "being received"},
      {"held", "held (waiting for a number)"},
      {"reason", "Reason"},
      {"retry", "Next attempt"},
      {"pages_sent", "Pages confirmed"},
      {"of", "of"},
      {"remote_id", "Remote station"},
      {"bit_rate", "Bit rate"},
      {"ecm", "ECM"},
      {"media", "Media"},
      {"media_audio", "audio (G.711)"},
      {"media_t38", "T.38"},
      {"duration", "Duration"},
      {"attempts", "Attempts"},
      {"attempt", "Attempt"},
      {"yes", "yes"},
      {"no", "no"},
      {"unknown", "unknown"},
      {"ok", "successful"}};
  return language == "en" ? kEn : kDe;
}

}  // namespace

Templates::Templates(std::string language, std::string overrideDir)
    : language_(language == "en" ? "en" : "de"), overrideDir_(std::move(overrideDir)) {}

std::string Templates::source(const std::string& name) const {
  if (!overrideDir_.empty()) {
    std::ifstream in(overrideDir_ + "/" + language_ + "/" + name + ".txt", std::ios::binary);
    if (in) {
      std::ostringstream s;
      s << in.rdbuf();
      if (!s.str().empty()) return s.str();
    }
  }
  const auto& b = builtIn(language_);
  auto it = b.find(name);
  return it == b.end() ? std::string() : it->second;
}

std::string Templates::substitute(const std::string& text,
                                  const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, i, open - i);
    auto it = vars.find(text.substr(open + 2, close - open - 2));
    if (it != vars.end()) out += it->second;
    i = close + 2;
  }
  out.append(text, i, std::string::npos);
  return out;
}

MailText Templates::render(const std::string& name,
                           const std::map<std::string, std::string>& vars) const {
  std::string text = source(name);
  MailText out;
  if (text.rfind("Subject:", 0) == 0) {
    const size_t eol = text.find('\n');
    std::string subject = text.substr(8, eol == std::string::npos ? std::string::npos : eol - 8);
    while (!subject.empty() && (subject.front() == ' ')) subject.erase(0, 1);
    while (!subject.empty() && (subject.back() == '\r' || subject.back() == ' '))
      subject.pop_back();
    out.subject = substitute(subject, vars);
    text = eol == std::string::npos ? "" : text.substr(eol + 1);
    while (!text.empty() && (text.front() == '\n' || text.front() == '\r')) text.erase(0, 1);
  }
  out.body = substitute(text, vars);
  // A subject is one line, whatever a variable held.
  for (auto& c : out.subject) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string Templates::word(const std::string& key) const {
  const auto& w = words(language_);
  auto it = w.find(key);
  return it == w.end() ? key : it->second;
}

}  // namespace vfax::mail
