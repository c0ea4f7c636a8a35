// libFuzzer target over the credential headers vfaxd reads from every request: Cookie,
// Authorization and Origin/Referer. Any bytes must be read or refused without a crash; a value
// read from a header is always a part of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Up to three headers, split at NUL bytes: Host, Origin, Referer (the whole input is also the
  // Cookie and Authorization header).
  const auto a = in.find('\0');
  const std::string_view host = in.substr(0, a);
  const std::string_view rest = a == std::string_view::npos ? std::string_view() : in.substr(a + 1);
  const auto b = rest.find('\0');
  const std::string_view origin = rest.substr(0, b);
  const std::string_view referer =
      b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);

  const std::string cookie = vfax::api::cookieValue(in, "vfax_session");
  if (!cookie.empty() && in.find(cookie) == std::string_view::npos) std::abort();
  const std::string token = vfax::api::bearerToken(in);
  if (!token.empty() && in.find(token) == std::string_view::npos) std::abort();
  (void)vfax::api::sameOrigin(host, origin, referer);
  (void)vfax::api::sameOrigin(host, origin, referer, origin.substr(0, origin.size() / 2));
  return 0;
}
