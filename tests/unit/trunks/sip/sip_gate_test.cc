#include "trunks/sip/sip_gate.h"

#include <gtest/gtest.h>

#include <string>

namespace vfax::trunks::sip {
namespace {

std::string v4(int i) {
  return "10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
         std::to_string(i & 255);
}

TEST(SourceGate, AnswersAreLimitedPerSourceAndInAll) {
  SourceGate g;
  const std::int64_t t = 1'000'000;
  EXPECT_TRUE(g.mayAnswer("192.0.2.1", t));
  EXPECT_TRUE(g.mayAnswer("192.0.2.1", t + 10));
  EXPECT_FALSE(g.mayAnswer("192.0.2.1", t + 20));
  EXPECT_TRUE(g.mayAnswer("192.0.2.1", t + 1000));  // the next second
  int answered = 0;
  for (int i = 0; i < 500; ++i) answered += g.mayAnswer(v4(i), t + 2000) ? 1 : 0;
  EXPECT_EQ(answered, SourceGate::kAnswersPerSecond);
  // Once the global budget is spent, strangers cost no new entries.
  EXPECT_LE(g.size(), static_cast<std::size_t>(SourceGate::kAnswersPerSecond) + 1);
}

TEST(SourceGate, FailuresBlockForAWhile) {
  SourceGate g;
  const std::int64_t t = 5'000'000;
  for (int i = 0; i < SourceGate::kFailuresBeforeBlock - 1; ++i)
    g.recordFailure("192.0.2.7", t + i);
  EXPECT_FALSE(g.blocked("192.0.2.7", t + 10));
  g.recordFailure("192.0.2.7", t + 11);
  EXPECT_TRUE(g.blocked("192.0.2.7", t + 12));
  EXPECT_FALSE(g.blocked("192.0.2.8", t + 12));
  EXPECT_TRUE(g.blocked("192.0.2.7", t + 11 + SourceGate::kBlockMs - 1));
  EXPECT_FALSE(g.blocked("192.0.2.7", t + 11 + SourceGate::kBlockMs));
}

TEST(SourceGate, FailuresOutsideTheWindowDoNotAddUp) {
  SourceGate g;
  std::int64_t t = 9'000'000;
  for (int i = 0; i < 20; ++i) {
    g.recordFailure("192.0.2.9", t);
    t += SourceGate::kWindowMs / (SourceGate::kFailuresBeforeBlock - 1) + 1;
  }
  EXPECT_FALSE(g.blocked("192.0.2.9", t));
}

TEST(SourceGate, AnIpv6HostIsCountedByItsSlash64) {
  EXPECT_EQ(SourceGate::sourceKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceGate::sourceKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceGate::sourceKey("fe80::1%eth0"), "fe80::/64");
  EXPECT_EQ(SourceGate::sourceKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(SourceGate::sourceKey("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(SourceGate::sourceKey("not an address"), "not an address");
  EXPECT_EQ(SourceGate::sourceKey(""), "");

  // A brute-forcer rotating through its /64 is blocked as one source...
  SourceGate g;
  const std::int64_t t = 1'000'000;
  for (int i = 0; i < SourceGate::kFailuresBeforeBlock; ++i) {
    g.recordFailure("2001:db8:1:2::" + std::to_string(i + 1), t + i);
  }
  EXPECT_TRUE(g.blocked("2001:db8:1:2:ffff::42", t + 10));
  EXPECT_FALSE(g.blocked("2001:db8:1:3::1", t + 10));
  // ... and gets one answer budget, whichever of its addresses asks.
  EXPECT_TRUE(g.mayAnswer("2001:db8:9::1", t + 2000));
  EXPECT_TRUE(g.mayAnswer("2001:db8:9::2", t + 2000));
  EXPECT_FALSE(g.mayAnswer("2001:db8:9::3", t + 2000));
  // IPv4-mapped and plain IPv4 are the same source.
  EXPECT_TRUE(g.mayAnswer("192.0.2.5", t + 3000));
  EXPECT_TRUE(g.mayAnswer("::ffff:192.0.2.5", t + 3000));
  EXPECT_FALSE(g.mayAnswer("192.0.2.5", t + 3000));
}

TEST(SourceGate, StaysBoundedUnderASpoofedFlood) {
  SourceGate g;
  std::int64_t t = 1'000'000;
  for (int i = 0; i < 200'000; ++i) {
    if (i % 40 == 0) t += 1000;  // 40 new sources a second: under the global answer budget
    (void)g.mayAnswer(v4(i), t);
    ASSERT_LE(g.size(), SourceGate::kMaxSources);
  }
  for (int i = 0; i < 200'000; ++i) {
    g.recordFailure(v4(1'000'000 + i), t + i);
    ASSERT_LE(g.size(), SourceGate::kMaxSources);
  }
}

TEST(SourceGate, ASpoofedFloodDoesNotWashOutABlockedSource) {
  SourceGate g;
  std::int64_t t = 1'000'000;
  for (int i = 0; i < SourceGate::kFailuresBeforeBlock; ++i) g.recordFailure("192.0.2.66", t);
  ASSERT_TRUE(g.blocked("192.0.2.66", t));
  // The attacker now sends from thousands of other (spoofed) addresses, hoping the table
  // forgets its blocked address when it fills up (faster than entries go idle).
  for (int i = 0; i < 3 * static_cast<int>(SourceGate::kMaxSources); ++i) {
    if (i % 200 == 0) t += 1000;
    g.recordFailure(v4(i), t);  // one failure each: not blocked themselves
  }
  ASSERT_LT(t - 1'000'000, SourceGate::kBlockMs);
  EXPECT_TRUE(g.blocked("192.0.2.66", t));
  EXPECT_LE(g.size(), SourceGate::kMaxSources);
}

TEST(SourceGate, WhenEveryEntryIsBlockedTheOldestGo) {
  SourceGate g;
  const std::int64_t t = 1'000'000;
  const int n = static_cast<int>(SourceGate::kMaxSources) + 10;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < SourceGate::kFailuresBeforeBlock; ++k) g.recordFailure(v4(i), t + i);
  }
  EXPECT_LE(g.size(), SourceGate::kMaxSources);
  EXPECT_TRUE(g.blocked(v4(n - 1), t + n));  // the newest stay
}

}  // namespace
}  // namespace vfax::trunks::sip
