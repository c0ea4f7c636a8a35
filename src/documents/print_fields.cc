#include "documents/print_fields.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <string_view>

namespace vfax::documents {
namespace {

using core::makeError;

// A field's value ends within this many characters of its opening marker, or it is no field:
// a stray "@@+FAX:" must not swallow the rest of the page.
constexpr std::size_t kMaxValueChars = 256;
constexpr std::size_t kMaxTagChars = 100;
constexpr std::size_t kMaxPatternChars = 2000;
constexpr std::size_t kMaxPatterns = 32;
// PCRE2 limits per match attempt: far above what a sane field pattern needs on a line of text,
// far below what makes a hostile pattern or text costly.
constexpr std::uint32_t kMatchLimit = 100'000;
constexpr std::uint32_t kDepthLimit = 5'000;
constexpr std::uint32_t kHeapLimitKiB = 16 * 1024;

bool isSpace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

char32_t lowerAscii(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

void appendUtf8(std::string* out, char32_t c) {
  if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Whitespace runs become one space, control characters go, the ends are trimmed; at most
// `maxChars` characters are kept.
std::string collapse(const std::vector<FieldChar>& chars, std::size_t begin, std::size_t end,
                     std::size_t maxChars) {
  std::string out;
  std::size_t kept = 0;
  bool space = false;
  for (std::size_t i = begin; i < end && kept < maxChars; ++i) {
    const char32_t c = chars[i].c;
    if (isSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (c < 0x20 || c == 0x7F) continue;
    if (space) {
      out.push_back(' ');
      ++kept;
      space = false;
    }
    appendUtf8(&out, c);
    ++kept;
  }
  return out;
}

std::string collapseUtf8(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (c < 0x20 || c == 0x7F) continue;
    if (space) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return out;
}

std::size_t utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The boxes of chars[begin, end): one union per line. A line ends at '\n', or where a
// character does not touch the current box (tolerance: half its smaller side), which also keeps
// vertical text (a page turned by /Rotate) in one box.
std::vector<FieldBox> boxesOf(int page, const std::vector<FieldChar>& chars, std::size_t begin,
                              std::size_t end) {
  std::vector<FieldBox> boxes;
  bool open = false;
  for (std::size_t i = begin; i < end; ++i) {
    const FieldChar& c = chars[i];
    if (c.c == '\n') {
      open = false;
      continue;
    }
    if (!(c.x1 > c.x0) || !(c.y1 > c.y0)) continue;  // also drops NaN boxes
    if (open) {
      FieldBox& b = boxes.back();
      const float tol = std::min(c.x1 - c.x0, c.y1 - c.y0) / 2;
      const bool touches =
          c.x0 <= b.x1 + tol && c.x1 >= b.x0 - tol && c.y0 <= b.y1 + tol && c.y1 >= b.y0 - tol;
      if (touches) {
        b.x0 = std::min(b.x0, c.x0);
        b.y0 = std::min(b.y0, c.y0);
        b.x1 = std::max(b.x1, c.x1);
        b.y1 = std::max(b.y1, c.y1);
        continue;
      }
    }
    boxes.push_back(FieldBox{page, c.x0, c.y0, c.x1, c.y1});
    open = true;
  }
  return boxes;
}

std::string checkPriority(const std::string& v, std::string* out) {
  if (v.empty() || v.size() > 3 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "The priority \"" + v + "\" is not a number from 0 to 255.";
  }
  int prio = 0;
  std::from_chars(v.data(), v.data() + v.size(), prio);  // at most 3 digits: cannot fail
  if (prio > 255) return "The priority " + v + " is above 255.";
  *out = std::to_string(prio);
  return {};
}

std::string checkNotify(const std::string& v, std::string* out) {
  const std::size_t at = v.rfind('@');
  const bool ok = !v.empty() && v.size() <= 254 && at != std::string::npos && at > 0 &&
                  at + 1 < v.size() && std::none_of(v.begin(), v.end(), [](char c) {
                    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' ||
                           c == ',' || c == ';' || c == '"' || c == 0x7F;
                  });
  if (!ok) return "\"" + v + "\" is not an e-mail address to notify.";
  *out = v;
  return {};
}

std::string checkTag(const std::string& v, std::string* out) {
  if (v.empty()) return "The tag is empty.";
  if (utf8Length(v) > kMaxTagChars) {
    return "The tag is longer than " + std::to_string(kMaxTagChars) + " characters.";
  }
  *out = v;
  return {};
}

std::string checkNumber(const std::string& v, std::string* out) {
  *out = normaliseFieldNumber(v);
  if (out->empty()) return "\"" + v + "\" is not a fax number.";
  return {};
}

// Value check per kind: the normalised value, or a problem sentence.
std::string checkValue(FieldKind kind, const std::string& collapsed, std::string* value) {
  switch (kind) {
    case FieldKind::kNumber:
      return checkNumber(collapsed, value);
    case FieldKind::kTag:
      return checkTag(collapsed, value);
    case FieldKind::kNotify: {
      std::string compact;
      for (char c : collapsed) {
        if (c != ' ') compact.push_back(c);
      }
      return checkNotify(compact, value);
    }
    case FieldKind::kPriority: {
      std::string compact;
      for (char c : collapsed) {
        if (c != ' ') compact.push_back(c);
      }
      return checkPriority(compact, value);
    }
  }
  return {};
}

const char* kGroupNames[] = {"number", "tag", "notify", "prio"};
constexpr FieldKind kGroupKinds[] = {FieldKind::kNumber, FieldKind::kTag, FieldKind::kNotify,
                                     FieldKind::kPriority};

std::string pcreMessage(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof buffer) < 0)
    return "error " + std::to_string(code);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

const char* fieldKindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kNumber:
      return "number";
    case FieldKind::kTag:
      return "tag";
    case FieldKind::kNotify:
      return "notify";
    case FieldKind::kPriority:
      return "prio";
  }
  return "number";
}

std::string normaliseFieldNumber(const std::string& text) {
  // "+49 (0)89 ..." writes the national trunk zero in brackets: it is not dialled after the
  // country code.
  std::string in = text;
  const std::size_t first = in.find_first_not_of(' ');
  if (first != std::string::npos && in[first] == '+') {
    for (std::size_t at = in.find("(0)"); at != std::string::npos; at = in.find("(0)", at)) {
      in.erase(at, 3);
    }
  }
  std::string out;
  std::size_t digits = 0;
  bool seenContent = false;
  for (const char c : in) {
    if (c >= '0' && c <= '9') {
      out.push_back(c);
      ++digits;
      seenContent = true;
    } else if (c == '+') {
      if (seenContent) return {};
      out.push_back(c);
      seenContent = true;
    } else if (c == '-' || c == '/' || c == '(' || c == ')' || c == '.') {
      seenContent = true;
    } else if (c != ' ') {
      return {};
    }
  }
  if (digits == 0 || digits > 32) return {};
  return out;
}

// ---------------------------------------------------------------------------------------------
// Admin patterns

struct FieldPatterns::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_context* match = nullptr;
  std::vector<std::pair<FieldKind, int>> groups;  // kind, group number
  int index = 0;                                  // 1-based, for "patternN"
  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() {
    pcre2_match_context_free(match);
    pcre2_code_free(code);
  }
};

FieldPatterns::FieldPatterns() = default;
FieldPatterns::~FieldPatterns() = default;
FieldPatterns::FieldPatterns(const FieldPatterns&) = default;
FieldPatterns& FieldPatterns::operator=(const FieldPatterns&) = default;
std::size_t FieldPatterns::size() const { return patterns_.size(); }

namespace {

// One match attempt over `subject` from `offset`: >0 on a match, PCRE2_ERROR_NOMATCH, or a
// limit error.
int matchOnce(const FieldPatterns::Compiled& p, std::string_view subject, std::size_t offset,
              pcre2_match_data* data) {
  return pcre2_match(p.code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), offset,
                     PCRE2_NO_UTF_CHECK, data, p.match);
}

}  // namespace

