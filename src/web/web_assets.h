#pragma once
// The web page's files, compiled in (src/web/embed.cmake). The API server serves them at `/` and
// `/assets/...`.
#include <cstddef>
#include <string_view>

namespace vfax::web {

struct Asset {
  std::string_view path;  // "/index.html", "/assets/app.css", "/assets/js/app.js"
  std::string_view contentType;
  std::string_view body;
  std::string_view etag;  // quoted, from the content's SHA-256
};

/// The asset at a URL path, or null.
const Asset* findAsset(std::string_view path);

/// The Content-Security-Policy of the page: no inline script or style, nothing from elsewhere,
/// never framed.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

}  // namespace vfax::web
