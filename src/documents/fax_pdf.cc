#include "documents/fax_pdf.h"

extern "C" {
#include <mupdf/fitz.h>
}
#include <tiffio.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "documents/fax_tiff.h"
#include "documents/g4_encoder.h"

namespace vfax::documents {
namespace {

using core::makeError;

struct FzContext {
  fz_context* ctx = fz_new_context(nullptr, nullptr, 32u << 20);
  FzContext() {
    if (ctx != nullptr) {
      fz_set_warning_callback(
          ctx, [](void*, const char*) {}, nullptr);
      fz_set_error_callback(
          ctx, [](void*, const char*) {}, nullptr);
    }
  }
  ~FzContext() { fz_drop_context(ctx); }
};

// Renders one page of the PDF to a grey PNG `width` px wide (anti-aliased: this is for eyes and
// for OCR). Returns the document's page count, or -1.
int renderPage(fz_context* ctx, const char* pdf, int index, const char* png, int width) {
  fz_document* doc = nullptr;
  fz_page* page = nullptr;
  fz_pixmap* pix = nullptr;
  int count = -1;
  fz_var(count);
  fz_var(doc);
  fz_var(page);
  fz_var(pix);
  fz_try(ctx) {
    fz_register_document_handlers(ctx);
    doc = fz_open_document(ctx, pdf);
    const int n = fz_count_pages(ctx, doc);
    if (index < n) {
      page = fz_load_page(ctx, doc, index);
      const fz_rect r = fz_bound_page(ctx, page);
      const float s = static_cast<float>(width) / (r.x1 - r.x0);
      pix = fz_new_pixmap_from_page(ctx, page, fz_scale(s, s), fz_device_gray(ctx), 0);
      fz_save_pixmap_as_png(ctx, pix, png);
    }
    count = n;
  }
  fz_always(ctx) {
    fz_drop_pixmap(ctx, pix);
    fz_drop_page(ctx, page);
    fz_drop_document(ctx, doc);
  }
  fz_catch(ctx) { count = -1; }
  return count;
}

bool renderPreview(fz_context* ctx, const char* pdf, const char* png, int width) {
  return renderPage(ctx, pdf, 0, png, width) > 0;
}

// Unique per process and call, so concurrent conversions never share a temporary file.
std::string tempPathFor(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

core::Result<void> writeAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = tempPathFor(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      return makeError("conversion_failed", "Cannot write " + path + ".");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "Cannot write " + path + ".");
  }
  return {};
}

// Rounded down, so that a reader computing rows = size x dpi does not round up to an extra row.
std::string fmtNum(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", std::floor(v * 1e4) / 1e4);
  return buf;
}

}  // namespace

core::Result<std::vector<CodedPage>> readCodedPages(const std::string& tiffPath) {
  auto bitmaps = readFaxTiff(tiffPath);
  if (!bitmaps) return bitmaps.error();
  std::string lastError;
  TIFF* tif = openTiffQuiet(tiffPath, "r", &lastError);
  if (tif == nullptr) return makeError("corrupt_file", "Cannot open " + tiffPath + ".");
  std::unique_ptr<TIFF, void (*)(TIFF*)> guard(tif, TIFFClose);
  std::vector<CodedPage> pages;
  for (const FaxPage& bitmap : *bitmaps) {
    CodedPage page;
    page.width = bitmap.width;
    page.rows = bitmap.rows;
    page.xDpi = bitmap.xDpi;
    page.yDpi = bitmap.yDpi;
    uint16_t compression = COMPRESSION_NONE, photometric = PHOTOMETRIC_MINISWHITE;
    uint32_t g4options = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    if (compression == COMPRESSION_CCITTFAX4)
      TIFFGetFieldDefaulted(tif, TIFFTAG_GROUP4OPTIONS, &g4options);
    const bool rawUsable = compression == COMPRESSION_CCITTFAX4 && TIFFNumberOfStrips(tif) == 1 &&
                           (g4options & GROUP4OPT_UNCOMPRESSED) == 0;
    if (rawUsable) {
      const tmsize_t size = TIFFRawStripSize(tif, 0);
      if (size > 0) {
        page.g4.resize(static_cast<std::size_t>(size));
        if (TIFFReadRawStrip(tif, 0, page.g4.data(), size) != size) page.g4.clear();
      }
      uint16_t fillOrder = FILLORDER_MSB2LSB;
      TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fillOrder);
      if (fillOrder == FILLORDER_LSB2MSB) {
        TIFFReverseBits(page.g4.data(), static_cast<tmsize_t>(page.g4.size()));
      }
      page.blackIs1 = photometric == PHOTOMETRIC_MINISBLACK;
    }
    if (page.g4.empty()) {
      // The decoded bitmap is already normalised to 1 = black, so no polarity flag is needed.
      encodeG4(bitmap, &page.g4);
      page.reencoded = true;
      page.blackIs1 = false;
    }
    pages.push_back(std::move(page));
    TIFFReadDirectory(tif);
  }
  return pages;
}

namespace {

// A word for the invisible text layer in WinAnsiEncoding (Helvetica's standard encoding covers
// German and the other Western European letters); other characters become '?'.
std::string pdfLiteral(const std::string& utf8) {
  std::string out = "(";
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    unsigned cp = c;
    std::size_t n = 1;
    if (c >= 0xC0 && c < 0xE0 && i + 1 < utf8.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu);
      n = 2;
    } else if (c >= 0xE0 && c < 0xF0 && i + 2 < utf8.size()) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(utf8[i + 2]) & 0x3Fu);
      n = 3;
    } else if (c >= 0xF0) {
      cp = '?';
      n = 4;
    }
    i += n;
    if (cp == 0x20AC) cp = 0x80;  // the euro sign's place in WinAnsi
    if (cp == 0x201E) cp = 0x84;  // German opening quote
    if (cp == 0x201C) cp = 0x93;
    if (cp == 0x2013) cp = 0x96;
    if (cp == 0x2014) cp = 0x97;
    if (cp > 0xFF || (cp < 0x20)) cp = '?';
    if (cp == '(' || cp == ')' || cp == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(cp));
  }
  return out + ")";
}

}  // namespace

