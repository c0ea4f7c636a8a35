#include "cli/client.h"

#include <httplib.h>

#include <filesystem>

namespace vfax::cli {

int exitCode(const core::Error& e) {
  if (e.code == kUsage) return 2;
  if (e.code == kUnreachable) return 3;
  return 1;
}

Result<std::unique_ptr<Client>> Client::create(const std::string& url, const std::string& token,
                                               const std::string& caFile) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0)) {
    return core::makeError(kUsage,
                           "the server URL must start with http:// or https://, got '" + url + "'");
  }
  const auto pathStart = url.find('/', scheme + 3);
  const std::string hostPart = url.substr(0, pathStart);
  std::string prefix = pathStart == std::string::npos ? "" : url.substr(pathStart);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto http = std::make_unique<httplib::Client>(hostPart);
  if (!http->is_valid()) return core::makeError(kUsage, "cannot use the server URL '" + url + "'");
  http->set_connection_timeout(5);
  http->set_read_timeout(120);
  http->set_write_timeout(120);
  if (url.compare(0, scheme, "https") == 0) {
    // Never without verification: the CA file given, or the system's trust store.
    http->enable_server_certificate_verification(true);
    if (!caFile.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(caFile, ec)) {
        return core::makeError(kUsage, "the CA file '" + caFile + "' (--ca-file, VFAX_CA_FILE) " +
                                           "is not a readable file");
      }
      http->set_ca_cert_path(caFile);
    }
  }
  auto client = std::unique_ptr<Client>(new Client(url, prefix, std::move(http), token));
  client->caFile_ = caFile;
  return client;
}

Client::Client(std::string url, std::string prefix, std::unique_ptr<httplib::Client> http,
               std::string token)
    : url_(std::move(url)),
      prefix_(std::move(prefix)),
      http_(std::move(http)),
      token_(std::move(token)) {
  if (!token_.empty()) http_->set_bearer_token_auth(token_);
}

Client::~Client() = default;

template <typename R>
Result<std::string> Client::body(R&& r) {
  if (!r && r.error() == httplib::Error::SSLServerVerification) {
    return core::makeError(kUnreachable,
                           "the certificate of " + url_ +
                               " is not trusted (or not for this host name); give its CA with "
                               "--ca-file or VFAX_CA_FILE");
  }
  if (!r) {
    return core::makeError(kUnreachable, "cannot reach the vfax server at " + url_ + " (" +
                                             httplib::to_string(r.error()) +
                                             "); is vfaxd running, and is VFAX_URL right?");
  }
  if (r->status >= 400) {
    const Json j = Json::parse(r->body, nullptr, false);
    std::string code = "http_" + std::to_string(r->status);
    std::string message = "the server answered HTTP " + std::to_string(r->status);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      code = j["error"].value("code", code);
      message = j["error"].value("message", message);
    }
    if (r->status == 401 && token_.empty())
      message += " (set VFAX_TOKEN or VFAX_TOKEN_FILE, pass --token-file, or run vfax login)";
    return core::makeError(code, message);
  }
  return std::move(r->body);
}

namespace {

Result<Json> asJson(Result<std::string> body) {
  if (!body) return body.error();
  if (body->empty()) return Json(nullptr);
  Json j = Json::parse(*body, nullptr, false);
  if (j.is_discarded())
    return core::makeError("bad_response", "the server sent a reply that is not JSON");
  return j;
}

}  // namespace

Result<Json> Client::get(const std::string& path,
                         const std::multimap<std::string, std::string>& params) {
  const httplib::Params p(params.begin(), params.end());
  return asJson(body(http_->Get(httplib::append_query_params(prefix_ + path, p))));
}

Result<Json> Client::post(const std::string& path, const Json& b) {
  return asJson(body(http_->Post(prefix_ + path, b.dump(), "application/json")));
}

Result<Json> Client::put(const std::string& path, const Json& b) {
  return asJson(body(http_->Put(prefix_ + path, b.dump(), "application/json")));
}

Result<Json> Client::del(const std::string& path) {
  return asJson(body(http_->Delete(prefix_ + path)));
}

Result<Json> Client::postForm(const std::string& path,
                              const std::multimap<std::string, std::string>& fields,
                              const std::vector<FilePart>& files) {
  httplib::MultipartFormDataItems items;
  for (const auto& [k, v] : fields) items.push_back({k, v, "", ""});
  for (const auto& f : files) items.push_back({"file", f.content, f.filename, f.contentType});
  return asJson(body(http_->Post(prefix_ + path, items)));
}

Result<std::string> Client::download(const std::string& path) {
  return body(http_->Get(prefix_ + path));
}

Result<Json> Client::loginForToken(const std::string& username, const std::string& password,
                                   const std::string& tokenName, double expiresDays) {
  // A client of its own: no bearer token, and the session cookie sent by hand.
  auto http = std::make_unique<httplib::Client>(url_.substr(0, url_.size() - prefix_.size()));
  http->set_connection_timeout(5);
  http->set_read_timeout(120);
  auto r =
      http->Post(prefix_ + "/api/v1/session",
                 Json{{"username", username}, {"password", password}}.dump(), "application/json");
  std::string cookie;
  if (r && r->status < 400) {
    const std::string set = r->get_header_value("Set-Cookie");
    cookie = set.substr(0, set.find(';'));
  }
  auto session = asJson(body(std::move(r)));
  if (!session) return session.error();
  if (cookie.empty() || !session->contains("csrf_token")) {
    return core::makeError("bad_response", "the server did not start a session");
  }
  // A write with the session needs its CSRF token and the server's own origin.
  const std::string origin = url_.substr(0, url_.find('/', url_.find("://") + 3));
  const httplib::Headers headers{{"Cookie", cookie},
                                 {"X-CSRF-Token", (*session)["csrf_token"].get<std::string>()},
                                 {"Origin", origin}};
  Json req{{"name", tokenName}};
  if (expiresDays > 0) req["expires_in_days"] = expiresDays;
  auto token =
      asJson(body(http->Post(prefix_ + "/api/v1/tokens", headers, req.dump(), "application/json")));
  (void)http->Delete(prefix_ + "/api/v1/session", headers);
  return token;
}

}  // namespace vfax::cli
