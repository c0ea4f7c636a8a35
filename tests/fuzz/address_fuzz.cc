// libFuzzer target over the print allow-list check ([print] anonymous_allow against the address
// vfax-printer reports): any address and any list entries (the input split at newlines, the first
// line the address) give an answer, never a crash; an address never matches an empty list, and a
// valid plain-address entry (validAddressEntry) matches itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_match.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    const auto nl = in.find('\n', pos);
    lines.emplace_back(in.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  const std::string address = lines.front();
  const std::vector<std::string> allow(lines.begin() + 1, lines.end());
  (void)vfax::core::addressAllowed(address, allow);
  if (vfax::core::addressAllowed(address, {})) std::abort();
  // An entry the config check takes ([print] anonymous_allow, [[sip.peer]] match) that is a
  // plain address matches itself.
  for (const auto& entry : allow) {
    if (vfax::core::validAddressEntry(entry) && entry.find('/') == std::string::npos &&
        !vfax::core::addressAllowed(entry, {entry})) {
      std::abort();
    }
  }
  return 0;
}
