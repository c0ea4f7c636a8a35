#include "core/mail_address.h"

#include <string>

#include "core/log_safe.h"

namespace vfax::core {

namespace {

bool isAtext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool isLabelChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Why `a` is not one bare address, or empty when it is.
std::string_view problem(std::string_view a) {
  if (a.empty()) return "is empty";
  if (a.size() > kMaxMailAddressBytes) return "is longer than 254 bytes";
  // The most telling problem first: a line break or a second address over a stray space.
  for (unsigned char c : a) {
    if (c < 0x20 || c == 0x7f) return "contains a control character (a line break?)";
  }
  if (a.find_first_of(",;") != std::string_view::npos) {
    return "names more than one address (a comma or semicolon)";
  }
  if (a.find_first_of("<>\"()") != std::string_view::npos) {
    return "has a display name, quotes or a comment: give the bare address only";
  }
  for (unsigned char c : a) {
    if (c >= 0x80) return "contains a non-ASCII character (write the domain in its xn-- form)";
  }
  if (a.find(' ') != std::string_view::npos) return "contains a space";
  const auto at = a.find('@');
  if (at == std::string_view::npos) return "has no '@'";
  if (a.find('@', at + 1) != std::string_view::npos) return "has more than one '@'";
  const std::string_view local = a.substr(0, at);
  const std::string_view domain = a.substr(at + 1);
  if (local.empty()) return "has nothing before the '@'";
  if (local.size() > kMaxMailLocalPartBytes) return "has a part before the '@' over 64 bytes";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return "has a misplaced dot before the '@'";
  }
  for (unsigned char c : local) {
    if (c != '.' && !isAtext(c)) return "has a character not allowed before the '@'";
  }
  if (domain.empty()) return "has no domain after the '@'";
  std::size_t start = 0;
  for (;;) {
    const auto dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return "has an empty or too long domain label";
    if (label.front() == '-' || label.back() == '-')
      return "has a domain label starting or ending with '-'";
    for (unsigned char c : label) {
      if (!isLabelChar(c)) return "has a character not allowed in the domain";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

}  // namespace

Result<void> validateMailAddress(std::string_view address, std::string_view field) {
  const std::string_view why = problem(address);
  if (why.empty()) return {};
  return makeError("invalid_request", std::string(field) + ": '" + logSafe(address, 80) +
                                          "' is not a single e-mail address: it " +
                                          std::string(why));
}

}  // namespace vfax::core