core::Result<FieldPatterns> compileFieldPatterns(const std::vector<std::string>& patterns) {
  FieldPatterns out;
  if (patterns.size() > kMaxPatterns) {
    return makeError("bad_pattern",
                     "At most " + std::to_string(kMaxPatterns) + " field patterns are allowed.");
  }
  for (std::size_t n = 0; n < patterns.size(); ++n) {
    const std::string& source = patterns[n];
    const std::string which = "Field pattern " + std::to_string(n + 1);
    if (source.empty()) return makeError("bad_pattern", which + " is empty.");
    if (source.size() > kMaxPatternChars) {
      return makeError("bad_pattern", which + " is longer than " +
                                          std::to_string(kMaxPatternChars) + " characters.");
    }
    auto compiled = std::make_shared<FieldPatterns::Compiled>();
    compiled->index = static_cast<int>(n + 1);
    int code = 0;
    PCRE2_SIZE at = 0;
    pcre2_compile_context* cctx = pcre2_compile_context_create(nullptr);
    if (cctx == nullptr) return makeError("bad_pattern", which + ": out of memory.");
    pcre2_set_max_pattern_length(cctx, kMaxPatternChars);
    pcre2_set_parens_nest_limit(cctx, 50);
    compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &at, cctx);
    pcre2_compile_context_free(cctx);
    if (compiled->code == nullptr) {
      return makeError("bad_pattern",
                       which + " is not a valid regular expression: " + pcreMessage(code) +
                           " at offset " + std::to_string(at) + ".");
    }
    std::uint32_t count = 0, entrySize = 0;
    PCRE2_SPTR table = nullptr;
    pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMEENTRYSIZE, &entrySize);
    pcre2_pattern_info(compiled->code, PCRE2_INFO_NAMETABLE, &table);
    for (std::uint32_t e = 0; e < count; ++e) {
      const PCRE2_SPTR entry = table + e * entrySize;
      const int group = (entry[0] << 8) | entry[1];
      const std::string name(reinterpret_cast<const char*>(entry + 2));
      bool known = false;
      for (std::size_t k = 0; k < std::size(kGroupNames); ++k) {
        if (name == kGroupNames[k]) {
          compiled->groups.emplace_back(kGroupKinds[k], group);
          known = true;
        }
      }
      if (!known) {
        return makeError("bad_pattern", which + " has a group named \"" + name +
                                            "\"; the names are number, tag, notify and prio.");
      }
    }
    std::sort(compiled->groups.begin(), compiled->groups.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    if (compiled->groups.empty()) {
      return makeError("bad_pattern",
                       which +
                           " has no named group: it needs at least one of (?<number>...), "
                           "(?<tag>...), (?<notify>...), (?<prio>...).");
    }
    compiled->match = pcre2_match_context_create(nullptr);
    if (compiled->match == nullptr) return makeError("bad_pattern", which + ": out of memory.");
    pcre2_set_match_limit(compiled->match, kMatchLimit);
    pcre2_set_depth_limit(compiled->match, kDepthLimit);
    pcre2_set_heap_limit(compiled->match, kHeapLimitKiB);

    // Probes: texts on which backtracking blows up for the usual mistakes ((a+)+, (.*)*x,
    // (\d|\d)+ ...). A pattern that reaches a limit here would do so on real documents.
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(compiled->code, nullptr), &pcre2_match_data_free);
    if (!data) return makeError("bad_pattern", which + ": out of memory.");
    if (matchOnce(*compiled, "", 0, data.get()) >= 0) {
      return makeError("bad_pattern", which + " matches empty text; it must match a field.");
    }
    // Each run is followed by every printable character, so that PCRE2's "required character"
    // shortcut cannot skip the attempt that backtracks.
    std::string tail = "!";
    for (char c = '!'; c <= '~'; ++c) tail.push_back(c);
    const std::string probes[] = {
        std::string(64, 'a') + tail,
        std::string(64, '0') + tail,
        "@@" + std::string(64, ' ') + tail,
        "@@+FAX:" + std::string(64, '1') + " @" + tail,
        std::string(32, 'a') + " " + std::string(32, 'a') + "\n" + std::string(32, 'a') + tail,
        "aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0 aA0" + tail,
        std::string(64, '@') + tail,
        std::string(64, '#') + tail,
    };
    for (const std::string& probe : probes) {
      for (std::size_t offset = 0; offset < probe.size(); offset += 16) {
        const int rc = matchOnce(*compiled, probe, offset, data.get());
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
            rc == PCRE2_ERROR_HEAPLIMIT) {
          return makeError("bad_pattern",
                           which + " backtracks too much (" + pcreMessage(rc) +
                               " on a test text): rewrite it without nested repetition such as "
                               "(a+)+ or (.*)*.");
        }
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
          return makeError("bad_pattern", which + " cannot be used: " + pcreMessage(rc) + ".");
        }
      }
    }
    out.patterns_.push_back(std::move(compiled));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The scanner

