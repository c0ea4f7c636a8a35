#include "documents/g4_encoder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string_view>

namespace vfax::documents {
namespace {

struct Code {
  std::uint32_t bits = 0;
  int length = 0;
};

// The modified Huffman run-length codes of ITU-T T.4 (tables 2 and 3), written as in the
// standard so they can be checked by eye: terminating codes for runs 0..63, then make-up codes
// for 64..1728 in steps of 64. The extended make-up codes (1792..2560) are shared by both colours.
constexpr std::array<std::string_view, 64 + 27> kWhite = {
    "00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111", "10011", "10100", "00111",
    "01000", "001000", "000011", "110100", "110101", "101010", "101011", "0100111", "0001100",
    "0001000", "0010111", "0000011", "0000100", "0101000", "0101011", "0010011", "0100100",
    "0011000", "00000010", "00000011", "00011010", "00011011", "00010010", "00010011", "00010100",
    "00010101", "00010110", "00010111", "00101000", "00101001", "00101010", "00101011", "00101100",
    "00101101", "00000100", "00000101", "00001010", "00001011", "01010010", "01010011", "01010100",
    "01010101", "00100100", "00100101", "01011000", "01011001", "01011010", "01011011", "01001010",
    "01001011", "00110010", "00110011", "00110100",
    // make-up 64 .. 1728
    "11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
    "01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100",
    "011010101", "011010110", "011010111", "011011000", "011011001", "011011010", "011011011",
    "010011000", "010011001", "010011010", "011000", "010011011"};

constexpr std::array<std::string_view, 64 + 27> kBlack = {
    "0000110111", "010", "11", "10", "011", "0011", "0010", "00011", "000101", "000100", "0000100",
    "0000101", "0000111", "00000100", "00000111", "000011000", "0000010111", "0000011000",
    "0000001000", "00001100111", "00001101000", "00001101100", "00000110111", "00000101000",
    "00000010111", "00000011000", "000011001010", "000011001011", "000011001100", "000011001101",
    "000001101000", "000001101001", "000001101010", "000001101011", "000011010010", "000011010011",
    "000011010100", "000011010101", "000011010110", "000011010111", "000001101100", "000001101101",
    "000011011010", "000011011011", "000001010100", "000001010101", "000001010110", "000001010111",
    "000001100100", "000001100101", "000001010010", "000001010011", "000000100100", "000000110111",
    "000000111000", "000000100111", "000000101000", "000001011000", "000001011001", "000000101011",
    "000000101100", "000001011010", "000001100110", "000001100111",
    // make-up 64 .. 1728
    "0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100",
    "000000110101", "0000001101100", "0000001101101", "0000001001010", "0000001001011",
    "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
    "0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011",
    "0000001010100", "0000001010101", "0000001011010", "0000001011011", "0000001100100",
    "0000001100101"};

// make-up 1792 .. 2560
constexpr std::array<std::string_view, 13> kExtended = {
    "00000001000",  "00000001100",  "00000001101",  "000000010010", "000000010011",
    "000000010100", "000000010101", "000000010110", "000000010111", "000000011100",
    "000000011101", "000000011110", "000000011111"};

constexpr Code parse(std::string_view s) {
  Code c;
  for (char ch : s) c.bits = (c.bits << 1) | (ch == '1' ? 1u : 0u);
  c.length = static_cast<int>(s.size());
  return c;
}

struct Tables {
  std::array<Code, 64 + 27 + 13> white{};  // terminating, make-up, extended make-up
  std::array<Code, 64 + 27 + 13> black{};
};

const Tables& tables() {
  static const Tables t = [] {
    Tables r;
    for (std::size_t i = 0; i < kWhite.size(); ++i) r.white[i] = parse(kWhite[i]);
    for (std::size_t i = 0; i < kBlack.size(); ++i) r.black[i] = parse(kBlack[i]);
    for (std::size_t i = 0; i < kExtended.size(); ++i) {
      r.white[kWhite.size() + i] = r.black[kBlack.size() + i] = parse(kExtended[i]);
    }
    return r;
  }();
  return t;
}

constexpr Code kPass{0b0001, 4};
constexpr Code kHorizontal{0b001, 3};
// Vertical mode by a1 - b1 = -3 .. 3.
constexpr std::array<Code, 7> kVertical = {Code{0b0000010, 7}, Code{0b000010, 6}, Code{0b010, 3},
                                           Code{0b1, 1},       Code{0b011, 3},    Code{0b000011, 6},
                                           Code{0b0000011, 7}};
constexpr Code kEol{0b000000000001, 12};

class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>* out) : out_(out) {}
  void put(Code c) {
    acc_ = (acc_ << c.length) | c.bits;
    n_ += c.length;
    while (n_ >= 8) {
      n_ -= 8;
      out_->push_back(static_cast<std::uint8_t>(acc_ >> n_));
    }
  }
  void flush() {
    if (n_ > 0) out_->push_back(static_cast<std::uint8_t>(acc_ << (8 - n_)));
    n_ = 0;
  }

