#pragma once
// Inputs for the documents tests, generated on the fly: small PDFs written by hand, TIFFs of
// every kind written with libtiff, and fax bitmaps with recognisable content.
#include <string>
#include <vector>

#include "core/documents.h"
#include "documents/fax_page.h"

namespace vfax::documents::testing {

/// A temporary directory removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& contents);

inline core::ConvertRequest request(std::vector<std::string> inputs, std::string out,
                                    bool fine = true) {
  core::ConvertRequest r;
  r.inputs = std::move(inputs);
  r.outputTiff = std::move(out);
  r.fine = fine;
  return r;
}
std::string readFile(const std::string& path);

/// A PDF of `pages` pages of `widthPt` x `heightPt` points: a title "Page N", a black bar and a
/// 50 % grey box on each.
std::string makePdf(int pages, double widthPt = 612, double heightPt = 792);

enum class TiffKind { kRgb, kGrey, kBilevel, kPalette };
/// A TIFF of `pages` pages, `w` x `h` pixels at `xDpi` x `yDpi`, with a dark frame and a gradient.
void writeImageTiff(const std::string& path, TiffKind kind, int pages, int w, int h, double xDpi,
                    double yDpi);

/// A fax page with text-like strokes and a checkerboard block (so coding errors show).
FaxPage makeFaxPattern(int rows, double yDpi, int seed);

enum class FaxCoding { kT4_1D, kT4_2D, kT6SingleStrip, kT6MultiStrip, kT6Lsb, kUncompressed };
void writeFaxTiff(const std::string& path, const std::vector<FaxPage>& pages, FaxCoding coding);

}  // namespace vfax::documents::testing
