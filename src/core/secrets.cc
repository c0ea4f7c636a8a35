#include "core/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace vfax::core {

namespace {
constexpr const char* kPrefix = "sb1:";
}

Result<SecretBox> SecretBox::loadOrCreate(const std::string& keyFile) {
  if (sodium_init() < 0) return makeError("internal", "libsodium failed to initialise");
  SecretBox box;
  std::ifstream in(keyFile, std::ios::binary);
  if (in) {
    std::ostringstream data;
    data << in.rdbuf();
    box.key_ = data.str();
    if (box.key_.size() != crypto_secretbox_KEYBYTES) {
      return makeError("secret_damaged", keyFile + " is not a vfax secret key (wrong size)");
    }
    return box;
  }
  box.key_.resize(crypto_secretbox_KEYBYTES);
  randombytes_buf(box.key_.data(), box.key_.size());
  const int fd = ::open(keyFile.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return makeError("storage_error", "cannot create " + keyFile);
  const bool ok = ::write(fd, box.key_.data(), box.key_.size()) ==
                  static_cast<ssize_t>(box.key_.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return makeError("storage_error", "cannot write " + keyFile);
  return box;
}

std::string SecretBox::seal(const std::string& plain) const {
  if (plain.empty()) return {};
  std::string raw(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(raw.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);  // the terminating NUL
  return kPrefix + b64;
}

Result<std::string> SecretBox::open(const std::string& sealed) const {
  if (sealed.empty()) return std::string();
  const std::string prefix = kPrefix;
  if (sealed.compare(0, prefix.size(), prefix) != 0) {
    return makeError("secret_damaged", "a stored secret is not in the sealed format");
  }
  const std::string b64 = sealed.substr(prefix.size());
  std::string raw(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return makeError("secret_damaged", "a stored secret is damaged");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw.data());
  std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return makeError("secret_damaged", "a stored secret does not open with this installation's key");
  }
  return plain;
}

std::string SecretBox::mask(const std::string& plain) {
  if (plain.empty()) return {};
  if (plain.size() < 8) return "****";
  return plain.substr(0, 2) + "****";
}

}  // namespace vfax::core