 private:
  std::vector<std::uint8_t>* out_;
  std::uint64_t acc_ = 0;
  int n_ = 0;
};

void putRun(BitWriter& w, int run, bool black) {
  const auto& t = black ? tables().black : tables().white;
  while (run >= 2560) {
    w.put(t[64 + 27 + 12]);
    run -= 2560;
  }
  if (run >= 1792) {
    w.put(t[64 + 27 + static_cast<std::size_t>((run - 1792) / 64)]);
    run %= 64;
  } else if (run >= 64) {
    w.put(t[64 + static_cast<std::size_t>(run / 64 - 1)]);
    run %= 64;
  }
  w.put(t[static_cast<std::size_t>(run)]);
}

}  // namespace

void rowChanges(const std::uint8_t* row, int width, std::vector<int>* changes) {
  changes->clear();
  const int bytes = (width + 7) / 8;
  int pos = 0;
  std::uint64_t invert = 0;  // all ones while the current colour is black
  while (pos < width) {
    // The next 64 bits from pos, most significant first; past the row end the page is white.
    const int byte = pos >> 3;
    std::uint64_t word = 0;
    if (byte + 8 <= bytes) {
      std::memcpy(&word, row + byte, 8);
      if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    } else {
      for (int k = 0; k < 8; ++k) word = (word << 8) | (byte + k < bytes ? row[byte + k] : 0u);
    }
    word = (word << (pos & 7)) ^ invert;
    const int valid = 64 - (pos & 7);
    if (word == 0 || std::countl_zero(word) >= valid) {
      pos += valid;
      continue;
    }
    pos += std::countl_zero(word);
    if (pos >= width) break;
    changes->push_back(pos);
    invert = ~invert;
  }
}

void encodeG4(const FaxPage& page, std::vector<std::uint8_t>* out, bool withEofb) {
  const int width = page.width;
  out->reserve(out->size() + static_cast<std::size_t>(page.rows) * 8);
  BitWriter w(out);
  std::vector<int> ref, cur;
  ref.assign(3, width);  // the imaginary white line above the page
  for (int y = 0; y < page.rows; ++y) {
    rowChanges(page.row(y), width, &cur);
    cur.insert(cur.end(), 3, width);
    int a0 = -1, color = 0;  // a0 before the first pixel, on white
    std::size_t ia = 0, jr = 0;
    for (;;) {
      const int a1 = cur[ia];
      while (ref[jr] <= a0) ++jr;
      // b1: the first change on the reference line right of a0 to the colour opposite a0's;
      // changes alternate white->black (even index) and black->white.
      const std::size_t j = jr + ((jr & 1) != static_cast<std::size_t>(color) ? 1 : 0);
      const int b1 = ref[j], b2 = ref[j + 1];
      if (b2 < a1) {
        w.put(kPass);
        a0 = b2;
      } else if (a1 - b1 >= -3 && a1 - b1 <= 3) {
        w.put(kVertical[static_cast<std::size_t>(a1 - b1 + 3)]);
        a0 = a1;
        color ^= 1;
        ++ia;
      } else {
        const int a2 = cur[ia + 1];
        w.put(kHorizontal);
        putRun(w, a1 - std::max(a0, 0), color != 0);
        putRun(w, a2 - a1, color == 0);
        a0 = a2;
        ia += 2;
      }
      if (a0 >= width) break;
    }
    std::swap(ref, cur);
  }
  if (withEofb) {
    w.put(kEol);
    w.put(kEol);
  }
  w.flush();
}

}  // namespace vfax::documents
