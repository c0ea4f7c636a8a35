#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "trunks/iax2/engine.h"

namespace vfax::trunks::iax2 {

bool Address::operator==(const Address& o) const {
  if (ss.ss_family != o.ss.ss_family) return false;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&o.ss);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&o.ss);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

bool Address::sameHost(const Address& o) const {
  if (ss.ss_family != o.ss.ss_family) return false;
  if (ss.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&o.ss)->sin_addr.s_addr;
  }
  if (ss.ss_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&o.ss)->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return false;
}

std::string Address::toString() const {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

std::optional<Address> Address::parse(const std::string& host, int port) {
  if (port <= 0 || port > 65535) return std::nullopt;
  Address a;
  sockaddr_in v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&a.ss, &v4, sizeof(v4));
    a.len = sizeof(v4);
    return a;
  }
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&a.ss, &v6, sizeof(v6));
    a.len = sizeof(v6);
    return a;
  }
  // A host name: resolved once here (configuration time), numeric addresses preferred.
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return std::nullopt;
  std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
  a.len = static_cast<socklen_t>(res->ai_addrlen);
  freeaddrinfo(res);
  if (a.ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.ss)->sin_port = htons(static_cast<std::uint16_t>(port));
  } else if (a.ss.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&a.ss)->sin6_port = htons(static_cast<std::uint16_t>(port));
  } else {
    return std::nullopt;
  }
  return a;
}

}  // namespace vfax::trunks::iax2
