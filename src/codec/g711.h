#pragma once
// G.711 (ITU-T G.711) A-law and mu-law companding for the trunk edge: RTP and IAX2 payloads and
// the loopback trunk. Its own small library so that trunks need nothing of the fax engine.
// Encode and decode are branch-light and allocation-free: they run for every sample of every call.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vfax::codec {

enum class G711Law { Alaw, Ulaw };

std::string_view toString(G711Law law);
std::optional<G711Law> g711LawFromString(std::string_view s);  // "alaw" | "ulaw"

std::uint8_t linearToAlaw(std::int16_t linear);
std::int16_t alawToLinear(std::uint8_t alaw);
std::uint8_t linearToUlaw(std::int16_t linear);
std::int16_t ulawToLinear(std::uint8_t ulaw);

/// Encodes `n` linear 16-bit samples into `n` G.711 bytes.
void g711Encode(G711Law law, const std::int16_t* in, std::size_t n, std::uint8_t* out);
/// Decodes `n` G.711 bytes into `n` linear 16-bit samples.
void g711Decode(G711Law law, const std::uint8_t* in, std::size_t n, std::int16_t* out);

/// Below this amplitude a sample is silence for a fax modem: its signals are -43 dBm0 or
/// louder (about 25 in 16-bit linear at the very least, hundreds to thousands in practice), and
/// a G.711 idle channel codes 0 or the smallest step either side.
inline constexpr int kQuietAmplitude = 24;
/// True when no sample of the frame reaches kQuietAmplitude: a jitter buffer may drop such a
/// frame without cutting into a modem signal.
bool g711Quiet(G711Law law, const std::uint8_t* in, std::size_t n);
bool linearQuiet(const std::int16_t* in, std::size_t n);

}  // namespace vfax::codec
