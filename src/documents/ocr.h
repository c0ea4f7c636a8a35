#pragma once
// A searchable text layer for received faxes: each page is rendered to a PNG, read by tesseract
// (a child process with a time limit) and its words are laid invisibly over the G4 image.
#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "documents/fax_pdf.h"

namespace vfax::documents {

struct OcrOptions {
  std::string tesseract = "tesseract";  // path, or a name found in PATH
  std::string languages = "deu+eng";
  std::chrono::milliseconds timeout{60'000};  // for the whole document
  int dpi = 300;                              // tesseract reads best around 300 dpi
};

/// Reads the pages of `pdf` (a fax PDF from faxTiffToPdf) and rewrites it from `tiff` with the
/// words found. On any error the PDF is left as it was. Errors: `missing_converter`, `timeout`,
/// `conversion_failed`.
core::Result<int> addOcrLayer(const std::string& tiff, const std::string& pdf,
                              const OcrOptions& options);

/// Words of tesseract's TSV output (level 5 rows), scaled from pixels at `dpi` to points.
std::vector<OcrWord> parseTesseractTsv(const std::string& tsv, double dpi);

/// True when vfax wrote this TIFF (a converted outbound fax), false for received ones.
bool isOwnFaxTiff(const std::string& tiff);

}  // namespace vfax::documents
