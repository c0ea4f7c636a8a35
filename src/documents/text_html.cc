#include "documents/text_html.h"

namespace vfax::documents {
namespace {

void appendUtf8(std::string* out, unsigned cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t sequenceLength(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80                ? 1
                  : c >= 0xC2 && c < 0xE0 ? 2
                  : c >= 0xE0 && c < 0xF0 ? 3
                  : c >= 0xF0 && c < 0xF5 ? 4
                                          : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// UTF-8 with tabs expanded to 8 columns, for <pre>.
std::string normaliseText(std::string_view text, bool utf8) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  int column = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\t') {
      do out.push_back(' ');
      while (++column % 8 != 0);
      ++i;
      continue;
    }
    if (c == '\n' || c == '\f') column = -1;
    if (c == '\r') {  // CRLF and lone CR both end a line
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
        continue;
      }
      out.push_back('\n');
      column = 0;
      ++i;
      continue;
    }
    if (utf8) {
      const std::size_t n = std::max<std::size_t>(1, sequenceLength(text, i));
      out.append(text.substr(i, n));
      i += n;
    } else {
      appendUtf8(&out, static_cast<unsigned char>(c));
      ++i;
    }
    ++column;
  }
  return out;
}

}  // namespace

bool isValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const char c = s[i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\f') {
          out.push_back(' ');  // other control characters would only confuse the layout
        } else {
          out.append(s.substr(i, n));
        }
    }
    i += n;
  }
  return out;
}

std::string textToHtml(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const std::string body = normaliseText(text, isValidUtf8(text));
  // Courier-like monospace at 10 pt gives 80 columns within the margins of A4 and Letter;
  // pre-wrap keeps the layout of the text and wraps what is longer.
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
      "@page{margin:15mm 15mm 15mm 20mm}body{margin:0}"
      "pre{font-family:monospace;font-size:10pt;line-height:1.2;white-space:pre-wrap;margin:0}"
      "pre.page{page-break-before:always}"
      "</style></head><body><pre>";
  std::size_t start = 0;
  for (;;) {
    const std::size_t ff = body.find('\f', start);
    html += htmlEscape(std::string_view(body).substr(start, ff - start));
    if (ff == std::string::npos) break;
    html += "</pre><pre class=\"page\">";
    start = ff + 1;
  }
  html += "</pre></body></html>";
  return html;
}

std::string fillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& fields) {
  std::string out;
  out.reserve(tmpl.size() + 256);
  std::size_t pos = 0;
  for (;;) {
    const std::size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(pos, open - pos));
    std::string key(tmpl.substr(open + 2, close - open - 2));
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    if (auto it = fields.find(key); it != fields.end()) {
      std::string value = htmlEscape(it->second);
      if (key == "comment") {
        std::string withBreaks;
        for (char c : value) {
          if (c == '\n') {
            withBreaks += "<br>";
          } else if (c != '\r') {
            withBreaks.push_back(c);
          }
        }
        value = std::move(withBreaks);
      }
      out += value;
    }
    pos = close + 2;
  }
  out.append(tmpl.substr(pos));
  return out;
}

std::string defaultCoverTemplate(std::string_view language) {
  // MuPDF lays out blocks well but tables only roughly, so each field is a label line and a
  // value line; values are large enough to survive normal resolution and OCR.
  static constexpr std::string_view kGerman[] = {"An", "Von", "Datum", "Seiten", "Betreff"};
  static constexpr std::string_view kEnglish[] = {"To", "From", "Date", "Pages", "Subject"};
  std::string page = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Telefax</title>
<style>
@page { margin: 20mm 20mm 20mm 25mm }
body { font-family: sans-serif; margin: 0 }
h1 { font-size: 36pt; margin: 0 0 3mm 0 }
.rule { border-top: 2pt solid black; margin: 0 0 6mm 0 }
.k { font-size: 10pt; font-weight: bold; margin: 4mm 0 1mm 0 }
.en { font-weight: normal }
.v { font-size: 15pt; margin: 0 0 1mm 0 }
.comment { margin-top: 10mm; padding-top: 5mm; border-top: 1pt solid black; font-size: 14pt;
           line-height: 1.4 }
</style></head>
<body>
<h1>TELEFAX</h1>
<div class="rule"></div>
<p class="k">{{label0}}</p>
<p class="v">{{recipient}} {{recipient_fax}}</p>
<p class="k">{{label1}}</p>
<p class="v">{{sender}} {{sender_fax}}</p>
<p class="k">{{label2}}</p>
<p class="v">{{date}}</p>
<p class="k">{{label3}}</p>
<p class="v">{{pages}}</p>
<p class="k">{{label4}}</p>
<p class="v">{{subject}}</p>
<div class="comment">{{comment}}</div>
</body></html>
)";
  // The labels are ours, not user input: they go in as they are (not through fillTemplate).
  for (std::size_t i = 0; i < 5; ++i) {
    std::string label;
    if (language == "de") {
      label = kGerman[i];
    } else if (language == "en") {
      label = kEnglish[i];
    } else {
      label =
          std::string(kGerman[i]) + " <span class=\"en\">/ " + std::string(kEnglish[i]) + "</span>";
    }
    const std::string key = "{{label" + std::to_string(i) + "}}";
    page.replace(page.find(key), key.size(), label);
  }
  return page;
}

}  // namespace vfax::documents
