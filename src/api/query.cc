#include "api/query.h"

#include <charconv>

namespace vfax::api {

std::optional<std::int64_t> parseId(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::string cursorAfter(std::int64_t lastId) { return std::to_string(lastId); }

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
    } else if (key == "cursor") {
      auto id = parseId(value);
      if (!id) return bad("the cursor '" + value + "' is not one this server gave out");
      q.beforeId = *id;
    } else {
      return bad("unknown parameter '" + key +
                 "' (known: direction, state, device, limit, cursor)");
    }
  }
  return q;
}

}  // namespace vfax::api
