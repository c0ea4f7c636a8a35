#include "documents/sniff.h"

#include <array>
#include <cstring>
#include <fstream>
#include <string_view>

namespace vfax::documents {
namespace {

bool startsWith(std::span<const std::uint8_t> d, std::string_view magic) {
  return d.size() >= magic.size() && std::memcmp(d.data(), magic.data(), magic.size()) == 0;
}

}  // namespace

DocType detectType(std::span<const std::uint8_t> head) {
  using namespace std::string_view_literals;
  if (startsWith(head, "II*\0"sv) || startsWith(head, "MM\0*"sv)) return DocType::kTiff;
  if (startsWith(head, "\x89PNG\r\n\x1a\n"sv)) return DocType::kPng;
  if (startsWith(head, "\xff\xd8\xff"sv)) return DocType::kJpeg;
  const std::string_view text(reinterpret_cast<const char*>(head.data()),
                              std::min<std::size_t>(head.size(), 1024));
  if (text.find("%PDF-") != std::string_view::npos) return DocType::kPdf;
  return DocType::kUnknown;
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
    case DocType::kUnknown:
      break;
  }
  return "application/octet-stream";
}

core::Result<DocType> sniffFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::makeError("empty_file", "The file " + path + " cannot be read.");
  std::array<std::uint8_t, 1024> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto n = static_cast<std::size_t>(in.gcount());
  if (n == 0) return core::makeError("empty_file", "The file is empty.");
  const DocType t = detectType(std::span(head.data(), n));
  if (t == DocType::kUnknown) {
    return core::makeError("unsupported_type",
                           "The file is not a PDF, TIFF, PNG or JPEG document.");
  }
  return t;
}

}  // namespace vfax::documents
