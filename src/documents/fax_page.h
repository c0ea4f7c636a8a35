#pragma once
// One bilevel fax page in memory: rows of packed bits, most significant bit first, 1 = black
// (the TIFF-F "min-is-white" convention, so rows go to and from libtiff without inversion).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vfax::documents {

inline constexpr int kFaxWidth = 1728;
inline constexpr double kFaxXDpi = 204.0;
inline constexpr double kFineYDpi = 196.0;
inline constexpr double kNormalYDpi = 98.0;

struct FaxPage {
  int width = 0;
  int rows = 0;
  double xDpi = kFaxXDpi;
  double yDpi = kFineYDpi;
  std::vector<std::uint8_t> bits;  // rows * stride() bytes

  int stride() const { return (width + 7) / 8; }
  std::uint8_t* row(int y) { return bits.data() + static_cast<std::size_t>(y) * stride(); }
  const std::uint8_t* row(int y) const {
    return bits.data() + static_cast<std::size_t>(y) * stride();
  }
  bool black(int x, int y) const { return (row(y)[x >> 3] >> (7 - (x & 7))) & 1; }
  void resize(int w, int h) {
    width = w;
    rows = h;
    bits.assign(static_cast<std::size_t>(h) * stride(), 0);
  }
};

}  // namespace vfax::documents
