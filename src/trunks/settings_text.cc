#include "trunks/settings_text.h"

namespace vfax::trunks {

bool validName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string maskSecret(const std::string& secret) {
  if (secret.empty()) return "";
  return secret.substr(0, 1) + std::string(7, '*');
}

}  // namespace vfax::trunks
