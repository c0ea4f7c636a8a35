#include "mail/curl_util.h"

#include <mutex>

namespace vfax::mail {

void initCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void applyCommon(CURL* c, TlsMode tls, bool ignoreInvalidCertificates, char* errorBuffer) {
  errorBuffer[0] = '\0';
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled server must not hold a worker forever: below 1 byte/s for 60 s aborts.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   tls == TlsMode::None ? static_cast<long>(CURLUSESSL_NONE)
                                        : static_cast<long>(CURLUSESSL_ALL));
  if (ignoreInvalidCertificates) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

std::string scheme(std::string_view base, TlsMode tls) {
  return std::string(base) + (tls == TlsMode::Tls ? "s" : "");
}

std::string curlMessage(CURLcode rc, const char* errorBuffer) {
  std::string msg = curl_easy_strerror(rc);
  if (errorBuffer && errorBuffer[0] != '\0') msg += " (" + std::string(errorBuffer) + ")";
  return msg;
}

size_t appendToString(char* data, size_t size, size_t count, void* userdata) {
  try {
    static_cast<std::string*>(userdata)->append(data, size * count);
    return size * count;
  } catch (...) {
    return 0;  // curl reports a write error
  }
}

std::string urlHost(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

}  // namespace vfax::mail
