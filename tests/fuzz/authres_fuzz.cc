// libFuzzer target over the Authentication-Results parser (RFC 8601) and the trust rule built on
// it: any bytes as a header value must parse or fail cleanly; the first line of the input is
// used as a second header so that the topmost-trusted rule sees several.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mail/auth_results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  auto h = vfax::mail::parseAuthenticationResults(raw);
  if (h) {
    size_t total = h->authservId.size();
    for (const auto& r : h->results) {
      total += r.method.size() + r.result.size() + r.reason.size();
      total += r.property("header", "d").size() + r.property("smtp", "mailfrom").size();
    }
    (void)total;
  }
  (void)vfax::mail::authservIdOf(raw);
  const auto nl = raw.find('\n');
  std::vector<std::string> headers{raw};
  if (nl != std::string::npos) headers.push_back(raw.substr(0, nl));
  (void)vfax::mail::checkAuthenticationResults(headers, "example.com",
                                               {"mx.example.com", "mx.google.com"});
  (void)vfax::mail::domainsAligned(raw, "example.com");
  return 0;
}
