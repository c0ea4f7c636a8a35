#include "api/address_match.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <optional>

#include "api/query.h"

namespace vfax::api {

namespace {

// An address as 16 bytes (IPv4 as IPv4-mapped IPv6), or nothing.
std::optional<std::array<unsigned char, 16>> parseAddress(std::string s) {
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // fe80::1%eth0
  std::array<unsigned char, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

}  // namespace

bool addressAllowed(const std::string& address, const std::vector<std::string>& allow) {
  const auto addr = parseAddress(address);
  if (!addr) return false;
  for (const auto& entry : allow) {
    std::string net = entry;
    int bits = -1;
    if (auto slash = entry.find('/'); slash != std::string::npos) {
      net = entry.substr(0, slash);
      auto n = parseId(entry.substr(slash + 1));
      if (!n && entry.substr(slash + 1) != "0") continue;
      bits = n ? static_cast<int>(*n) : 0;
    }
    const auto base = parseAddress(net);
    if (!base) continue;
    const bool v4 = net.find(':') == std::string::npos;
    if (bits < 0)
      bits = 128;
    else if (v4)
      bits += 96;
    if (bits > 128) continue;
    bool match = true;
    for (int i = 0; i < bits && match; ++i) {
      const unsigned char mask = static_cast<unsigned char>(0x80 >> (i % 8));
      match = ((*addr)[i / 8] & mask) == ((*base)[i / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace vfax::api
