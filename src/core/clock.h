#pragma once
#include <chrono>
#include <ctime>

#include "core/model.h"

namespace vfax::core {

/// Injectable time source; tests use a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Millis now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// The last local midnight at or before `t` (for per-day limits).
inline Millis startOfLocalDay(Millis t) {
  const std::time_t seconds = t / 1000;
  std::tm local{};
  localtime_r(&seconds, &local);
  local.tm_hour = local.tm_min = local.tm_sec = 0;
  local.tm_isdst = -1;
  return static_cast<Millis>(std::mktime(&local)) * 1000;
}

}  // namespace vfax::core
