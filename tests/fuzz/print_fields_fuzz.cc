// libFuzzer target for Print-to-Fax control fields: the admin-pattern compiler, the field parser
// over any character stream (with odd boxes), the mail-merge plan, and, for inputs that are PDFs,
// the MuPDF text extraction and redaction that vfax-convert runs on print jobs.
//
// Input: byte 0 holds flags (bit 0: the text up to the first NUL is a list of admin patterns,
// one per line); the rest is the page text as UTF-8, or a whole PDF when it starts with "%PDF".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "documents/print_fields.h"
#include "documents/print_text.h"

namespace {

using vfax::documents::FieldChar;

// Lenient UTF-8: a bad byte stands for itself (as Latin-1), so every input gives characters.
std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto n = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      ok = (n & 0xC0) == 0x80;
      c = (c << 6) | (n & 0x3F);
    }
    if (!ok) {
      out.push_back(b);
      ++i;
      continue;
    }
    out.push_back(c);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

void check(bool ok) {
  if (!ok) std::abort();
}

void checkFields(const std::vector<vfax::documents::PrintField>& fields, int page) {
  for (const auto& f : fields) {
    check(f.page == page);
    check(f.problem.empty() != f.value.empty());
    if (f.problem.empty() && f.kind == vfax::documents::FieldKind::kNumber) {
      check(vfax::documents::normaliseFieldNumber(f.value) == f.value);
    }
    for (const auto& b : f.boxes) check(b.page == page && b.x0 <= b.x1 && b.y0 <= b.y1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  vfax::documents::FieldPatterns patterns;
  if (flags & 1) {
    const std::size_t nul = rest.find('\0');
    const std::string_view list = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
    std::vector<std::string> sources;
    for (std::size_t start = 0; start <= list.size() && sources.size() < 4;) {
      const std::size_t end = std::min(list.find('\n', start), list.size());
      sources.emplace_back(list.substr(start, end - start));
      start = end + 1;
    }
    auto compiled = vfax::documents::compileFieldPatterns(sources);
    if (compiled) {
      patterns = *compiled;
    } else {
      check(compiled.error().code == "bad_pattern" && !compiled.error().message.empty());
    }
  }
  if (rest.substr(0, 4) == "%PDF") {
    const std::span<const std::uint8_t> pdf(reinterpret_cast<const std::uint8_t*>(rest.data()),
                                            rest.size());
    auto pages = vfax::documents::readPdfText(pdf, 4);
    if (!pages) return 0;
    std::vector<vfax::documents::FieldBox> boxes;
    for (std::size_t p = 0; p < pages->size(); ++p) {
      const int number = static_cast<int>(p + 1);
      auto found = vfax::documents::findPageFields(number, (*pages)[p].drawn, patterns);
      vfax::documents::addUnseenFields(
          &found, vfax::documents::findPageFields(number, (*pages)[p].rows, patterns));
      checkFields(found.fields, static_cast<int>(p + 1));
      for (const auto& f : found.fields) boxes.insert(boxes.end(), f.boxes.begin(), f.boxes.end());
    }
    if (!boxes.empty() || (flags & 2)) {
      if (boxes.empty()) boxes.push_back({1, 0, 0, 300, 300});
      (void)vfax::documents::redactPdf(pdf, boxes);
    }
    if (flags & 4) (void)vfax::documents::extractPdfPages(pdf, 1, static_cast<int>(pages->size()));
    return 0;
  }
  // Characters on lines; boxes from the flags: normal, empty, or degenerate (NaN, inverted).
  std::vector<FieldChar> chars;
  float x = 0, y = 0;
  for (const char32_t c : decode(rest)) {
    if (c == U'\n') {
      chars.push_back(FieldChar{c, 0, 0, 0, 0});
      x = 0;
      y += 12;
      continue;
    }
    FieldChar fc{c, x, y, x + 5, y + 10};
    if ((flags & 6) == 2 && (c & 3) == 0) fc.x1 = fc.x0;
    if ((flags & 6) == 4 && (c & 7) == 1) fc.y0 = std::nanf("");
    if ((flags & 6) == 6 && (c & 1)) std::swap(fc.y0, fc.y1);
    chars.push_back(fc);
    x += 5;
  }
  const int page = 1 + (flags >> 4);
  auto found = vfax::documents::findPageFields(page, chars, patterns);
  checkFields(found.fields, page);
  const auto plan = vfax::documents::planPrintFaxes(found.fields, (flags >> 3) & 7);
  for (const auto& fax : plan) {
    check(fax.firstPage >= 1 && fax.firstPage <= fax.lastPage && !fax.number.empty());
    check(fax.priority >= -1 && fax.priority <= 255);
  }
  return 0;
}
