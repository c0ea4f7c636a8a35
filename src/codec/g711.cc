#include "codec/g711.h"

#include <array>

namespace vfax::codec {
namespace {

// Position of the highest set bit (value > 0).
inline int topBit(unsigned v) { return 31 - __builtin_clz(v); }

constexpr int kUlawBias = 0x84;
constexpr std::uint8_t kAlawAmiMask = 0x55;  // even bits inverted on the line

std::uint8_t computeAlaw(std::int16_t sample);
std::uint8_t computeUlaw(std::int16_t sample);

// Tables built once: decoding 256 entries per law; A-law encoding depends only on the top 13
// bits (8 KiB); mu-law encoding on every bit (its bias carries), so all 65536 values (64 KiB).
struct Tables {
  std::array<std::int16_t, 256> alaw{};
  std::array<std::int16_t, 256> ulaw{};
  std::array<std::uint8_t, 8192> toAlaw{};
  std::array<std::uint8_t, 65536> toUlaw{};
  Tables() {
    for (int i = 0; i < 8192; ++i) {
      toAlaw[i] = computeAlaw(static_cast<std::int16_t>(static_cast<std::uint16_t>(i << 3)));
    }
    for (int i = 0; i < 65536; ++i) {
      toUlaw[i] = computeUlaw(static_cast<std::int16_t>(static_cast<std::uint16_t>(i)));
    }
    for (int i = 0; i < 256; ++i) {
      int a = i ^ kAlawAmiMask;
      int seg = (a & 0x70) >> 4;
      int t = seg ? (((a & 0x0F) << 4) + 0x108) << (seg - 1) : ((a & 0x0F) << 4) + 8;
      alaw[i] = static_cast<std::int16_t>((a & 0x80) ? t : -t);

      int u = ~i & 0xFF;
      int v = (((u & 0x0F) << 3) + kUlawBias) << ((u & 0x70) >> 4);
      ulaw[i] = static_cast<std::int16_t>((u & 0x80) ? (kUlawBias - v) : (v - kUlawBias));
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view toString(G711Law law) { return law == G711Law::Alaw ? "alaw" : "ulaw"; }

std::optional<G711Law> g711LawFromString(std::string_view s) {
  if (s == "alaw") return G711Law::Alaw;
  if (s == "ulaw") return G711Law::Ulaw;
  return std::nullopt;
}

namespace {

std::uint8_t computeAlaw(std::int16_t sample) {
  int linear = sample;
  int mask = kAlawAmiMask | 0x80;
  if (linear < 0) {
    mask = kAlawAmiMask;
    linear = -linear - 1;
  }
  int seg = topBit(static_cast<unsigned>(linear) | 0xFF) - 7;
  if (seg >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  int shift = seg ? seg + 3 : 4;
  return static_cast<std::uint8_t>(((seg << 4) | ((linear >> shift) & 0x0F)) ^ mask);
}

std::uint8_t computeUlaw(std::int16_t sample) {
  int linear = sample;
  int mask = 0xFF;
  if (linear < 0) {
    linear = kUlawBias - linear;
    mask = 0x7F;
  } else {
    linear = kUlawBias + linear;
  }
  int seg = topBit(static_cast<unsigned>(linear) | 0xFF) - 7;
  if (seg >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  return static_cast<std::uint8_t>(((seg << 4) | ((linear >> (seg + 3)) & 0x0F)) ^ mask);
}

}  // namespace

std::uint8_t linearToAlaw(std::int16_t sample) {
  return tables().toAlaw[static_cast<std::uint16_t>(sample) >> 3];
}
std::uint8_t linearToUlaw(std::int16_t sample) {
  return tables().toUlaw[static_cast<std::uint16_t>(sample)];
}
std::int16_t alawToLinear(std::uint8_t alaw) { return tables().alaw[alaw]; }
std::int16_t ulawToLinear(std::uint8_t ulaw) { return tables().ulaw[ulaw]; }

void g711Encode(G711Law law, const std::int16_t* in, std::size_t n, std::uint8_t* out) {
  const Tables& t = tables();
  if (law == G711Law::Alaw) {
    for (std::size_t i = 0; i < n; ++i) out[i] = t.toAlaw[static_cast<std::uint16_t>(in[i]) >> 3];
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = t.toUlaw[static_cast<std::uint16_t>(in[i])];
  }
}

void g711Decode(G711Law law, const std::uint8_t* in, std::size_t n, std::int16_t* out) {
  const auto& table = law == G711Law::Alaw ? tables().alaw : tables().ulaw;
  for (std::size_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

bool g711Quiet(G711Law law, const std::uint8_t* in, std::size_t n) {
  const auto& table = law == G711Law::Alaw ? tables().alaw : tables().ulaw;
  for (std::size_t i = 0; i < n; ++i) {
    const int v = table[in[i]];
    if (v >= kQuietAmplitude || v <= -kQuietAmplitude) return false;
  }
  return true;
}

bool linearQuiet(const std::int16_t* in, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i] >= kQuietAmplitude || in[i] <= -kQuietAmplitude) return false;
  }
  return true;
}

}  // namespace vfax::codec
