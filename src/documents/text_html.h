#pragma once
// Text and templates as HTML for MuPDF's HTML engine: plain text becomes pages of monospaced
// text (form feeds start a new page, long lines wrap), and the cover page template is filled
// with escaped values.
#include <map>
#include <string>
#include <string_view>

namespace vfax::documents {

/// `text` in UTF-8, or Latin-1 when it is not valid UTF-8 (old mail and printer output).
std::string textToHtml(std::string_view text);

/// &, <, >, " and ' as entities; invalid UTF-8 bytes as U+FFFD.
std::string htmlEscape(std::string_view s);

/// Replaces every {{key}} of `tmpl` with the escaped value of `fields[key]` ({{comment}} keeps its
/// line breaks as <br>); unknown keys become empty.
std::string fillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& fields);

/// The built-in cover page with labels in `language` ("de", "en", else German and English side
/// by side); fields sender, sender_fax, recipient, recipient_fax, date, pages, subject, comment.
std::string defaultCoverTemplate(std::string_view language = "de+en");

bool isValidUtf8(std::string_view s);

}  // namespace vfax::documents
