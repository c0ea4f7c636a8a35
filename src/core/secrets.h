#pragma once
// Secrets at rest (mailbox and SMTP passwords, trunk secrets): sealed with libsodium's secretbox
// under a key kept in DATA/secret.key (mode 600), so the database alone does not reveal them.
#include <string>

#include "core/result.h"

namespace vfax::core {

class SecretBox {
 public:
  /// Reads the key file, creating it (mode 600) with a random key when it does not exist.
  static Result<SecretBox> loadOrCreate(const std::string& keyFile);

  /// "sb1:" + base64(nonce | ciphertext). Empty in, empty out.
  std::string seal(const std::string& plain) const;
  /// Error `secret_damaged` when the text was not sealed with this key.
  Result<std::string> open(const std::string& sealed) const;

  /// For showing a secret back: never in full ("se****", or "****" when short).
  static std::string mask(const std::string& plain);

 private:
  std::string key_;
};

}  // namespace vfax::core
