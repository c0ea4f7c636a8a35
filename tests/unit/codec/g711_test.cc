// Our G.711 against spandsp's (the reference the fax engine was tested with): every input value.
#include <gtest/gtest.h>

#include "codec/g711.h"

extern "C" {
#include <spandsp.h>
}

namespace vfax::codec {
namespace {

TEST(G711, EncodesEveryLinearValueAsSpandspDoes) {
  for (int v = -32768; v <= 32767; ++v) {
    auto s = static_cast<std::int16_t>(v);
    ASSERT_EQ(linearToAlaw(s), linear_to_alaw(s)) << v;
    ASSERT_EQ(linearToUlaw(s), linear_to_ulaw(s)) << v;
  }
}

TEST(G711, DecodesEveryCodeAsSpandspDoes) {
  for (int c = 0; c < 256; ++c) {
    auto b = static_cast<std::uint8_t>(c);
    ASSERT_EQ(alawToLinear(b), alaw_to_linear(b)) << c;
    ASSERT_EQ(ulawToLinear(b), ulaw_to_linear(b)) << c;
  }
}

TEST(G711, BlockFunctionsRoundTrip) {
  std::int16_t in[160];
  for (int i = 0; i < 160; ++i) in[i] = static_cast<std::int16_t>((i - 80) * 300);
  for (auto law : {G711Law::Alaw, G711Law::Ulaw}) {
    std::uint8_t enc[160];
    std::int16_t out[160];
    g711Encode(law, in, 160, enc);
    g711Decode(law, enc, 160, out);
    for (int i = 0; i < 160; ++i) EXPECT_NEAR(out[i], in[i], 1100) << toString(law) << " " << i;
  }
  EXPECT_EQ(g711LawFromString("ulaw"), G711Law::Ulaw);
  EXPECT_EQ(g711LawFromString("alaw"), G711Law::Alaw);
  EXPECT_FALSE(g711LawFromString("gsm"));
}

}  // namespace
}  // namespace vfax::codec
