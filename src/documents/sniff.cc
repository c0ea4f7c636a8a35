#include "documents/sniff.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

namespace vfax::documents {
namespace {

bool startsWith(std::span<const std::uint8_t> d, std::string_view magic) {
  return d.size() >= magic.size() && std::memcmp(d.data(), magic.data(), magic.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Text a person wrote: no NUL and few control characters besides tab, newlines and form feed.
bool looksLikeText(std::string_view s) {
  std::size_t control = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) return false;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) ++control;
  }
  return control * 100 <= s.size();
}

bool looksLikeHtml(std::string_view text) {
  std::size_t start = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") start = 3;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  if (start >= text.size() || text[start] != '<') return false;
  const std::string head = lower(text.substr(start, 1024));
  for (std::string_view tag : {"<!doctype html", "<html", "<head", "<body", "<meta", "<title",
                               "<div", "<p>", "<p ", "<table", "<br", "<span", "<img", "<!--"}) {
    if (head.find(tag) != std::string::npos) return true;
  }
  return false;
}

DocType zipType(std::string_view text) {
  if (text.find("mimetypeapplication/vnd.oasis.opendocument.") != std::string_view::npos) {
    return DocType::kOdt;
  }
  if (text.find("word/") != std::string_view::npos) return DocType::kDocx;
  if (text.find("xl/") != std::string_view::npos) return DocType::kXlsx;
  if (text.find("ppt/") != std::string_view::npos) return DocType::kPptx;
  // The first entry of an OOXML file is usually [Content_Types].xml; the part that says which
  // kind it is may come later than the head, and LibreOffice finds out by itself.
  if (text.find("[Content_Types].xml") != std::string_view::npos) return DocType::kDocx;
  return DocType::kUnknown;
}

}  // namespace

DocType detectType(std::span<const std::uint8_t> head) {
  using namespace std::string_view_literals;
  if (head.empty()) return DocType::kUnknown;
  if (startsWith(head, "II*\0"sv) || startsWith(head, "MM\0*"sv)) return DocType::kTiff;
  if (startsWith(head, "\x89PNG\r\n\x1a\n"sv)) return DocType::kPng;
  if (startsWith(head, "\xff\xd8\xff"sv)) return DocType::kJpeg;
  if (startsWith(head, "GIF87a"sv) || startsWith(head, "GIF89a"sv)) return DocType::kGif;
  // "BM" alone is too weak; the DIB header size after the file header must be a known one.
  if (startsWith(head, "BM"sv) && head.size() >= 18) {
    const unsigned dib = head[14] | (head[15] << 8) | (head[16] << 16) | (head[17] << 24);
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124) {
      return DocType::kBmp;
    }
  }
  if (startsWith(head, "%!PS"sv) || startsWith(head, "\x04%!PS"sv) ||
      startsWith(head, "\xC5\xD0\xD3\xC6"sv)) {
    return DocType::kPostScript;
  }
  if (startsWith(head, "{\\rtf"sv)) return DocType::kRtf;
  if (startsWith(head, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv)) return DocType::kMsOffice;
  const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  if (startsWith(head, "PK\x03\x04"sv)) return zipType(text);
  if (text.substr(0, 1024).find("%PDF-") != std::string_view::npos) return DocType::kPdf;
  if (!looksLikeText(text)) return DocType::kUnknown;
  if (looksLikeHtml(text)) return DocType::kHtml;
  // UTF-8 or, failing that, a single-byte Latin text: both become pages of text.
  return DocType::kText;
}

const char* typeName(DocType t) {
  switch (t) {
    case DocType::kPdf:
      return "pdf";
    case DocType::kTiff:
      return "tiff";
    case DocType::kPng:
      return "png";
    case DocType::kJpeg:
      return "jpeg";
    case DocType::kGif:
      return "gif";
    case DocType::kBmp:
      return "bmp";
    case DocType::kText:
      return "text";
    case DocType::kHtml:
      return "html";
    case DocType::kPostScript:
      return "postscript";
    case DocType::kDocx:
      return "docx";
    case DocType::kXlsx:
      return "xlsx";
    case DocType::kPptx:
      return "pptx";
    case DocType::kOdt:
      return "odf";
    case DocType::kRtf:
      return "rtf";
    case DocType::kMsOffice:
      return "msoffice";
    case DocType::kUnknown:
      break;
  }
  return "unknown";
}

const char* mimeType(DocType t) {
  switch (t) {
    case DocType::kPdf:
      return "application/pdf";
    case DocType::kTiff:
      return "image/tiff";
    case DocType::kPng:
      return "image/png";
    case DocType::kJpeg:
      return "image/jpeg";
    case DocType::kGif:
      return "image/gif";
    case DocType::kBmp:
      return "image/bmp";
    case DocType::kText:
    case DocType::kHtml:
      return "text/html";
    default:
      break;
  }
  return "application/octet-stream";
}

const char* officeExtension(DocType t) {
  switch (t) {
    case DocType::kDocx:
      return "docx";
    case DocType::kXlsx:
      return "xlsx";
    case DocType::kPptx:
      return "pptx";
    case DocType::kOdt:
      return "odt";
    case DocType::kRtf:
      return "rtf";
    case DocType::kMsOffice:
      return "doc";
    default:
      break;
  }
  return "";
}

bool isOffice(DocType t) { return officeExtension(t)[0] != '\0'; }

bool renderedByMupdf(DocType t) {
  return t != DocType::kUnknown && t != DocType::kPostScript && !isOffice(t);
}

core::Result<DocType> sniffFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::makeError("empty_file", "The file " + path + " cannot be read.");
  std::vector<std::uint8_t> head(kSniffBytes);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  const auto n = static_cast<std::size_t>(in.gcount());
  if (n == 0) return core::makeError("empty_file", "The file is empty.");
  const DocType t = detectType(std::span(head.data(), n));
  if (t == DocType::kUnknown) {
    return core::makeError("unsupported_type",
                           "The file type is not supported: send PDF, PostScript, TIFF, PNG, JPEG, "
                           "GIF, text, HTML or an office document.");
  }
  return t;
}

}  // namespace vfax::documents
