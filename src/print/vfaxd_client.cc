#include "print/vfaxd_client.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

namespace vfax::print {

namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  // vfaxd's answers are small JSON; a runaway body is cut rather than held.
  if (out->size() < (1u << 20)) out->append(data, size * n);
  return size * n;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* canceled = static_cast<const std::function<bool()>*>(user);
  return (*canceled && (*canceled)()) ? 1 : 0;  // non-zero aborts the transfer
}

struct Slist {
  curl_slist* list = nullptr;
  ~Slist() { curl_slist_free_all(list); }
};

VfaxdAnswer perform(CURL* curl, const std::string& url, const std::string& secretHeader,
                    const std::function<bool()>& canceled, const char* contentType,
                    long timeoutSeconds) {
  VfaxdAnswer answer;
  std::string body;
  Slist headers;
  headers.list = curl_slist_append(headers.list, secretHeader.c_str());
  if (contentType) headers.list = curl_slist_append(headers.list, contentType);
  headers.list = curl_slist_append(headers.list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &canceled);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    answer.code = "canceled";
    answer.message = "The job was canceled.";
    return answer;
  }
  if (rc != CURLE_OK) {
    answer.code = "vfaxd_unreachable";
    answer.message = std::string("The fax server did not answer: ") + curl_easy_strerror(rc);
    return answer;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  parseVfaxdBody(body, answer);
  return answer;
}

}  // namespace

VfaxdClient::VfaxdClient(std::string apiUrl, std::string secret)
    : apiUrl_(std::move(apiUrl)), secretHeader_("X-Vfax-Printer: " + secret) {
  while (!apiUrl_.empty() && apiUrl_.back() == '/') apiUrl_.pop_back();
}

VfaxdAnswer VfaxdClient::authorize(const std::string& username, const std::string& password,
                                   const std::string& address) const {
  CURL* curl = curl_easy_init();
  if (!curl) return {0, "internal", "cannot create an HTTP client", {}, {}, {}, 0, false};
  nlohmann::json j = {{"address", address}};
  if (!username.empty()) {
    j["username"] = username;
    j["password"] = password;
  }
  // Passwords are arbitrary bytes from the client: never let a bad UTF-8 sequence throw.
  const std::string body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  const std::function<bool()> never;
  auto a = perform(curl, apiUrl_ + "/api/v1/print/authorize", secretHeader_, never,
                   "Content-Type: application/json", 30);
  curl_easy_cleanup(curl);
  return a;
}

VfaxdAnswer VfaxdClient::submit(const PrintJob& job, const std::function<bool()>& canceled) const {
  CURL* curl = curl_easy_init();
  if (!curl) return {0, "internal", "cannot create an HTTP client", {}, {}, {}, 0, false};
  curl_mime* mime = curl_mime_init(curl);
  auto field = [&](const char* name, const std::string& value) {
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, name);
    curl_mime_data(part, value.data(), value.size());
  };
  curl_mimepart* file = curl_mime_addpart(mime);
  curl_mime_name(file, "file");
  curl_mime_filedata(file, job.file.c_str());
  curl_mime_type(file, job.format.c_str());
  field("format", job.format);
  if (!job.user.empty()) field("user", job.user);
  if (!job.anonymousDevice.empty()) field("anonymous_device", job.anonymousDevice);
  field("job_name", job.jobName);
  field("ipp_job_id", std::to_string(job.ippJobId));
  field("address", job.address);
  if (job.copies > 1) field("copies", std::to_string(job.copies));
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  // vfaxd answers once the fax jobs are stored: scanning and converting a large document takes
  // a while. The bound keeps a hung vfaxd from holding the queue forever.
  auto a = perform(curl, apiUrl_ + "/api/v1/print/jobs", secretHeader_, canceled, nullptr, 900);
  curl_easy_cleanup(curl);
  curl_mime_free(mime);
  return a;
}

}  // namespace vfax::print