// The "@@" dialects: what follows the "@@".
struct Key {
  std::string_view marker;
  FieldKind kind;
  const char* dialect;
  bool numberFirst;  // the value must start like a number (Swyx's markers have no colon)
};
constexpr Key kKeys[] = {
    {"+FAX:", FieldKind::kNumber, "hylafax", false},
    {"+TAG:", FieldKind::kTag, "hylafax", false},
    {"+NOTIFY:", FieldKind::kNotify, "hylafax", false},
    {"+PRIO:", FieldKind::kPriority, "hylafax", false},
    {"FAX:", FieldKind::kNumber, "yajhfc", false},
    {"RECIPIENT:", FieldKind::kNumber, "yajhfc", false},
    {"NUMMER", FieldKind::kNumber, "swyx", true},
    {"NUMBER", FieldKind::kNumber, "swyx", true},
    {"NMB", FieldKind::kNumber, "swyx", true},
    {"TO", FieldKind::kNumber, "swyx", true},
};

struct FieldScanner {
  int page;
  const std::vector<FieldChar>& chars;
  std::vector<std::size_t> compact;  // positions in chars of the non-space characters
  PageFields result;
  std::vector<std::pair<std::size_t, std::size_t>> taken;  // char ranges of built-in fields

  FieldScanner(int p, const std::vector<FieldChar>& c) : page(p), chars(c) {
    compact.reserve(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) {
      if (!isSpace(chars[i].c)) compact.push_back(i);
    }
  }

