#include "core/address_match.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>

namespace vfax::core {

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

// "ADDR" or "ADDR/BITS" into the network's address and its prefix length in the 16-byte form
// (an IPv4 prefix counts from bit 96), or nothing.
struct Network {
  std::array<unsigned char, 16> base;
  int bits;
};
std::optional<Network> parseNetwork(const std::string& entry) {
  std::string net = entry;
  int bits = -1;
  if (auto slash = entry.find('/'); slash != std::string::npos) {
    net = entry.substr(0, slash);
    const std::string digits = entry.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.front() == '+' || digits.front() == '-') {
      return std::nullopt;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  }
  const auto base = parseAddress(net);
  if (!base) return std::nullopt;
  const bool v4 = net.find(':') == std::string::npos;
  if (bits < 0) return Network{*base, 128};
  if (bits > (v4 ? 32 : 128)) return std::nullopt;
  return Network{*base, v4 ? bits + 96 : bits};
}

}  // namespace

bool validAddressEntry(const std::string& entry) { return parseNetwork(entry).has_value(); }

bool addressAllowed(const std::string& address, const std::vector<std::string>& allow) {
  const auto addr = parseAddress(address);
  if (!addr) return false;
  for (const auto& entry : allow) {
    const auto network = parseNetwork(entry);
    if (!network) continue;
    const auto& base = network->base;
    const int bits = network->bits;
    bool match = true;
    for (int i = 0; i < bits && match; ++i) {
      const unsigned char mask = static_cast<unsigned char>(0x80 >> (i % 8));
      match = ((*addr)[i / 8] & mask) == (base[i / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace vfax::core
