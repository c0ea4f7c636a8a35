#pragma once
// G.711 companding for the trunk edge (RTP/IAX2 payloads and the loopback trunk).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vfax::fax {

enum class G711Law { Alaw, Ulaw };

std::string_view toString(G711Law law);
std::optional<G711Law> g711LawFromString(std::string_view s);  // "alaw" | "ulaw"

/// Encodes `n` linear 16-bit samples into `n` G.711 bytes.
void g711Encode(G711Law law, const std::int16_t* in, std::size_t n, std::uint8_t* out);
/// Decodes `n` G.711 bytes into `n` linear 16-bit samples.
void g711Decode(G711Law law, const std::uint8_t* in, std::size_t n, std::int16_t* out);

}  // namespace vfax::fax
