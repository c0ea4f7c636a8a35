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
  auto q = parseFaxQuery(Params{{"direction", "out"}, {"state", "queued,failed"}, {"state", "done"},
                                {"device", "7"}, {"limit", "10"}, {"cursor", "120"}});
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

}  // namespace
}  // namespace vfax::api
