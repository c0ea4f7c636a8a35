#pragma once
// Lower-case hex of bytes (libsodium's constant-time encoder).
#include <sodium.h>

#include <cstddef>
#include <string>

namespace vfax::core {

inline std::string toHex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

}  // namespace vfax::core
