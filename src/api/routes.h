#pragma once
// Internal to api/: what route handlers share (auth, replies). Not part of the interface.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "api/http_server.h"
#include "api/json.h"
#include "core/result.h"
#include "core/service.h"

namespace vfax::api::detail {

enum class Access { Public, Token, Admin };

struct Context {
  core::Service& service;
  const ApiOptions& options;
  /// Options' telephony's trunkStatus(), or none.
  std::vector<core::TrunkStatus> trunks() const {
    return options.telephony ? options.telephony->trunkStatus() : std::vector<core::TrunkStatus>{};
  }
  core::MediaStats media() const {
    return options.telephony ? options.telephony->mediaStats() : core::MediaStats{};
  }
};

/// Writes an error reply (status from errors.cc; 401 adds WWW-Authenticate).
void replyError(httplib::Response& res, const core::Error& e);
void replyJson(httplib::Response& res, int status, const Json& body);

/// Checks the bearer token for `access`; on failure writes the reply and returns the error.
std::optional<core::Error> authorize(Context& ctx, const httplib::Request& req, Access access);

/// Id from the first regex group of the route; null for an id that cannot exist.
std::optional<std::int64_t> pathId(const httplib::Request& req);

bool isLoopback(const std::string& addr);

/// Route registration, split by subject.
void addFaxRoutes(httplib::Server& server, Context& ctx);
void addAdminRoutes(httplib::Server& server, Context& ctx);
void addNumberRoutes(httplib::Server& server, Context& ctx);
void addMailRoutes(httplib::Server& server, Context& ctx, MailAdmin& mail);
void addTrunkRoutes(httplib::Server& server, Context& ctx, Iax2TrunkAdmin& iax2);

/// Wraps a handler with its access check and a guard that turns any exception into a 500 reply.
httplib::Server::Handler guarded(
    Context& ctx, Access access,
    std::function<void(const httplib::Request&, httplib::Response&)> h);

}  // namespace vfax::api::detail
