// libFuzzer target over GET /faxes query strings (already split into parameters by the HTTP
// server): any parameters are read into a FaxQuery or refused with invalid_query, never a crash;
// the time bounds (ms, a date, ISO 8601 with a zone) come out within what the text can name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "api/query.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // key=value pairs separated by '&', as after URL decoding.
  std::multimap<std::string, std::string> params;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    const auto amp = in.find('&', pos);
    const std::string_view item = in.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    const auto eq = item.find('=');
    params.emplace(std::string(item.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  auto q = vfax::api::parseFaxQuery(params);
  if (!q && q.error().code != "invalid_query") std::abort();
  if (q && (q->limit < 1 || q->limit > vfax::api::kMaxListLimit)) std::abort();
  if (auto t = vfax::api::parseTimeBound(in);
      t && !t->wholeDay && in.size() == 10 && in.find('-') != std::string_view::npos) {
    std::abort();  // a date is always a whole day
  }
  return 0;
}
