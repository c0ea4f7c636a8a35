#pragma once
// TIFF-F files: writing G4 fax pages, reading any bilevel fax TIFF back as bitmaps, and reading
// a page's coded data for embedding in a PDF.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "documents/fax_page.h"

typedef struct tiff TIFF;

namespace vfax::documents {

/// Writes a multi-page TIFF-F (G4, min-is-white, MSB2LSB, one strip per page). The page count
/// must be known up front because every page carries a PageNumber tag "n of total".
class FaxTiffWriter {
 public:
  FaxTiffWriter();
  ~FaxTiffWriter();
  FaxTiffWriter(const FaxTiffWriter&) = delete;
  FaxTiffWriter& operator=(const FaxTiffWriter&) = delete;

  core::Result<void> open(const std::string& path, int totalPages);
  /// The same on a descriptor opened for reading and writing (the TIFF takes it over), for the
  /// sandboxed child that may no longer open paths; `path` is for messages and bytesWritten().
  core::Result<void> openFd(int fd, const std::string& path, int totalPages);
  core::Result<void> addPage(const FaxPage& page);
  core::Result<void> close();
  /// Bytes written so far (pages already flushed).
  std::uint64_t bytesWritten() const;

 private:
  TIFF* tif_ = nullptr;
  std::string path_;
  int total_ = 0;
  int written_ = 0;
  int fd_ = -1;
  std::vector<std::uint8_t> coded_;  // reused for every page
};

/// Decodes every page of a bilevel TIFF (any CCITT or uncompressed coding, any strip layout).
core::Result<std::vector<FaxPage>> readFaxTiff(const std::string& path);

/// Opens a TIFF with libtiff's messages captured into `*lastError` instead of printed.
TIFF* openTiffQuiet(const std::string& path, const char* mode, std::string* lastError);

}  // namespace vfax::documents
