#pragma once
// Small pieces every libcurl user in mail/ shares: global init, a RAII handle, TLS options,
// and readable errors.
#include <curl/curl.h>

#include <memory>
#include <string>

#include "mail/mail_settings.h"

namespace vfax::mail {

/// curl_global_init once per process; call on the main thread before any worker starts.
void initCurl();

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlList = std::unique_ptr<curl_slist, SlistDeleter>;

/// Options every connection gets: timeouts, no signals, TLS mode and certificate checking.
void applyCommon(CURL* c, TlsMode tls, bool ignoreInvalidCertificates, char* errorBuffer);

/// "imap"/"imaps", "pop3"/"pop3s", "smtp"/"smtps" for the mode.
std::string scheme(std::string_view base, TlsMode tls);

/// A sentence for a failed transfer: curl's detail when it has one.
std::string curlMessage(CURLcode rc, const char* errorBuffer);

/// libcurl write callback appending to a std::string (never throws across the C boundary).
size_t appendToString(char* data, size_t size, size_t count, void* userdata);

/// Brackets an IPv6 literal for a URL.
std::string urlHost(const std::string& host);

}  // namespace vfax::mail
