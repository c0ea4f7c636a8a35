#include "core/log_safe.h"

#include <algorithm>

namespace vfax::core {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], 0 if there is none (overlong forms,
// surrogates and code points above U+10FFFF are not valid).
std::size_t utf8Length(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

// Code points that are valid but move or hide text on a terminal or in a viewer.
bool unsafeCodePoint(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) ||      // C1 controls (0x9b is a CSI on some terminals)
         cp == 0x2028 || cp == 0x2029 ||    // line and paragraph separators
         (cp >= 0x202a && cp <= 0x202e) ||  // bidirectional embeddings and overrides
         (cp >= 0x2066 && cp <= 0x2069) ||  // bidirectional isolates
         cp == 0x200e || cp == 0x200f || cp == 0xfeff;
}

void appendHex(std::string& out, unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[c >> 4];
  out += kDigits[c & 0x0f];
}

}  // namespace

std::string logSafe(std::string_view text, std::size_t maxBytes) {
  std::string out;
  out.reserve(std::min(text.size(), maxBytes) + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (i + 1 > maxBytes) break;
      if (c < 0x20 || c == 0x7f || c == '\\') {
        appendHex(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8Length(text, i, cp);
    if (n == 0) {
      if (i + 1 > maxBytes) break;
      appendHex(out, c);
      ++i;
      continue;
    }
    if (i + n > maxBytes) break;
    if (unsafeCodePoint(cp)) {
      for (std::size_t k = 0; k < n; ++k) appendHex(out, static_cast<unsigned char>(text[i + k]));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  if (i < text.size()) out += "...(+" + std::to_string(text.size() - i) + " bytes)";
  return out;
}

}  // namespace vfax::core
