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

/// direction=in|out, state=a,b (or repeated), device=ID, limit=1..500, cursor=C. Unknown
/// parameters are `invalid_query` so that a typo does not silently list everything.
core::Result<core::FaxQuery> parseFaxQuery(const std::multimap<std::string, std::string>& params);

/// A strictly positive decimal id ("12"), as in URLs and cursors.
std::optional<std::int64_t> parseId(std::string_view s);

/// The cursor is the last id of a page: the next page holds the older faxes (smaller ids).
/// Opaque to clients; documented as a string.
std::string cursorAfter(std::int64_t lastId);

}  // namespace vfax::api
