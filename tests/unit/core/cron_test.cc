#include "core/cron.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace vfax::core {
namespace {

class Cron : public ::testing::Test {
 protected:
  // next() works in local time; UTC makes the expectations independent of the host.
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

  static std::time_t at(int y, int mo, int d, int h, int mi, int s = 0) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return timegm(&tm);
  }

  static std::string fmt(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %a", &tm);
    return buf;
  }

  static std::string next(std::string_view expr, std::time_t after) {
    auto c = CronSchedule::parse(expr);
    if (!c) return "ERR " + c.error().message;
    return fmt(c->next(after));
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(Cron, Basics) {
  const auto t = at(2024, 3, 15, 10, 30, 20);  // a Friday
  EXPECT_EQ(next("* * * * *", t), "2024-03-15 10:31 Fri");
  EXPECT_EQ(next("* * * * *", at(2024, 3, 15, 10, 30)), "2024-03-15 10:31 Fri");  // strictly after
  EXPECT_EQ(next("30 10 * * *", at(2024, 3, 15, 10, 30)), "2024-03-16 10:30 Sat");
  EXPECT_EQ(next("0 3 * * *", t), "2024-03-16 03:00 Sat");
  EXPECT_EQ(next("*/15 * * * *", t), "2024-03-15 10:45 Fri");
  EXPECT_EQ(next("0-10/5 * * * *", t), "2024-03-15 11:00 Fri");
  EXPECT_EQ(next("5/20 * * * *", t), "2024-03-15 10:45 Fri");
  EXPECT_EQ(next("0 9-17/4 * * *", t), "2024-03-15 13:00 Fri");
  EXPECT_EQ(next("0 8,12,18 * * *", t), "2024-03-15 12:00 Fri");
}

TEST_F(Cron, NamesAndSunday) {
  const auto t = at(2024, 3, 15, 10, 30);  // Friday
  EXPECT_EQ(next("0 0 * * mon", t), "2024-03-18 00:00 Mon");
  EXPECT_EQ(next("0 0 * * MON-wed", t), "2024-03-18 00:00 Mon");
  EXPECT_EQ(next("0 0 * * 0", t), "2024-03-17 00:00 Sun");
  EXPECT_EQ(next("0 0 * * 7", t), "2024-03-17 00:00 Sun");
  EXPECT_EQ(next("0 0 * * sun", t), "2024-03-17 00:00 Sun");
  EXPECT_EQ(next("0 0 * * 6-7", t), "2024-03-16 00:00 Sat");
  EXPECT_EQ(next("0 0 1 jun *", t), "2024-06-01 00:00 Sat");
  EXPECT_EQ(next("0 0 1 Jan,jul *", t), "2024-07-01 00:00 Mon");
  EXPECT_EQ(next("0 0 * dec-dec fri", t), "2024-12-06 00:00 Fri");
}

TEST_F(Cron, Macros) {
  const auto t = at(2024, 3, 15, 10, 30);
  EXPECT_EQ(next("@hourly", t), "2024-03-15 11:00 Fri");
  EXPECT_EQ(next("@daily", t), "2024-03-16 00:00 Sat");
  EXPECT_EQ(next("@midnight", t), "2024-03-16 00:00 Sat");
  EXPECT_EQ(next("@weekly", t), "2024-03-17 00:00 Sun");
  EXPECT_EQ(next("@monthly", t), "2024-04-01 00:00 Mon");
  EXPECT_EQ(next("@yearly", t), "2025-01-01 00:00 Wed");
  EXPECT_EQ(next("@annually", t), "2025-01-01 00:00 Wed");
  EXPECT_EQ(next("  @DAILY ", t), "2024-03-16 00:00 Sat");
}

TEST_F(Cron, MonthAndYearBoundaries) {
  EXPECT_EQ(next("0 0 1 * *", at(2024, 12, 31, 23, 59)), "2025-01-01 00:00 Wed");
  EXPECT_EQ(next("* * * * *", at(2024, 12, 31, 23, 59, 59)), "2025-01-01 00:00 Wed");
  EXPECT_EQ(next("0 0 31 * *", at(2024, 4, 1, 0, 0)), "2024-05-31 00:00 Fri");   // April: 30 days
  EXPECT_EQ(next("0 12 29 2 *", at(2024, 3, 1, 0, 0)), "2028-02-29 12:00 Tue");  // leap years
  EXPECT_EQ(next("0 12 29 2 *", at(2096, 3, 1, 0, 0)), "2104-02-29 12:00 Fri");  // 2100 is not
  EXPECT_EQ(next("0 0 30 * *", at(2023, 1, 31, 0, 0)), "2023-03-30 00:00 Thu");  // skips Feb
  EXPECT_EQ(next("59 23 31 12 *", at(2023, 12, 31, 23, 59)), "2024-12-31 23:59 Tue");
}

TEST_F(Cron, DayOfMonthOrDayOfWeek) {
  const auto t = at(2024, 3, 15, 10, 30);  // Friday 15th
  // Both restricted: either matches (the 20th or any Monday).
  EXPECT_EQ(next("0 0 20 * mon", t), "2024-03-18 00:00 Mon");
  EXPECT_EQ(next("0 0 16 * mon", t), "2024-03-16 00:00 Sat");
  // One unrestricted: only the other one decides.
  EXPECT_EQ(next("0 0 20 * *", t), "2024-03-20 00:00 Wed");
  EXPECT_EQ(next("0 0 * * mon", t), "2024-03-18 00:00 Mon");
  // A field starting with '*' counts as unrestricted (Vixie cron): AND, so odd days that are
  // Mondays.
  EXPECT_EQ(next("0 0 */2 * mon", t), "2024-03-25 00:00 Mon");
  // Friday the 13th with OR semantics would be every Friday: the classic surprise, kept standard.
  EXPECT_EQ(next("0 0 13 * fri", at(2024, 3, 16, 0, 0)), "2024-03-22 00:00 Fri");
  // 31 February never comes, but with a weekday it is "every Monday in February".
  EXPECT_EQ(next("0 0 31 2 mon", t), "2025-02-03 00:00 Mon");
}

TEST_F(Cron, Errors) {
  for (const char* e : {"",
                        "   ",
                        "* * * *",
                        "* * * * * *",
                        "60 * * * *",
                        "* 24 * * *",
                        "* * 0 * *",
                        "* * 32 * *",
                        "* * * 0 *",
                        "* * * 13 *",
                        "* * * * 8",
                        "*/0 * * * *",
                        "*/x * * * *",
                        "5-1 * * * *",
                        "a * * * *",
                        "1,,2 * * * *",
                        "1, * * * *",
                        "* * * foo *",
                        "* * * * monday",
                        "@reboot",
                        "@every 5m",
                        "0 0 30 2 *",
                        "0 0 31 4,6,9,11 *",
                        "-1 * * * *",
                        "1- * * * *",
                        "*/ * * * *",
                        "1-5-7 * * * *",
                        "* * * jan-mon *"}) {
    auto c = CronSchedule::parse(e);
    ASSERT_FALSE(c) << "'" << e << "'";
    EXPECT_EQ(c.error().code, "invalid_cron") << e;
    EXPECT_FALSE(c.error().message.empty());
  }
  EXPECT_NE(CronSchedule::parse("61 * * * *").error().message.find("minute value 61"),
            std::string::npos);
  EXPECT_NE(CronSchedule::parse("* * * *").error().message.find("5 fields"), std::string::npos);
  EXPECT_NE(CronSchedule::parse("0 0 30 2 *").error().message.find("never occurs"),
            std::string::npos);
}

TEST_F(Cron, RepeatedNextWalksForward) {
  auto c = CronSchedule::parse("0 0 1 */3 *");
  ASSERT_TRUE(c);
  std::time_t t = at(2023, 11, 5, 0, 0);
  std::string seen;
  for (int i = 0; i < 5; ++i) {
    t = c->next(t);
    seen += fmt(t).substr(0, 10) + " ";
  }
  EXPECT_EQ(seen, "2024-01-01 2024-04-01 2024-07-01 2024-10-01 2025-01-01 ");
}

TEST_F(Cron, LocalTimeAcrossDst) {
  // In a zone with DST, next() must still move forward and land on existing local times.
  setenv("TZ", "Europe/Berlin", 1);
  tzset();
  auto daily = CronSchedule::parse("30 2 * * *");
  ASSERT_TRUE(daily);
  // 2024-03-31 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00).
  std::time_t t = at(2024, 3, 30, 12, 0);  // UTC
  std::time_t n = daily->next(t);
  std::tm lt{};
  localtime_r(&n, &lt);
  EXPECT_GT(n, t);
  EXPECT_EQ(lt.tm_hour, 2);
  EXPECT_EQ(lt.tm_min, 30);
  // 2024-10-27 02:30 exists twice; after the first, the next is a day later, never a loop.
  std::time_t first = daily->next(at(2024, 10, 26, 12, 0));
  std::time_t second = daily->next(first);
  EXPECT_GT(second, first);
  auto hourly = CronSchedule::parse("@hourly");
  std::time_t h = at(2024, 3, 30, 23, 30);
  for (int i = 0; i < 30; ++i) {
    std::time_t n2 = hourly->next(h);
    ASSERT_GT(n2, h);
    h = n2;
  }
}

}  // namespace
}  // namespace vfax::core