  bool full() const { return result.fields.size() >= static_cast<std::size_t>(kMaxFieldsPerPage); }

  // `word` at compact index k, ASCII case-insensitive: the compact index after it, or npos.
  std::size_t expect(std::size_t k, std::string_view word) const {
    for (const char w : word) {
      if (k >= compact.size() || lowerAscii(chars[compact[k]].c) != lowerAscii(char32_t(w))) {
        return std::string::npos;
      }
      ++k;
    }
    return k;
  }

  // From chars position `start`, the position of the terminator `term` (its characters may be
  // separated by whitespace) within kMaxValueChars; sets *after to the position after it.
  std::size_t findTerminator(std::size_t start, std::u32string_view term,
                             std::size_t* after) const {
    const std::size_t limit = std::min(chars.size(), start + kMaxValueChars);
    for (std::size_t i = start; i < limit; ++i) {
      if (chars[i].c != term[0]) continue;
      std::size_t j = i + 1, t = 1;
      while (t < term.size() && j < chars.size()) {
        if (isSpace(chars[j].c)) {
          ++j;
          continue;
        }
        if (chars[j].c != term[t]) break;
        ++t;
        ++j;
      }
      if (t == term.size()) {
        *after = j;
        return i;
      }
    }
    return std::string::npos;
  }

  void add(FieldKind kind, const char* dialect, std::size_t begin, std::size_t valueBegin,
           std::size_t valueEnd, std::size_t end) {
    PrintField f;
    f.kind = kind;
    f.dialect = dialect;
    f.page = page;
    f.text = collapse(chars, begin, end, kMaxValueChars + 32);
    const std::string value = collapse(chars, valueBegin, valueEnd, kMaxValueChars);
    f.problem = checkValue(kind, value, &f.value);
    if (!f.problem.empty()) f.value.clear();
    f.boxes = boxesOf(page, chars, begin, end);
    result.fields.push_back(std::move(f));
    taken.emplace_back(begin, end);
  }

  // The compact index of the first non-space character at or after chars position `pos`.
  std::size_t compactAt(std::size_t pos) const {
    return static_cast<std::size_t>(std::lower_bound(compact.begin(), compact.end(), pos) -
                                    compact.begin());
  }

  bool startsNumber(std::size_t pos, std::size_t end) const {
    for (std::size_t i = pos; i < end; ++i) {
      const char32_t c = chars[i].c;
      if (isSpace(c)) continue;
      return (c >= '0' && c <= '9') || c == '+' || c == '(';
    }
    return false;
  }

  bool crossesLine(std::size_t begin, std::size_t end) const {
    for (std::size_t i = begin; i < end; ++i) {
      if (chars[i].c == '\n') return true;
    }
    return false;
  }

  // Whether an "@@" marker with a keyword starts at chars position `pos`.
  bool startsAtMarker(std::size_t pos) const {
    const std::size_t m = expect(compactAt(pos), "@@");
    if (m == std::string::npos) return false;
    for (const Key& key : kKeys) {
      if (expect(m, key.marker) != std::string::npos) return true;
    }
    return false;
  }

