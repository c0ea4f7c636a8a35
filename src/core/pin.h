#pragma once
// A device's Mail-to-Fax PIN: 4 to 12 digits, stored only as an argon2id hash (libsodium
// crypto_pwhash_str with the interactive limits). The PIN itself is never stored, logged or
// returned.
#include <string>
#include <string_view>

#include "core/result.h"

namespace vfax::core {

constexpr std::size_t kPinMinDigits = 4;
constexpr std::size_t kPinMaxDigits = 12;

/// Error code `invalid_device`: "the PIN must be 4 to 12 digits".
Result<void> validatePin(std::string_view pin);
/// The argon2id hash string ("$argon2id$v=19$..."). Errors: `invalid_device` (not a PIN),
/// `internal` (out of memory).
Result<std::string> hashPin(std::string_view pin);
/// Whether `pin` matches `hash`. False for an empty hash or a malformed PIN (without hashing).
bool verifyPin(const std::string& hash, std::string_view pin);

}  // namespace vfax::core
