#include "fax/g711.h"

#include "fax/spandsp.h"

namespace vfax::fax {

std::string_view toString(G711Law law) { return law == G711Law::Alaw ? "alaw" : "ulaw"; }

std::optional<G711Law> g711LawFromString(std::string_view s) {
  if (s == "alaw") return G711Law::Alaw;
  if (s == "ulaw") return G711Law::Ulaw;
  return std::nullopt;
}

void g711Encode(G711Law law, const std::int16_t* in, std::size_t n, std::uint8_t* out) {
  if (law == G711Law::Alaw) {
    for (std::size_t i = 0; i < n; ++i) out[i] = linear_to_alaw(in[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = linear_to_ulaw(in[i]);
  }
}

void g711Decode(G711Law law, const std::uint8_t* in, std::size_t n, std::int16_t* out) {
  if (law == G711Law::Alaw) {
    for (std::size_t i = 0; i < n; ++i) out[i] = alaw_to_linear(in[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = ulaw_to_linear(in[i]);
  }
}

}  // namespace vfax::fax
