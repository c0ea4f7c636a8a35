#pragma once
// The text of a printed PDF with each character's box, and redaction of areas of its pages:
// the MuPDF side of Print-to-Fax control fields (print_fields.h). Runs in the vfax-convert
// child only, because the document is untrusted.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "documents/print_fields.h"

namespace vfax::documents {

/// Each page's characters in reading order (MuPDF's structured text: lines as the content
/// stream draws them, each line's characters left to right, '\n' between lines). Invisible,
/// white and tiny text is included: MuPDF reports what is drawn, not what is seen. Errors:
/// `unsupported_type` (not a PDF), `corrupt_file`, `encrypted_pdf`, `too_many_pages`.
core::Result<std::vector<std::vector<FieldChar>>> readPdfChars(std::span<const std::uint8_t> pdf,
                                                               int maxPages);

struct RedactResult {
  std::string pdf;     // the new document
  int redacted = 0;    // boxes applied
  int whiteBoxes = 0;  // boxes painted over because text in them survived redaction
};

/// The PDF with every glyph inside one of `boxes` removed from the page content
/// (MuPDF redaction annotations, applied: text, not images or line art), saved without the old
/// content streams. Afterwards the text is read again; should any character still sit in a box
/// (text inside a form XObject, which MuPDF 1.21 does not filter), an opaque white rectangle is
/// drawn over that box so that nothing of it reaches the fax page.
core::Result<RedactResult> redactPdf(std::span<const std::uint8_t> pdf,
                                     const std::vector<FieldBox>& boxes);

/// Pages [first, last] (from 1) of the PDF as a new PDF: one letter of a mail-merge job.
core::Result<std::string> extractPdfPages(std::span<const std::uint8_t> pdf, int first, int last);

}  // namespace vfax::documents
