#include "documents/fax_tiff.h"

#include <sys/stat.h>
#include <tiffio.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "documents/g4_encoder.h"

namespace vfax::documents {
namespace {

using core::makeError;

int quietHandler(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  if (user != nullptr) {
    char buf[256];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    auto* last = static_cast<std::string*>(user);
    *last = module != nullptr ? std::string(module) + ": " + buf : std::string(buf);
  }
  return 1;  // handled: libtiff must not print to the daemon's stderr
}

// Resolutions in fax TIFFs come in inches or centimetres (spandsp writes both); missing values
// are taken as the fine fax resolution.
void readResolution(TIFF* tif, double* xDpi, double* yDpi) {
  float xr = 0, yr = 0;
  uint16_t unit = RESUNIT_INCH;
  TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  const bool hasX = TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr) == 1 && xr > 0;
  const bool hasY = TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr) == 1 && yr > 0;
  const double f = unit == RESUNIT_CENTIMETER ? 2.54 : 1.0;
  *xDpi = hasX ? xr * f : kFaxXDpi;
  *yDpi = hasY ? yr * f : kFineYDpi;
  // Undo centimetre rounding (8.04 px/mm is 204.2 dpi) so page sizes come out as fax standard.
  if (std::abs(*xDpi - kFaxXDpi) < 1.0) *xDpi = kFaxXDpi;
  for (double standard : {kNormalYDpi, kFineYDpi, 391.0}) {
    if (std::abs(*yDpi - standard) < 1.0) *yDpi = standard;
  }
}

struct TiffCloser {
  void operator()(TIFF* t) const {
    if (t != nullptr) TIFFClose(t);
  }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

// Limits what a hostile header can make us allocate (1728 x 64k rows is well below this).
constexpr uint32_t kMaxWidth = 10000;
constexpr uint32_t kMaxRows = 100000;

core::Result<FaxPage> decodeCurrentPage(TIFF* tif, const std::string& path, int index,
                                        const std::string& lastError) {
  uint32_t w = 0, h = 0;
  uint16_t bps = 1, spp = 1, photometric = PHOTOMETRIC_MINISWHITE;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &photometric);
  if (bps != 1 || spp != 1 || w == 0 || h == 0 || w > kMaxWidth || h > kMaxRows) {
    return makeError("corrupt_file",
                     path + ": page " + std::to_string(index + 1) + " is not a bilevel fax image.");
  }
  FaxPage page;
  page.resize(static_cast<int>(w), static_cast<int>(h));
  readResolution(tif, &page.xDpi, &page.yDpi);
  if (static_cast<std::size_t>(TIFFScanlineSize(tif)) < static_cast<std::size_t>(page.stride())) {
    return makeError("corrupt_file", path + ": unexpected scanline size.");
  }
  std::vector<std::uint8_t> line(static_cast<std::size_t>(TIFFScanlineSize(tif)));
  for (uint32_t y = 0; y < h; ++y) {
    if (TIFFReadScanline(tif, line.data(), y, 0) < 0) {
      return makeError("corrupt_file", path + ": cannot decode page " + std::to_string(index + 1) +
                                           " (" + lastError + ").");
    }
    std::uint8_t* out = page.row(static_cast<int>(y));
    for (int i = 0; i < page.stride(); ++i) {
      out[i] =
          photometric == PHOTOMETRIC_MINISBLACK ? static_cast<std::uint8_t>(~line[i]) : line[i];
    }
    if (w % 8 != 0) out[page.stride() - 1] &= static_cast<std::uint8_t>(0xFF00 >> (w % 8));
  }
  return page;
}

}  // namespace

TIFF* openTiffQuiet(const std::string& path, const char* mode, std::string* lastError) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, quietHandler, lastError);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, quietHandler, nullptr);
  TIFF* tif = TIFFOpenExt(path.c_str(), mode, opts);
  TIFFOpenOptionsFree(opts);
  return tif;
}

FaxTiffWriter::FaxTiffWriter() = default;

FaxTiffWriter::~FaxTiffWriter() {
  if (tif_ != nullptr) TIFFClose(tif_);
}

core::Result<void> FaxTiffWriter::open(const std::string& path, int totalPages) {
  tif_ = openTiffQuiet(path, "w", nullptr);
  if (tif_ == nullptr) return makeError("conversion_failed", "Cannot create " + path + ".");
  path_ = path;
  total_ = totalPages;
  return {};
}

core::Result<void> FaxTiffWriter::openFd(int fd, const std::string& path, int totalPages) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, quietHandler, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, quietHandler, nullptr);
  tif_ = TIFFFdOpenExt(fd, path.c_str(), "w", opts);
  TIFFOpenOptionsFree(opts);
  if (tif_ == nullptr) return makeError("conversion_failed", "Cannot create " + path + ".");
  path_ = path;
  fd_ = fd;
  total_ = totalPages;
  return {};
}

core::Result<void> FaxTiffWriter::addPage(const FaxPage& page) {
  TIFF* t = tif_;
  TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(page.width));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(page.rows));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
  TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<float>(page.xDpi));
  TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<float>(page.yDpi));
  TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<uint32_t>(page.rows));
  TIFFSetField(t, TIFFTAG_GROUP4OPTIONS, 0);
  TIFFSetField(t, TIFFTAG_PAGENUMBER, static_cast<uint16_t>(written_),
               static_cast<uint16_t>(total_));
  TIFFSetField(t, TIFFTAG_SOFTWARE, "vfax");
  // Coded here rather than by libtiff's scanline encoder, which was the slowest step of a
  // conversion; the strip goes into the file as is.
  coded_.clear();
  encodeG4(page, &coded_);
  if (TIFFWriteRawStrip(t, 0, coded_.data(), static_cast<tmsize_t>(coded_.size())) < 0) {
    return makeError("conversion_failed", "Cannot write fax page to " + path_ + ".");
  }
  if (TIFFWriteDirectory(t) != 1) {
    return makeError("conversion_failed", "Cannot write fax page to " + path_ + ".");
  }
  ++written_;
  return {};
}

std::uint64_t FaxTiffWriter::bytesWritten() const {
  struct stat st {};
  if ((fd_ >= 0 ? ::fstat(fd_, &st) : ::stat(path_.c_str(), &st)) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

core::Result<void> FaxTiffWriter::close() {
  if (tif_ == nullptr) return {};
  TIFF* t = tif_;
  tif_ = nullptr;
  const bool ok = TIFFFlush(t) == 1;
  TIFFClose(t);
  if (!ok) return makeError("conversion_failed", "Cannot finish " + path_ + ".");
  return {};
}

core::Result<std::vector<FaxPage>> readFaxTiff(const std::string& path) {
  std::string lastError;
  TiffPtr tif(openTiffQuiet(path, "r", &lastError));
  if (!tif)
    return makeError("corrupt_file", "Cannot open " + path + " as TIFF (" + lastError + ").");
  std::vector<FaxPage> pages;
  int index = 0;
  do {
    auto page = decodeCurrentPage(tif.get(), path, index, lastError);
    if (!page) return page.error();
    pages.push_back(std::move(*page));
    ++index;
  } while (TIFFReadDirectory(tif.get()) == 1);
  return pages;
}

}  // namespace vfax::documents
