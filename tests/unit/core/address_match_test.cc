#include "core/address_match.h"

#include <gtest/gtest.h>

namespace vfax::core {
namespace {

TEST(AddressMatch, ExactAddressesAndNetworks) {
  const std::vector<std::string> local = {"127.0.0.1", "::1"};
  EXPECT_TRUE(addressAllowed("127.0.0.1", local));
  EXPECT_TRUE(addressAllowed("::1", local));
  EXPECT_TRUE(addressAllowed("::ffff:127.0.0.1", local));  // a dual-stack listener's form
  EXPECT_TRUE(addressAllowed("[::1]", local));
  EXPECT_FALSE(addressAllowed("127.0.0.2", local));
  EXPECT_FALSE(addressAllowed("10.0.0.1", local));

  const std::vector<std::string> nets = {"192.168.10.0/24", "fd00:1::/32", "10.0.0.0/8"};
  EXPECT_TRUE(addressAllowed("192.168.10.77", nets));
  EXPECT_FALSE(addressAllowed("192.168.11.1", nets));
  EXPECT_TRUE(addressAllowed("fd00:1:ffff::5", nets));
  EXPECT_FALSE(addressAllowed("fd00:2::5", nets));
  EXPECT_TRUE(addressAllowed("10.200.1.1", nets));
  EXPECT_TRUE(addressAllowed("1.2.3.4", {"0.0.0.0/0"}));
  EXPECT_FALSE(addressAllowed("::2", {"0.0.0.0/0"}));  // an IPv4 network holds IPv4 only
}

TEST(AddressMatch, NothingThatDoesNotParseMatches) {
  for (const char* bad : {"", "localhost", "127.0.0.1/8", "1.2.3", "::g", "999.1.1.1"}) {
    EXPECT_FALSE(addressAllowed(bad, {"127.0.0.1", "0.0.0.0/0", "::/0"})) << bad;
  }
  for (const char* entry : {"", "10.0.0.0/33", "10.0.0.0/x", "fd00::/129", "bogus", "/8"}) {
    EXPECT_FALSE(addressAllowed("10.0.0.1", {entry})) << entry;
  }
}

TEST(AddressMatch, ValidEntries) {
  for (const char* good : {"127.0.0.1", "::1", "[::1]", "10.0.0.0/8", "0.0.0.0/0", "fd00::/8",
                           "::/0", "192.168.1.7/32", "2001:db8::1/128"}) {
    EXPECT_TRUE(validAddressEntry(good)) << good;
  }
  for (const char* bad :
       {"", "pbx.example.com", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8",
        "10.0.0.0/8x", "1.2.3", "10.0.0.1/8/8", "/8"}) {
    EXPECT_FALSE(validAddressEntry(bad)) << bad;
  }
}

}  // namespace
}  // namespace vfax::core
