// TIFF page helpers for calls whose fax ran in several sessions (a T.38 switch after pages were
// already received): the pages of each session's file are joined into the one fax TIFF.
#include <tiffio.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "fax/fax_session.h"

namespace vfax::fax {
namespace {

struct TiffCloser {
  void operator()(TIFF* t) const {
    if (t) TIFFClose(t);
  }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

template <typename T>
void copyField(TIFF* in, TIFF* out, ttag_t tag) {
  T v{};
  if (TIFFGetField(in, tag, &v)) TIFFSetField(out, tag, v);
}

// One page: the tags a fax page carries, and its strips as they are (same compression and
// fill order, so no decoding is needed).
bool copyPage(TIFF* in, TIFF* out, int index, int total) {
  copyField<std::uint32_t>(in, out, TIFFTAG_SUBFILETYPE);
  copyField<std::uint32_t>(in, out, TIFFTAG_IMAGEWIDTH);
  copyField<std::uint32_t>(in, out, TIFFTAG_IMAGELENGTH);
  copyField<std::uint16_t>(in, out, TIFFTAG_BITSPERSAMPLE);
  copyField<std::uint16_t>(in, out, TIFFTAG_SAMPLESPERPIXEL);
  std::uint16_t compression = COMPRESSION_NONE;
  TIFFGetField(in, TIFFTAG_COMPRESSION, &compression);
  TIFFSetField(out, TIFFTAG_COMPRESSION, compression);
  if (compression == COMPRESSION_CCITTFAX3) copyField<std::uint32_t>(in, out, TIFFTAG_T4OPTIONS);
  if (compression == COMPRESSION_CCITTFAX4) copyField<std::uint32_t>(in, out, TIFFTAG_T6OPTIONS);
  copyField<std::uint16_t>(in, out, TIFFTAG_PHOTOMETRIC);
  copyField<std::uint16_t>(in, out, TIFFTAG_FILLORDER);
  copyField<std::uint16_t>(in, out, TIFFTAG_PLANARCONFIG);
  copyField<std::uint32_t>(in, out, TIFFTAG_ROWSPERSTRIP);
  copyField<float>(in, out, TIFFTAG_XRESOLUTION);
  copyField<float>(in, out, TIFFTAG_YRESOLUTION);
  copyField<std::uint16_t>(in, out, TIFFTAG_RESOLUTIONUNIT);
  for (ttag_t tag : {TIFFTAG_SOFTWARE, TIFFTAG_IMAGEDESCRIPTION, TIFFTAG_DATETIME, TIFFTAG_MAKE,
                     TIFFTAG_MODEL, TIFFTAG_DOCUMENTNAME, TIFFTAG_PAGENAME}) {
    copyField<char*>(in, out, tag);
  }
  TIFFSetField(out, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(index),
               static_cast<std::uint16_t>(total));
  const tstrip_t strips = TIFFNumberOfStrips(in);
  std::vector<std::uint8_t> buf;
  for (tstrip_t s = 0; s < strips; ++s) {
    const tmsize_t size = TIFFRawStripSize(in, s);
    if (size < 0) return false;
    buf.resize(static_cast<std::size_t>(size));
    const tmsize_t got = TIFFReadRawStrip(in, s, buf.data(), size);
    if (got < 0) return false;
    if (TIFFWriteRawStrip(out, s, buf.data(), got) < 0) return false;
  }
  return TIFFWriteDirectory(out) != 0;
}

bool copyPages(TIFF* in, TIFF* out, int& index, int total) {
  do {
    if (!copyPage(in, out, index++, total)) return false;
  } while (TIFFReadDirectory(in));
  return true;
}

}  // namespace

core::Result<int> tiffPageCount(const std::string& path) {
  TiffPtr t(TIFFOpen(path.c_str(), "r"));
  if (!t)
    return core::makeError("fax_file_unreadable", "The TIFF file " + path + " cannot be read.");
  return static_cast<int>(TIFFNumberOfDirectories(t.get()));
}

core::Result<void> appendTiffPages(const std::string& dst, const std::string& src) {
  std::error_code ec;
  const bool haveDst = std::filesystem::exists(dst, ec);
  TiffPtr first;
  if (haveDst) {
    first.reset(TIFFOpen(dst.c_str(), "r"));
    if (!first)
      return core::makeError("fax_file_unreadable", "The TIFF file " + dst + " cannot be read.");
  }
  TiffPtr second(TIFFOpen(src.c_str(), "r"));
  if (!second)
    return core::makeError("fax_file_unreadable", "The TIFF file " + src + " cannot be read.");
  const int total = (first ? static_cast<int>(TIFFNumberOfDirectories(first.get())) : 0) +
                    static_cast<int>(TIFFNumberOfDirectories(second.get()));
  const std::string tmp = dst + ".joining";
  bool ok = true;
  {
    TiffPtr out(TIFFOpen(tmp.c_str(), "w"));
    if (!out)
      return core::makeError("fax_file_error", "The TIFF file " + tmp + " cannot be written.");
    int index = 0;
    if (first) ok = copyPages(first.get(), out.get(), index, total);
    if (ok) ok = copyPages(second.get(), out.get(), index, total);
  }
  if (ok) ok = std::rename(tmp.c_str(), dst.c_str()) == 0;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    return core::makeError("fax_file_error",
                           "The pages of " + src + " could not be added to " + dst + ".");
  }
  return {};
}

}  // namespace vfax::fax