  // Tries every built-in dialect at compact index k; the compact index after the field, or
  // npos when none starts here.
  std::size_t tryAt(std::size_t k) {
    const std::size_t begin = compact[k];
    const char32_t c = chars[begin].c;
    std::size_t after = 0;
    if (c == '@') {
      const std::size_t m = expect(k, "@@");
      if (m == std::string::npos) return m;
      for (const Key& key : kKeys) {
        std::size_t v = expect(m, key.marker);
        if (v == std::string::npos) continue;
        if (key.numberFirst && v < compact.size() && chars[compact[v]].c == ':') ++v;
        const std::size_t valueBegin = compact[v - 1] + 1;
        const std::size_t valueEnd = findTerminator(valueBegin, U"@@", &after);
        if (valueEnd == std::string::npos) continue;
        // A value may go on to the next line (runs drawn apart), but then its end must not be
        // the start of the next field: "@@+FAX:08" above "@@+TAG:ok@@" is not "08".
        if (crossesLine(valueBegin, valueEnd) && startsAtMarker(valueEnd)) continue;
        if (key.numberFirst && !startsNumber(valueBegin, valueEnd)) continue;
        add(key.kind, key.dialect, begin, valueBegin, valueEnd, after);
        return compactAt(after);
      }
      return std::string::npos;
    }
    if (c == '#') {
      const std::size_t m = expect(k, "###");
      if (m == std::string::npos || m >= compact.size()) return std::string::npos;
      const std::size_t valueBegin = compact[m - 1] + 1;
      const std::size_t valueEnd = findTerminator(valueBegin, U"###", &after);
      if (valueEnd == std::string::npos) return std::string::npos;
      // "###" is common decoration: only a real number makes a field.
      const std::string value = collapse(chars, valueBegin, valueEnd, kMaxValueChars);
      if (normaliseFieldNumber(value).empty()) return std::string::npos;
      add(FieldKind::kNumber, "winprint", begin, valueBegin, valueEnd, after);
      return compactAt(after);
    }
    if (c == '<') {
      const std::size_t m = expect(k, "<TOFAXNUM:");
      if (m == std::string::npos) return m;
      const std::size_t valueBegin = compact[m - 1] + 1;
      const std::size_t valueEnd = findTerminator(valueBegin, U">", &after);
      if (valueEnd == std::string::npos) return std::string::npos;
      add(FieldKind::kNumber, "rightfax", begin, valueBegin, valueEnd, after);
      return compactAt(after);
    }
    return std::string::npos;
  }

  void builtIn() {
    for (std::size_t k = 0; k < compact.size() && !full();) {
      const std::size_t next = tryAt(k);
      k = next == std::string::npos ? k + 1 : std::max(next, k + 1);
    }
  }

  void admin(const FieldPatterns::Compiled& p) {
    // The page as UTF-8, with the character each byte belongs to.
    std::string text;
    std::vector<std::size_t> charOf;
    text.reserve(chars.size());
    charOf.reserve(chars.size() + 1);
    for (std::size_t i = 0; i < chars.size(); ++i) {
      const std::size_t before = text.size();
      appendUtf8(&text, chars[i].c);
      charOf.insert(charOf.end(), text.size() - before, i);
    }
    charOf.push_back(chars.size());
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(p.code, nullptr), &pcre2_match_data_free);
    if (!data) return;
    const std::string name = "pattern" + std::to_string(p.index);
    std::size_t offset = 0;
    while (offset <= text.size() && !full()) {
      const int rc = matchOnce(p, text, offset, data.get());
      if (rc == PCRE2_ERROR_NOMATCH) return;
      if (rc < 0) {
        result.warnings.push_back("Field pattern " + std::to_string(p.index) + " gave up on page " +
                                  std::to_string(page) + ": " + pcreMessage(rc) + ".");
        return;
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
      const std::size_t mBegin = ov[0], mEnd = ov[1];
      if (mEnd <= mBegin) {  // an empty match (lookarounds): step over one character
        offset = mBegin + 1;
        while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
          ++offset;
        }
        continue;
      }
      offset = mEnd;
      const std::size_t begin = charOf[mBegin], end = charOf[mEnd];
      for (const auto& [kind, group] : p.groups) {
        if (static_cast<int>(group) >= rc) continue;
        const PCRE2_SIZE gBegin = ov[2 * group], gEnd = ov[2 * group + 1];
        if (gBegin == PCRE2_UNSET || gEnd < gBegin) continue;
        const bool overlapsBuiltIn = std::any_of(taken.begin(), taken.end(), [&](const auto& r) {
          return r.first < end && begin < r.second;
        });
        if (overlapsBuiltIn) continue;
        PrintField f;
        f.kind = kind;
        f.dialect = name;
        f.page = page;
        f.text = collapseUtf8(std::string_view(text).substr(mBegin, mEnd - mBegin));
        if (utf8Length(f.text) > kMaxValueChars) f.text = f.text.substr(0, kMaxValueChars);
        f.problem = checkValue(
            kind, collapseUtf8(std::string_view(text).substr(gBegin, gEnd - gBegin)), &f.value);
        if (!f.problem.empty()) f.value.clear();
        f.boxes = boxesOf(page, chars, begin, end);
        result.fields.push_back(std::move(f));
        if (full()) break;
      }
    }
  }
};

