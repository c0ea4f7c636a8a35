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

/// A page's characters in two reading orders. `drawn`: MuPDF's structured text, lines as the
/// page draws them (a run continuing the line before joins it), each line's characters along
/// its baseline, '\n' after each line. `rows`: the same lines put in rows (lines of one
/// orientation whose baselines lie within half a line's height), each row ordered along the
/// baseline, rows top to bottom ('\n' between rows, ' ' between lines of a row): this brings
/// together the runs of a field that the page draws apart. Lines are never cut, so text laid
/// over other text does not interleave with it.
struct PageText {
  std::vector<FieldChar> drawn;
  std::vector<FieldChar> rows;
};

/// Every page's text as the fax renderer draws the page (contents, annotations, form fields).
/// Invisible, white and tiny text is included: MuPDF reports what is drawn, not what is seen.
/// At most 200,000 characters per page. Errors: `unsupported_type` (not a PDF),
/// `corrupt_file`, `encrypted_pdf`, `too_many_pages`.
core::Result<std::vector<PageText>> readPdfText(std::span<const std::uint8_t> pdf, int maxPages);

/// Each page's characters as drawn (PageText::drawn).
core::Result<std::vector<std::vector<FieldChar>>> readPdfChars(std::span<const std::uint8_t> pdf,
                                                               int maxPages);

struct RedactResult {
  std::string pdf;        // the new document
  int redacted = 0;       // boxes applied
  int whiteBoxes = 0;     // boxes painted over because text in them survived redaction
  bool textKept = false;  // redaction would have taken text beside the boxes: all painted white
};

/// The PDF with every glyph inside one of `boxes` removed from the page content
/// (MuPDF redaction annotations, applied: text, not images or line art), saved without the old
/// content streams. Afterwards the text is read again: should redaction have taken any character
/// outside the boxes, the original is kept and every box is painted over with an opaque white
/// rectangle instead (`textKept`); should a character still sit in a box (a form field or an
/// annotation, which redaction leaves), the annotations over it are removed and the box is
/// painted white. Either way nothing of a field reaches the fax page.
core::Result<RedactResult> redactPdf(std::span<const std::uint8_t> pdf,
                                     const std::vector<FieldBox>& boxes);

/// Pages [first, last] (from 1) of the PDF as a new PDF: one letter of a mail-merge job.
core::Result<std::string> extractPdfPages(std::span<const std::uint8_t> pdf, int first, int last);

}  // namespace vfax::documents
