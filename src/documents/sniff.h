#pragma once
// Type detection by content (magic bytes), never by file name.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace vfax::documents {

enum class DocType { kUnknown, kPdf, kTiff, kPng, kJpeg };

/// Looks at the first bytes of a file. PDF headers may follow a little garbage (readers accept
/// up to 1 KB of it), so the whole head is searched for "%PDF-".
DocType detectType(std::span<const std::uint8_t> head);

/// "pdf", "tiff", "png", "jpeg".
const char* typeName(DocType t);
/// The MIME type MuPDF wants to pick its document handler.
const char* mimeType(DocType t);

/// Reads the head of `path`: `empty_file`, `unsupported_type` or the type.
core::Result<DocType> sniffFile(const std::string& path);

}  // namespace vfax::documents