PageFields findPageFields(int page, const std::vector<FieldChar>& chars,
                          const FieldPatterns& patterns) {
  FieldScanner scanner(page, chars);
  scanner.builtIn();
  for (const auto& p : patterns.compiled()) scanner.admin(*p);
  if (scanner.full()) {
    scanner.result.warnings.push_back("Page " + std::to_string(page) + " has more than " +
                                      std::to_string(kMaxFieldsPerPage) +
                                      " fields; the rest were not read.");
  }
  return std::move(scanner.result);
}

void addUnseenFields(PageFields* into, PageFields more) {
  auto overlaps = [](const FieldBox& a, const FieldBox& b) {
    return a.page == b.page && a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  };
  const std::size_t known = into->fields.size();
  for (PrintField& f : more.fields) {
    if (into->fields.size() >= static_cast<std::size_t>(kMaxFieldsPerPage)) break;
    bool seen = false;
    for (std::size_t i = 0; i < known && !seen; ++i) {
      for (const FieldBox& a : into->fields[i].boxes) {
        for (const FieldBox& b : f.boxes) seen = seen || overlaps(a, b);
      }
    }
    if (!seen) into->fields.push_back(std::move(f));
  }
  for (std::string& w : more.warnings) {
    if (std::find(into->warnings.begin(), into->warnings.end(), w) == into->warnings.end()) {
      into->warnings.push_back(std::move(w));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mail merge

std::vector<PlannedFax> planPrintFaxes(const std::vector<PrintField>& fields, int pageCount) {
  std::map<int, std::vector<std::string>> numbersByPage;
  int lastPage = std::max(pageCount, 1);
  for (const PrintField& f : fields) {
    lastPage = std::max(lastPage, f.page);
    if (f.kind != FieldKind::kNumber || !f.problem.empty() || f.value.empty()) continue;
    auto& list = numbersByPage[f.page];
    if (std::find(list.begin(), list.end(), f.value) == list.end()) list.push_back(f.value);
  }
  if (numbersByPage.empty()) return {};
  struct Letter {
    int first = 1;
    int last = 1;
    std::vector<std::string> numbers;
  };
  std::vector<Letter> letters;
  for (const auto& [page, numbers] : numbersByPage) {
    // A page that names the same numbers as the letter so far (a field in every page header)
    // continues that letter.
    if (!letters.empty() &&
        std::set<std::string>(numbers.begin(), numbers.end()) ==
            std::set<std::string>(letters.back().numbers.begin(), letters.back().numbers.end())) {
      continue;
    }
    letters.push_back(Letter{letters.empty() ? 1 : page, lastPage, numbers});
    if (letters.size() > 1) letters[letters.size() - 2].last = page - 1;
  }
  std::vector<PlannedFax> out;
  for (std::size_t l = 0; l < letters.size(); ++l) {
    const Letter& letter = letters[l];
    PlannedFax base;
    base.firstPage = letter.first;
    base.lastPage = letter.last;
    base.letter = static_cast<int>(l + 1);
    bool haveTag = false, haveNotify = false, havePrio = false;
    for (const PrintField& f : fields) {
      if (f.page < letter.first || f.page > letter.last || !f.problem.empty()) continue;
      if (f.kind == FieldKind::kTag && !haveTag) {
        base.tag = f.value;
        haveTag = true;
      } else if (f.kind == FieldKind::kNotify && !haveNotify) {
        base.notify = f.value;
        haveNotify = true;
      } else if (f.kind == FieldKind::kPriority && !havePrio) {
        // Fields may come from elsewhere than findPageFields(): no exception on a bad value.
        int prio = -1;
        const auto [end, ec] =
            std::from_chars(f.value.data(), f.value.data() + f.value.size(), prio);
        if (ec == std::errc() && end == f.value.data() + f.value.size() && prio >= 0 &&
            prio <= 255) {
          base.priority = prio;
          havePrio = true;
        }
      }
    }
    for (const std::string& number : letter.numbers) {
      PlannedFax fax = base;
      fax.number = number;
      out.push_back(std::move(fax));
    }
  }
  return out;
}

}  // namespace vfax::documents
