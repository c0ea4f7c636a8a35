#include "documents/ocr.h"

#include <tiffio.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "documents/child_process.h"
#include "documents/document_converter.h"
#include "documents/fax_tiff.h"

namespace vfax::documents {
namespace {

using core::makeError;
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<OcrWord> parseTesseractTsv(const std::string& tsv, double dpi) {
  std::vector<OcrWord> words;
  std::istringstream in(tsv);
  std::string line;
  const double k = 72.0 / dpi;
  while (std::getline(in, line)) {
    // level page block par line word left top width height conf text
    std::vector<std::string> col;
    std::size_t start = 0;
    for (int i = 0; i < 11; ++i) {
      const std::size_t tab = line.find('\t', start);
      if (tab == std::string::npos) break;
      col.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    if (col.size() != 11 || col[0] != "5") continue;
    std::string text = line.substr(start);
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
    if (text.empty()) continue;
    try {
      if (std::stod(col[10]) < 0) continue;
      OcrWord w;
      w.x = std::stod(col[6]) * k;
      w.y = std::stod(col[7]) * k;
      w.w = std::stod(col[8]) * k;
      w.h = std::stod(col[9]) * k;
      w.text = std::move(text);
      words.push_back(std::move(w));
    } catch (const std::exception&) {
      continue;  // a header or a damaged line
    }
  }
  return words;
}

bool isOwnFaxTiff(const std::string& tiff) {
  std::string lastError;
  TIFF* tif = openTiffQuiet(tiff, "r", &lastError);
  if (tif == nullptr) return false;
  char* software = nullptr;
  const bool own = TIFFGetField(tif, TIFFTAG_SOFTWARE, &software) == 1 && software != nullptr &&
                   std::string(software) == "vfax";
  TIFFClose(tif);
  return own;
}

core::Result<int> addOcrLayer(const std::string& tiff, const std::string& pdf,
                              const OcrOptions& options) {
  const std::string tesseract = DocumentConverter::findProgram(options.tesseract);
  if (tesseract.empty()) {
    return makeError("missing_converter",
                     "OCR needs tesseract (Debian packages tesseract-ocr, tesseract-ocr-deu, "
                     "tesseract-ocr-eng), which is not installed.");
  }
  auto pages = readCodedPages(tiff);
  if (!pages) return pages.error();
  const std::string work = pdf + ".ocr";
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) return makeError("conversion_failed", "Cannot create a folder for OCR.");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{work};

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::vector<std::vector<OcrWord>> words;
  for (std::size_t i = 0; i < pages->size(); ++i) {
    const CodedPage& p = (*pages)[i];
    const int width = static_cast<int>(p.width / p.xDpi * options.dpi);
    const std::string png = work + "/page" + std::to_string(i) + ".png";
    if (renderPdfPagePng(pdf, static_cast<int>(i), png, width) <= static_cast<int>(i)) {
      return makeError("conversion_failed",
                       "Cannot render page " + std::to_string(i + 1) + " for OCR.");
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return makeError("timeout", "OCR took too long.");
    // One thread: conversions and OCR run on a bounded worker pool already.
    const std::string base = work + "/page" + std::to_string(i);
    const ChildResult r =
        runChild({"/usr/bin/env", "OMP_THREAD_LIMIT=1", tesseract, png, base, "-l",
                  options.languages, "--dpi", std::to_string(options.dpi), "tsv"},
                 left);
    if (r.timedOut) return makeError("timeout", "OCR took too long.");
    if (!r.exited || r.exitCode != 0) {
      return makeError("conversion_failed", "tesseract failed on page " + std::to_string(i + 1) +
                                                ": " + r.err.substr(0, r.err.find('\n')));
    }
    const double dpiUsed = width / (p.width / p.xDpi);
    words.push_back(parseTesseractTsv(slurp(base + ".tsv"), dpiUsed));
  }
  auto written = writeFileAtomically(pdf, makeFaxPdf(*pages, &words));
  if (!written) return written.error();
  std::size_t total = 0;
  for (const auto& w : words) total += w.size();
  return static_cast<int>(total);
}

}  // namespace vfax::documents
