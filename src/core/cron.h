#pragma once
// Standard 5-field cron expressions (minute hour day-of-month month day-of-week), with lists,
// ranges, steps, names (jan, mon) and @daily/@hourly/@weekly/@monthly. Times are local time.
#include <ctime>
#include <string_view>

#include "core/result.h"

namespace vfax::core {

class CronSchedule {
 public:
  static Result<CronSchedule> parse(std::string_view expr);
  /// The first matching minute strictly after `after`.
  std::time_t next(std::time_t after) const;

 private:
  unsigned long long minutes_ = 0;  // bit i: minute i
  unsigned hours_ = 0;
  unsigned long long days_ = 0;  // bit 1..31
  unsigned months_ = 0;          // bit 1..12
  unsigned weekdays_ = 0;        // bit 0..6, Sunday 0
  bool domStar_ = false;
  bool dowStar_ = false;
};

}  // namespace vfax::core
