#pragma once
// An IPv4 or IPv6 socket address. Parsing takes numeric addresses only: host names go through
// the Resolver (reactor/resolver.h), never a blocking lookup on the loop thread.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace vfax::reactor {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;

  bool operator==(const SockAddr& o) const;
  bool sameHost(const SockAddr& o) const;
  int port() const;
  void setPort(int port);
  std::string toString() const;  // "1.2.3.4:5" / "[::1]:5"
  std::size_t hash() const;
  /// "127.0.0.1", "::1" or "[::1]" with a port; nullopt for names and bad input.
  static std::optional<SockAddr> numeric(const std::string& host, int port);
};

/// A numeric address or a syntactically valid DNS host name (RFC 1123 labels).
bool validHost(const std::string& host);

struct SockAddrHash {
  std::size_t operator()(const SockAddr& a) const { return a.hash(); }
};

}  // namespace vfax::reactor
