#pragma once
// Fax TIFF to PDF (the G4 data embedded as is, so the PDF is as small as the fax) and a PNG
// preview of the first page. Runs in the daemon: its input is a TIFF that vfax itself wrote.
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "documents/fax_page.h"

namespace vfax::documents {

/// The coded form of one page, ready for a PDF /CCITTFaxDecode stream.
struct CodedPage {
  int width = 0;
  int rows = 0;
  double xDpi = kFaxXDpi;
  double yDpi = kFineYDpi;
  bool blackIs1 = false;  // true when the source coded black as "white" runs (min-is-black)
  bool reencoded = false;
  std::vector<std::uint8_t> g4;
};

/// Each page as G4 data: the raw strip when the page is a single T.6 strip, otherwise decoded
/// and re-encoded losslessly (T.4 1D/2D, several strips, uncompressed).
core::Result<std::vector<CodedPage>> readCodedPages(const std::string& tiffPath);

/// A word found by OCR, in PDF points from the top left of its page.
struct OcrWord {
  double x = 0, y = 0, w = 0, h = 0;
  std::string text;  // UTF-8
};

/// The PDF file contents: one page per coded page, sized from its resolution; with `words` (one
/// list per page) an invisible text layer makes the pages searchable.
std::string makeFaxPdf(const std::vector<CodedPage>& pages,
                       const std::vector<std::vector<OcrWord>>* words = nullptr);

/// Renders page `index` (from 0) of a PDF to a grey PNG `width` px wide (written atomically).
/// Returns the PDF's page count (nothing is written when index >= count), or -1 on failure.
int renderPdfPagePng(const std::string& pdf, int index, const std::string& png, int width);

core::Result<void> writeFileAtomically(const std::string& path, const std::string& contents);

/// Writes `pdfPath` and `previewPng` (first page, `previewWidth` px wide), each atomically
/// (temporary file + rename). Returns the page count. Errors: `corrupt_file`, `conversion_failed`.
core::Result<int> faxTiffToPdf(const std::string& tiffPath, const std::string& pdfPath,
                               const std::string& previewPng, int previewWidth = 600);

}  // namespace vfax::documents