std::string makeFaxPdf(const std::vector<CodedPage>& pages,
                       const std::vector<std::vector<OcrWord>>* words) {
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;  // offsets[i] is object i+1
  auto begin = [&](int num) {
    if (offsets.size() < static_cast<std::size_t>(num))
      offsets.resize(static_cast<std::size_t>(num));
    offsets[static_cast<std::size_t>(num - 1)] = pdf.size();
    pdf += std::to_string(num) + " 0 obj\n";
  };
  const int n = static_cast<int>(pages.size());
  // Objects: 1 catalog, 2 page tree, then per page: page, contents, image; a text layer adds
  // the font as the last object.
  const bool text = words != nullptr;
  const int fontObj = 3 + 3 * n;
  begin(1);
  pdf += "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
  begin(2);
  pdf += "<< /Type /Pages /Count " + std::to_string(n) + " /Kids [";
  for (int i = 0; i < n; ++i) pdf += " " + std::to_string(3 + 3 * i) + " 0 R";
  pdf += " ] >>\nendobj\n";
  for (int i = 0; i < n; ++i) {
    const CodedPage& p = pages[static_cast<std::size_t>(i)];
    const int pageObj = 3 + 3 * i, contentObj = pageObj + 1, imageObj = pageObj + 2;
    const std::string w = fmtNum(p.width * 72.0 / p.xDpi);
    const std::string h = fmtNum(p.rows * 72.0 / p.yDpi);
    begin(pageObj);
    pdf += "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + w + " " + h + "] /Contents " +
           std::to_string(contentObj) + " 0 R /Resources << /XObject << /Im0 " +
           std::to_string(imageObj) + " 0 R >>" +
           (text ? " /Font << /F1 " + std::to_string(fontObj) + " 0 R >>" : std::string()) +
           " >> >>\nendobj\n";
    std::string content = "q " + w + " 0 0 " + h + " 0 0 cm /Im0 Do Q\n";
    if (text && static_cast<std::size_t>(i) < words->size()) {
      // Invisible (render mode 3) words over the image, each stretched to its box, so that the
      // page can be searched and text selected where tesseract saw it.
      const double pageH = p.rows * 72.0 / p.yDpi;
      for (const OcrWord& word : (*words)[static_cast<std::size_t>(i)]) {
        if (word.text.empty() || word.h <= 0 || word.w <= 0) continue;
        const double size = word.h;
        std::size_t chars = 0;
        for (char c : word.text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
        const double natural = static_cast<double>(chars) * 0.5 * size;  // about Helvetica's
        content += "BT 3 Tr /F1 " + fmtNum(size) + " Tf " + fmtNum(100.0 * word.w / natural) +
                   " Tz " + fmtNum(word.x) + " " + fmtNum(pageH - word.y - word.h * 0.8) + " Td " +
                   pdfLiteral(word.text) + " Tj ET\n";
      }
    }
    begin(contentObj);
    pdf += "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
           "endstream\nendobj\n";
    begin(imageObj);
    pdf += "<< /Type /XObject /Subtype /Image /Width " + std::to_string(p.width) + " /Height " +
           std::to_string(p.rows) +
           " /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode"
           " /DecodeParms << /K -1 /Columns " +
           std::to_string(p.width) + " /Rows " + std::to_string(p.rows) + " /BlackIs1 " +
           (p.blackIs1 ? "true" : "false") + " >> /Length " + std::to_string(p.g4.size()) +
           " >>\nstream\n";
    pdf.append(reinterpret_cast<const char*>(p.g4.data()), p.g4.size());
    pdf += "\nendstream\nendobj\n";
  }
  if (text) {
    begin(fontObj);
    pdf +=
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(offsets.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(offsets.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

int renderPdfPagePng(const std::string& pdf, int index, const std::string& png, int width) {
  FzContext fz;
  if (fz.ctx == nullptr) return -1;
  const std::string tmp = tempPathFor(png);
  const int n = renderPage(fz.ctx, pdf.c_str(), index, tmp.c_str(), width);
  if (n <= index || std::rename(tmp.c_str(), png.c_str()) != 0) {
    std::remove(tmp.c_str());
    return n > index ? -1 : n;
  }
  return n;
}

core::Result<void> writeFileAtomically(const std::string& path, const std::string& contents) {
  return writeAtomically(path, contents);
}

core::Result<int> faxTiffToPdf(const std::string& tiffPath, const std::string& pdfPath,
                               const std::string& previewPng, int previewWidth) {
  auto pages = readCodedPages(tiffPath);
  if (!pages) return pages.error();
  auto written = writeAtomically(pdfPath, makeFaxPdf(*pages));
  if (!written) return written.error();
  if (!previewPng.empty()) {
    FzContext fz;
    const std::string tmp = tempPathFor(previewPng);
    if (fz.ctx == nullptr || !renderPreview(fz.ctx, pdfPath.c_str(), tmp.c_str(), previewWidth) ||
        std::rename(tmp.c_str(), previewPng.c_str()) != 0) {
      std::remove(tmp.c_str());
      return makeError("conversion_failed", "Cannot render the preview of " + pdfPath + ".");
    }
  }
  return static_cast<int>(pages->size());
}

}  // namespace vfax::documents
