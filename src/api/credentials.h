#pragma once
// Reading credentials out of request headers (outside input: fuzzed in
// tests/fuzz/credentials_fuzz).
#include <string>
#include <string_view>

namespace vfax::api {

/// The value of cookie `name` in a Cookie header (`a=1; b=2`), or "". The first one counts.
std::string cookieValue(std::string_view cookieHeader, std::string_view name);

/// The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive), or "".
std::string bearerToken(std::string_view authorizationHeader);

/// True when the request's Origin (or, when a browser sent none, its Referer) names `host`, the
/// request's Host header, with http or https, or is `publicOrigin` (`https://fax.example.com`:
/// the address people use when a reverse proxy sends another Host; "" for none).
bool sameOrigin(std::string_view host, std::string_view origin, std::string_view referer,
                std::string_view publicOrigin = {});

}  // namespace vfax::api
