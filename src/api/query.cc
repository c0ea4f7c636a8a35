#include "api/query.h"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace vfax::api {

std::optional<std::int64_t> parseId(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::string cursorAfter(std::int64_t lastId) { return std::to_string(lastId); }

namespace {

// Digits [pos, pos+n) of s as a number, or -1.
int digitsAt(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool validDate(int y, int m, int d) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m != 2 || d <= 28 || leap;
}

}  // namespace

std::optional<TimeBound> parseTimeBound(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t ms = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return TimeBound{ms, false};
  }
  const int y = digitsAt(s, 0, 4), mo = digitsAt(s, 5, 2), d = digitsAt(s, 8, 2);
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !validDate(y, mo, d)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  if (s.size() == 10) return TimeBound{static_cast<core::Millis>(timegm(&tm)) * 1000, true};
  // YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM)
  std::size_t i = 10;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
  const int h = digitsAt(s, 11, 2), mi = digitsAt(s, 14, 2);
  if (h < 0 || h > 23 || s.size() < 16 || s[13] != ':' || mi < 0 || mi > 59) return std::nullopt;
  i = 16;
  int sec = 0, millis = 0;
  if (i < s.size() && s[i] == ':') {
    sec = digitsAt(s, 17, 2);
    if (sec < 0 || sec > 60) return std::nullopt;
    i = 19;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      int scale = 100;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
        millis += (s[j] - '0') * scale;
        scale /= 10;
        ++j;
      }
      if (j == i + 1) return std::nullopt;
      i = j;
    }
  }
  int offsetMinutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    // UTC
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
    const int oh = digitsAt(s, i + 1, 2), om = digitsAt(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offsetMinutes = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
  } else {
    return std::nullopt;  // a time without a zone would be guesswork
  }
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const core::Millis ms =
      (static_cast<core::Millis>(timegm(&tm)) - offsetMinutes * 60) * 1000 + millis;
  return TimeBound{ms, false};
}

core::Result<core::FaxQuery> parseFaxQuery(const std::multimap<std::string, std::string>& params) {
  core::FaxQuery q;
  q.limit = kDefaultListLimit;
  auto bad = [](std::string msg) -> core::Result<core::FaxQuery> {
    return core::makeError("invalid_query", std::move(msg));
  };
  for (const auto& [key, value] : params) {
    if (key != "state" && params.count(key) > 1)
      return bad("the parameter " + key + " is given twice");
    if (key == "direction") {
      auto d = core::directionFromString(value);
      if (!d) return bad("direction must be in or out, got '" + value + "'");
      q.direction = *d;
    } else if (key == "state") {
      std::string_view rest = value;
      while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        if (!item.empty()) {
          auto s = core::faxStateFromString(item);
          if (!s) return bad("there is no fax state '" + std::string(item) + "'");
          q.states.push_back(*s);
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (key == "device") {
      auto id = parseId(value);
      if (!id) return bad("device must be a device id, got '" + value + "'");
      q.deviceId = *id;
    } else if (key == "limit") {
      auto n = parseId(value);
      if (!n || *n > kMaxListLimit) {
        return bad("limit must be a number from 1 to " + std::to_string(kMaxListLimit) + ", got '" +
                   value + "'");
      }
      q.limit = static_cast<int>(*n);
    } else if (key == "q") {
      if (value.size() > 100) return bad("q must be at most 100 characters");
      q.text = value;
    } else if (key == "since" || key == "until") {
      auto t = parseTimeBound(value);
      if (!t) {
        return bad(key +
                   " must be a time in milliseconds since 1970, a date (2026-12-01) or an "
                   "ISO 8601 time with a zone (2026-12-01T08:00:00Z), got '" +
                   value + "'");
      }
      if (key == "since") {
        q.since = t->ms;
      } else {
        q.until = t->ms + (t->wholeDay ? 86'400'000 : 0);  // a date: up to the end of that day
      }
    } else if (key == "cursor") {
      auto id = parseId(value);
      if (!id) return bad("the cursor '" + value + "' is not one this server gave out");
      q.beforeId = *id;
    } else {
      return bad("unknown parameter '" + key +
                 "' (known: direction, state, device, q, since, until, limit, cursor)");
    }
  }
  return q;
}

}  // namespace vfax::api
