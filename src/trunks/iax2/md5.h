#pragma once
// MD5 (RFC 1321), only for IAX2's challenge/response authentication (RFC 5456 section 8.6.16),
// which the protocol fixes. Not for anything else.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vfax::trunks::iax2 {

std::array<std::uint8_t, 16> md5(std::string_view data);
/// Lower-case hex of MD5(challenge + secret): the MD5 RESULT IE.
std::string md5Response(std::string_view challenge, std::string_view secret);
/// Constant-time comparison of two response strings (case-insensitive hex).
bool responsesEqual(std::string_view a, std::string_view b);

}  // namespace vfax::trunks::iax2
