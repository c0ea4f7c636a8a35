#pragma once
// Test helpers shared by the fax and trunks tests: write a G4 fax TIFF with a distinct pattern
// per page, read back every page as 1-bit rows (1 = black), and make temp dirs.
#include <tiffio.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace vfax::testing {

inline constexpr int kFaxWidth = 1728;

struct Page {
  int width = 0;
  int rows = 0;
  std::vector<std::vector<std::uint8_t>> bits;  // rows of packed bits, black = 1
};

inline std::string makeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vfax-test-XXXXXX").string();
  char* dir = ::mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

inline Page patternPage(int pageNo, int rows) {
  Page p;
  p.width = kFaxWidth;
  p.rows = rows;
  const int bytes = kFaxWidth / 8;
  for (int y = 0; y < rows; ++y) {
    std::vector<std::uint8_t> row(bytes, 0);
    for (int x = 0; x < kFaxWidth; ++x) {
      // Diagonal stripes whose period depends on the page, plus a page-numbered block.
      bool black = ((x + y) / (8 + 4 * pageNo)) % 2 == 0;
      if (y > 20 && y < 60 && x > 100 * (pageNo + 1) && x < 100 * (pageNo + 1) + 60) black = true;
      if (black) row[x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
    }
    p.bits.push_back(std::move(row));
  }
  return p;
}

/// Writes `pages` as a fine-resolution (204x196 dpi) G4 TIFF-F.
inline bool writeG4Tiff(const std::string& path, const std::vector<Page>& pages) {
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  if (!tif) return false;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const Page& p = pages[i];
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, p.width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, p.rows);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, p.rows);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, 204.0f);
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, 196.0f);
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(i),
                 static_cast<std::uint16_t>(pages.size()));
    for (int y = 0; y < p.rows; ++y) {
      std::vector<std::uint8_t> row = p.bits[y];
      if (TIFFWriteScanline(tif, row.data(), y, 0) < 0) {
        TIFFClose(tif);
        return false;
      }
    }
    if (!TIFFWriteDirectory(tif)) {
      TIFFClose(tif);
      return false;
    }
  }
  TIFFClose(tif);
  return true;
}

/// Reads every page; rows normalised so that black = 1.
inline std::vector<Page> readTiff(const std::string& path) {
  std::vector<Page> pages;
  TIFF* tif = TIFFOpen(path.c_str(), "r");
  if (!tif) return pages;
  do {
    Page p;
    std::uint32_t w = 0, h = 0;
    std::uint16_t photometric = PHOTOMETRIC_MINISWHITE;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    p.width = static_cast<int>(w);
    p.rows = static_cast<int>(h);
    std::vector<std::uint8_t> buf(TIFFScanlineSize(tif));
    for (std::uint32_t y = 0; y < h; ++y) {
      if (TIFFReadScanline(tif, buf.data(), y, 0) < 0) break;
      std::vector<std::uint8_t> row(buf.begin(), buf.begin() + (w + 7) / 8);
      if (photometric == PHOTOMETRIC_MINISBLACK)
        for (auto& b : row) b = static_cast<std::uint8_t>(~b);
      p.bits.push_back(std::move(row));
    }
    pages.push_back(std::move(p));
  } while (TIFFReadDirectory(tif));
  TIFFClose(tif);
  return pages;
}

/// The number of header rows the receiver's page carries above the sent bitmap, or -1 when
/// the rows below them differ from the sent page.
inline int headerRowsAbove(const Page& sent, const Page& received) {
  if (received.width != sent.width || received.rows < sent.rows) return -1;
  int header = received.rows - sent.rows;
  for (int y = 0; y < sent.rows; ++y) {
    if (received.bits[header + y] != sent.bits[y]) return -1;
  }
  return header;
}

}  // namespace vfax::testing
