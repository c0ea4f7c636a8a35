#include "mail/smtp_client.h"

#include <cstring>

#include "mail/address.h"
#include "mail/curl_util.h"

namespace vfax::mail {
namespace {

struct Reader {
  const std::string* text;
  size_t pos = 0;
};

size_t readChunk(char* buffer, size_t size, size_t count, void* userdata) {
  auto* r = static_cast<Reader*>(userdata);
  const size_t n = std::min(size * count, r->text->size() - r->pos);
  std::memcpy(buffer, r->text->data() + r->pos, n);
  r->pos += n;
  return n;
}

std::string angle(const std::string& addr) { return "<" + addr + ">"; }

}  // namespace

core::Result<void> sendMail(const SmtpSettings& smtp, const std::string& from,
                            const std::vector<std::string>& recipients, const std::string& message,
                            const std::function<void()>& accepted) {
  if (smtp.host.empty())
    return core::makeError("smtp_error", "no SMTP server is configured (smtp_host)");
  if (recipients.empty()) return core::makeError("smtp_rejected", "the mail has no recipient");
  // The envelope is built from these: a line break in one would be a command of its own.
  if (auto r = checkAddress(from, "smtp_from"); !r)
    return core::makeError("smtp_rejected", r.error().message);
  for (const auto& to : recipients) {
    if (auto r = checkAddress(to, "recipient"); !r) {
      return core::makeError("smtp_rejected", r.error().message);
    }
  }
  CurlHandle c(curl_easy_init());
  if (!c) return core::makeError("smtp_error", "cannot create a libcurl handle");
  char err[CURL_ERROR_SIZE];
  applyCommon(c.get(), smtp.tls, smtp.ignoreInvalidCertificates, err);
  const std::string url = scheme("smtp", smtp.tls) + "://" + urlHost(smtp.host) + ":" +
                          std::to_string(effectivePort(smtp)) + "/vfax";
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  if (!smtp.user.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, smtp.user.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, smtp.password.c_str());
  }
  const std::string fromAddr = angle(from);
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, fromAddr.c_str());
  CurlList rcpt;
  for (const auto& r : recipients) {
    curl_slist* next = curl_slist_append(rcpt.get(), angle(r).c_str());
    if (!next) return core::makeError("smtp_error", "out of memory");
    (void)rcpt.release();
    rcpt.reset(next);
  }
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  Reader reader{&message};
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, readChunk);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &reader);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 300L);
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc == CURLE_OK) {
    // libcurl says QUIT when the handle is cleaned up, after this.
    if (accepted) accepted();
    return {};
  }
  long code = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
  const std::string where = "SMTP server " + smtp.host + ":" + std::to_string(effectivePort(smtp));
  if (code >= 550 && code <= 553) {
    return core::makeError("smtp_rejected", where + " refused the mail (" + std::to_string(code) +
                                                "): " + curlMessage(rc, err));
  }
  return core::makeError("smtp_error", where + ": " + curlMessage(rc, err) +
                                           (code ? " [reply " + std::to_string(code) + "]" : ""));
}

}  // namespace vfax::mail
