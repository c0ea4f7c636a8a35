#include "core/pin.h"

#include <sodium.h>

#include <algorithm>

namespace vfax::core {

Result<void> validatePin(std::string_view pin) {
  if (pin.size() < kPinMinDigits || pin.size() > kPinMaxDigits ||
      !std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return makeError("invalid_device", "the PIN must be " + std::to_string(kPinMinDigits) + " to " +
                                           std::to_string(kPinMaxDigits) + " digits");
  }
  return {};
}

Result<std::string> hashPin(std::string_view pin) {
  if (auto r = validatePin(pin); !r) return r.error();
  if (sodium_init() < 0) return makeError("internal", "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, pin.data(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return makeError("internal", "not enough memory to hash the PIN");
  }
  return std::string(out);
}

bool verifyPin(const std::string& hash, std::string_view pin) {
  if (hash.empty() || !validatePin(pin)) return false;
  if (sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), pin.data(), pin.size()) == 0;
}

}  // namespace vfax::core
