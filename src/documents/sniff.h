#pragma once
// Type detection by content (magic bytes and text structure), never by file name.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace vfax::documents {

enum class DocType {
  kUnknown,
  kPdf,
  kTiff,
  kPng,
  kJpeg,
  kGif,
  kBmp,
  kText,        // UTF-8 (or Latin-1) plain text
  kHtml,        // e.g. a mail body
  kPostScript,  // rendered by Ghostscript (child process) to PDF first
  kDocx,        // office documents: LibreOffice (child process) makes a PDF first
  kXlsx,
  kPptx,
  kOdt,  // any OpenDocument (text, spreadsheet, presentation)
  kRtf,
  kMsOffice,  // the old binary formats (.doc, .xls), OLE2 containers
};

/// How many leading bytes detectType() wants to see.
inline constexpr std::size_t kSniffBytes = 4096;

/// Looks at the first bytes of a file. PDF headers may follow a little garbage (readers accept
/// up to 1 KB of it), so the head is searched for "%PDF-".
DocType detectType(std::span<const std::uint8_t> head);

/// "pdf", "tiff", "png", "jpeg", "gif", "bmp", "text", "html", "postscript", "docx", ...
const char* typeName(DocType t);
/// The MIME type MuPDF wants to pick its document handler (text is handed over as HTML).
const char* mimeType(DocType t);
/// A file name extension LibreOffice recognises, for the office types; "" otherwise.
const char* officeExtension(DocType t);

/// Opened by MuPDF directly (everything but PostScript and office documents).
bool renderedByMupdf(DocType t);
bool isOffice(DocType t);

/// Reads the head of `path`: `empty_file`, `unsupported_type` or the type.
core::Result<DocType> sniffFile(const std::string& path);

}  // namespace vfax::documents
