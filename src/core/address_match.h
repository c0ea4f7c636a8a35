#pragma once
// Client addresses against an allow-list ([print] anonymous_allow, [[sip.peer]] match): exact
// addresses and CIDR networks, IPv4 and IPv6; an IPv4 address also matches in its IPv4-mapped
// IPv6 form (::ffff:127.0.0.1), as a dual-stack listener reports it.
#include <string>
#include <vector>

namespace vfax::core {

/// True when `address` parses and is one of `allow` (entries that do not parse match nothing).
bool addressAllowed(const std::string& address, const std::vector<std::string>& allow);

/// True when `entry` is a numeric IPv4/IPv6 address or a network ADDRESS/PREFIX (prefix 0-32 for
/// IPv4, 0-128 for IPv6): what an allow-list may hold.
bool validAddressEntry(const std::string& entry);

}  // namespace vfax::core
