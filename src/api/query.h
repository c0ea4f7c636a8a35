#pragma once
// GET /faxes query strings -> core::FaxQuery, and the paging cursor.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/store.h"

namespace vfax::api {

constexpr int kDefaultListLimit = 50;
constexpr int kMaxListLimit = 500;

/// A time given in a query: milliseconds since 1970, a date (UTC midnight; wholeDay) or an ISO
/// 8601 time with a zone (Z or +HH:MM).
struct TimeBound {
  core::Millis ms = 0;
  bool wholeDay = false;
};
std::optional<TimeBound> parseTimeBound(std::string_view s);

/// direction=in|out, state=a,b (or repeated), device=ID, q=TEXT (number or remote id contains
/// it), since=TIME, until=TIME (a date: to the end of that day), limit=1..500, cursor=C. Unknown
/// parameters are `invalid_query` so that a typo does not silently list everything.
core::Result<core::FaxQuery> parseFaxQuery(const std::multimap<std::string, std::string>& params);

/// A strictly positive decimal id ("12"), as in URLs and cursors.
std::optional<std::int64_t> parseId(std::string_view s);

/// The cursor is the last id of a page: the next page holds the older faxes (smaller ids).
/// Opaque to clients; documented as a string.
std::string cursorAfter(std::int64_t lastId);

}  // namespace vfax::api
