#pragma once
// Client addresses against an allow-list ([print] anonymous_allow, [[sip.peer]] match): exact
// addresses and CIDR networks, IPv4 and IPv6; an IPv4 address also matches in its IPv4-mapped
// IPv6 form (::ffff:127.0.0.1), as a dual-stack listener reports it.
#include <string>
#include <vector>

namespace vfax::reactor {

/// True when `address` parses and is one of `allow` (entries that do not parse match nothing).
bool addressAllowed(const std::string& address, const std::vector<std::string>& allow);

}  // namespace vfax::reactor
