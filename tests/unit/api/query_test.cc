#include "api/query.h"

#include <gtest/gtest.h>

namespace vfax::api {
namespace {

using Params = std::multimap<std::string, std::string>;

TEST(ParseFaxQuery, DefaultsWithoutParameters) {
  auto q = parseFaxQuery({});
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->direction);
  EXPECT_TRUE(q->states.empty());
  EXPECT_FALSE(q->deviceId);
  EXPECT_EQ(q->limit, kDefaultListLimit);
  EXPECT_EQ(q->beforeId, 0);
}

TEST(ParseFaxQuery, AllParameters) {
  auto q = parseFaxQuery(Params{{"direction", "out"},
                                {"state", "queued,failed"},
                                {"state", "done"},
                                {"device", "7"},
                                {"limit", "10"},
                                {"cursor", "120"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->direction, core::Direction::Out);
  ASSERT_EQ(q->states.size(), 3u);
  EXPECT_EQ(q->states[0], core::FaxState::Queued);
  EXPECT_EQ(q->states[1], core::FaxState::Failed);
  EXPECT_EQ(q->states[2], core::FaxState::Done);
  EXPECT_EQ(q->deviceId, 7);
  EXPECT_EQ(q->limit, 10);
  EXPECT_EQ(q->beforeId, 120);
}

TEST(ParseFaxQuery, RejectsBadValues) {
  for (const Params& p : {Params{{"direction", "sideways"}}, Params{{"state", "queued,lost"}},
                          Params{{"device", "x"}}, Params{{"limit", "0"}}, Params{{"limit", "501"}},
                          Params{{"limit", "-3"}}, Params{{"cursor", "abc"}}, Params{{"dir", "in"}},
                          Params{{"limit", "5"}, {"limit", "6"}}}) {
    auto q = parseFaxQuery(p);
    ASSERT_FALSE(q) << p.begin()->first << "=" << p.begin()->second;
    EXPECT_EQ(q.error().code, "invalid_query");
    EXPECT_FALSE(q.error().message.empty());
  }
}

TEST(ParseId, OnlyPositiveDecimals) {
  EXPECT_EQ(parseId("42"), 42);
  EXPECT_FALSE(parseId(""));
  EXPECT_FALSE(parseId("0"));
  EXPECT_FALSE(parseId("-1"));
  EXPECT_FALSE(parseId("+1"));
  EXPECT_FALSE(parseId("1a"));
  EXPECT_FALSE(parseId("99999999999999999999999"));
  EXPECT_EQ(cursorAfter(17), "17");
}

TEST(ParseFaxQuery, SearchAndTimeRange) {
  auto q = parseFaxQuery(Params{{"q", "ACME"}, {"since", "2026-12-01"}, {"until", "2026-12-01"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->text, "ACME");
  EXPECT_EQ(q->since, 1796083200000);             // 2026-12-01T00:00:00Z
  EXPECT_EQ(q->until, 1796083200000 + 86400000);  // a date: to the end of that day
  q = parseFaxQuery(Params{{"since", "1796083200123"}, {"until", "2026-12-01T10:30:00+01:00"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->since, 1796083200123);
  EXPECT_EQ(q->until, 1796083200000 + 9 * 3600000 + 30 * 60000);
  q = parseFaxQuery(Params{{"since", "2026-12-01T08:00:00.250Z"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->since, 1796083200000 + 8 * 3600000 + 250);
}

TEST(ParseFaxQuery, RejectsBadTimes) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-12-1", "-5", "12ab",
                          "2026-12-01T10:00", "2026-12-01T25:00:00Z", "2026-12-01T10:00:00+5",
                          "99999999999999999999999", "1969-12-31", "2026-12-01Z"}) {
    for (const char* key : {"since", "until"}) {
      auto q = parseFaxQuery(Params{{key, bad}});
      ASSERT_FALSE(q) << key << "=" << bad;
      EXPECT_EQ(q.error().code, "invalid_query");
    }
  }
  auto q = parseFaxQuery(Params{{"q", std::string(101, 'x')}});
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, "invalid_query");
}

}  // namespace
}  // namespace vfax::api
