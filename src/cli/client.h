#pragma once
// The REST client the commands share: base URL, bearer token, JSON in and out, and the mapping of
// failures to exit codes (see exitCode()).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace httplib {
class Client;
}

namespace vfax::cli {

using Json = nlohmann::json;
template <typename T>
using Result = core::Result<T>;

/// Error codes of the CLI itself; any other code is an API error from the server.
inline constexpr const char* kUsage = "usage";              // exit 2 (also local file problems)
inline constexpr const char* kUnreachable = "unreachable";  // exit 3

/// 1 for API errors, 2 for usage errors, 3 when the server cannot be reached.
int exitCode(const core::Error& e);

struct FilePart {
  std::string filename;
  std::string content;
  std::string contentType;
};

class Client {
 public:
  /// `url` like http://127.0.0.1:8080 or https://fax.example.com/vfax (a path is a prefix).
  /// https: the server's certificate is always verified, against `caFile` (PEM) when given, else
  /// against the system's trusted CAs.
  static Result<std::unique_ptr<Client>> create(const std::string& url, const std::string& token,
                                                const std::string& caFile = "");
  ~Client();

  Result<Json> get(const std::string& path,
                   const std::multimap<std::string, std::string>& params = {});
  Result<Json> post(const std::string& path, const Json& body);
  Result<Json> put(const std::string& path, const Json& body);
  Result<Json> del(const std::string& path);  // null for 204
  Result<Json> postForm(const std::string& path,
                        const std::multimap<std::string, std::string>& fields,
                        const std::vector<FilePart>& files);
  /// Raw body of a download.
  Result<std::string> download(const std::string& path);

  /// Logs in with a password (POST /session), creates a personal token named `tokenName` with the
  /// session (expiring after `expiresDays`, 0 = never), and ends the session again. Returns the
  /// token's JSON, secret in `token`.
  Result<Json> loginForToken(const std::string& username, const std::string& password,
                             const std::string& tokenName, double expiresDays);

  const std::string& url() const { return url_; }
  const std::string& caFile() const { return caFile_; }

 private:
  Client(std::string url, std::string prefix, std::unique_ptr<httplib::Client> http,
         std::string token);
  template <typename R>
  Result<std::string> body(R&& r);

  std::string url_;
  std::string caFile_;
  std::string prefix_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
};

}  // namespace vfax::cli
