#include "test_inputs.h"

#include <stdlib.h>
#include <tiffio.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vfax::documents::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vfax-docs-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string makePdf(int pages, double widthPt, double heightPt) {
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  auto obj = [&](const std::string& body) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(offsets.size()) + " 0 obj\n" + body + "\nendobj\n";
  };
  // 1 catalog, 2 pages, 3 font, then page + content per page.
  obj("<< /Type /Catalog /Pages 2 0 R >>");
  std::string kids;
  for (int i = 0; i < pages; ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
  obj("<< /Type /Pages /Count " + std::to_string(pages) + " /Kids [" + kids + "] >>");
  obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  char box[64];
  std::snprintf(box, sizeof box, "0 0 %.2f %.2f", widthPt, heightPt);
  for (int i = 0; i < pages; ++i) {
    const std::string content =
        "BT /F1 36 Tf 72 " + std::to_string(static_cast<int>(heightPt) - 100) + " Td (Page " +
        std::to_string(i + 1) + ") Tj ET\n0 g 72 72 300 20 re f\n0.5 g 72 200 200 200 re f\n";
    obj("<< /Type /Page /Parent 2 0 R /MediaBox [" + std::string(box) + "] /Contents " +
        std::to_string(5 + 2 * i) + " 0 R /Resources << /Font << /F1 3 0 R >> >> >>");
    obj("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream");
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

void writeImageTiff(const std::string& path, TiffKind kind, int pages, int w, int h, double xDpi,
                    double yDpi) {
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  if (tif == nullptr) throw std::runtime_error("cannot write " + path);
  for (int p = 0; p < pages; ++p) {
    const int spp = kind == TiffKind::kRgb ? 3 : 1;
    const int bps = kind == TiffKind::kBilevel ? 1 : 8;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bps);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(xDpi));
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(yDpi));
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, p, pages);
    std::vector<uint16_t> cmap(256);
    switch (kind) {
      case TiffKind::kRgb:
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        break;
      case TiffKind::kGrey:
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        break;
      case TiffKind::kBilevel:
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_PACKBITS);
        break;
      case TiffKind::kPalette:
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
        for (int i = 0; i < 256; ++i)
          cmap[static_cast<std::size_t>(i)] = static_cast<uint16_t>(i * 257);
        TIFFSetField(tif, TIFFTAG_COLORMAP, cmap.data(), cmap.data(), cmap.data());
        break;
    }
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 64);
    std::vector<uint8_t> line(static_cast<std::size_t>(TIFFScanlineSize(tif)));
    for (int y = 0; y < h; ++y) {
      std::fill(line.begin(), line.end(), 0);
      for (int x = 0; x < w; ++x) {
        const bool frame = x < w / 20 || y < h / 20 || x >= w - w / 20 || y >= h - h / 20;
        const int v = frame ? 0 : (255 * x) / w;  // dark frame, left-to-right gradient
        if (kind == TiffKind::kBilevel) {
          if (v < 128)
            line[static_cast<std::size_t>(x / 8)] |= static_cast<uint8_t>(0x80 >> (x % 8));
        } else if (kind == TiffKind::kRgb) {
          line[static_cast<std::size_t>(3 * x)] = static_cast<uint8_t>(v);
          line[static_cast<std::size_t>(3 * x + 1)] = static_cast<uint8_t>(255 - v / 2);
          line[static_cast<std::size_t>(3 * x + 2)] = static_cast<uint8_t>(v);
        } else {
          line[static_cast<std::size_t>(x)] = static_cast<uint8_t>(v);
        }
      }
      TIFFWriteScanline(tif, line.data(), static_cast<uint32_t>(y), 0);
    }
    TIFFWriteDirectory(tif);
  }
  TIFFClose(tif);
}

FaxPage makeFaxPattern(int rows, double yDpi, int seed) {
  FaxPage page;
  page.yDpi = yDpi;
  page.resize(kFaxWidth, rows);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < kFaxWidth; ++x) {
      bool black = false;
      if (y > 100 && y < 400 && x > 200 && x < 800) black = ((x / 8) + (y / 8)) % 2 == 0;
      if ((y + seed * 7) % 97 < 12 && x > 100 && x < 1600 && (x * 31 + y * seed) % 53 < 30)
        black = true;
      if (x == 1727 || y == rows - 1) black = true;  // edges: last column and row
      if (black) page.row(y)[x >> 3] |= static_cast<uint8_t>(0x80 >> (x & 7));
    }
  }
  return page;
}

void writeFaxTiff(const std::string& path, const std::vector<FaxPage>& pages, FaxCoding coding) {
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  if (tif == nullptr) throw std::runtime_error("cannot write " + path);
  for (std::size_t p = 0; p < pages.size(); ++p) {
    const FaxPage& page = pages[p];
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, page.width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, page.rows);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, static_cast<uint16_t>(p),
                 static_cast<uint16_t>(pages.size()));
    // Received faxes from spandsp come in centimetres; use them to cover the conversion.
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(page.xDpi / 2.54));
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(page.yDpi / 2.54));
    uint32_t rowsPerStrip = static_cast<uint32_t>(page.rows);
    switch (coding) {
      case FaxCoding::kT4_1D:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(tif, TIFFTAG_GROUP3OPTIONS, 0);
        rowsPerStrip = 256;
        break;
      case FaxCoding::kT4_2D:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(tif, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS);
        break;
      case FaxCoding::kT6SingleStrip:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        break;
      case FaxCoding::kT6MultiStrip:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        rowsPerStrip = 128;
        break;
      case FaxCoding::kT6Lsb:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
        break;
      case FaxCoding::kUncompressed:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
        rowsPerStrip = 64;
        break;
    }
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rowsPerStrip);
    std::vector<uint8_t> line(static_cast<std::size_t>(page.stride()));
    for (int y = 0; y < page.rows; ++y) {
      std::copy(page.row(y), page.row(y) + page.stride(), line.begin());
      TIFFWriteScanline(tif, line.data(), static_cast<uint32_t>(y), 0);
    }
    TIFFWriteDirectory(tif);
  }
  TIFFClose(tif);
}

}  // namespace vfax::documents::testing
