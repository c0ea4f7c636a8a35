#include "api/credentials.h"

#include <strings.h>

namespace vfax::api {

std::string cookieValue(std::string_view rest, std::string_view name) {
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      std::string_view value = part.substr(eq + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return std::string(value);
    }
  }
  return {};
}

std::string bearerToken(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  // The scheme is case-insensitive (RFC 9110 section 11.1).
  if (header.size() > kBearer.size() &&
      strncasecmp(header.data(), kBearer.data(), kBearer.size()) == 0) {
    return std::string(header.substr(kBearer.size()));
  }
  return {};
}

bool sameOrigin(std::string_view host, std::string_view origin, std::string_view referer,
                std::string_view publicOrigin) {
  if (!publicOrigin.empty()) {
    if (!origin.empty() && origin != "null") {
      if (origin == publicOrigin) return true;
    } else if (referer == publicOrigin ||
               referer.substr(0, publicOrigin.size() + 1) == std::string(publicOrigin) + "/") {
      return true;
    }
  }
  if (host.empty()) return false;
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    const std::string base = std::string(scheme) + std::string(host);
    if (!origin.empty() && origin != "null") {
      if (origin == base) return true;
      continue;
    }
    if (referer == base || referer.substr(0, base.size() + 1) == base + "/") return true;
  }
  return false;
}

}  // namespace vfax::api
