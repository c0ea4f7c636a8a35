#pragma once
// Internal to api/: what route handlers share (auth, replies). Not part of the interface.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "api/admin.h"
#include "api/http_server.h"
#include "api/json.h"
#include "api/upload.h"
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

/// The caller behind the request's bearer token or session cookie, checked for `access`. A write
/// made with a session cookie also needs the session's CSRF token (X-CSRF-Token) and a matching
/// Origin. Errors: unauthorized, forbidden.
core::Result<core::Caller> authorize(Context& ctx, const httplib::Request& req, Access access);

/// The value of cookie `name` of the request, or "".
std::string cookieValue(const httplib::Request& req, std::string_view name);

/// True when the request's Origin (or Referer) names its own Host.
bool sameOriginRequest(const httplib::Request& req, std::string_view publicOrigin);

/// The session cookie's name.
inline constexpr const char* kSessionCookie = "vfax_session";
/// Readable by the page's script: "a session may exist" (no secret; see routes_accounts.cc).
inline constexpr const char* kSessionHintCookie = "vfax_hint";

/// Id from the first regex group of the route; null for an id that cannot exist.
std::optional<std::int64_t> pathId(const httplib::Request& req);

/// Route registration, split by subject.
void addFaxRoutes(httplib::Server& server, Context& ctx);
void addAdminRoutes(httplib::Server& server, Context& ctx);
void addNumberRoutes(httplib::Server& server, Context& ctx);
void addMailRoutes(httplib::Server& server, Context& ctx, MailAdmin& mail);
void addTrunkRoutes(httplib::Server& server, Context& ctx, Iax2TrunkAdmin& iax2);
void addSipTrunkRoutes(httplib::Server& server, Context& ctx, SipTrunkAdmin& sip);
/// GET /lines: the SIP trunk's registrations on its entry of `lines["trunks"]`, with registrar
/// and last error when `details` (admins) (routes_trunks_sip.cc).
void addSipLines(Json& lines, const Context& ctx, bool details);
/// The same for a given state (what addSipLines does once it has asked the trunk).
void putSipLines(Json& lines, const SipLineState& state, bool details);

/// Wraps a handler with its access check and a guard that turns any exception into a 500 reply.
httplib::Server::Handler guarded(
    Context& ctx, Access access,
    std::function<void(const httplib::Request&, httplib::Response&)> h);
/// The same for handlers that need to know who asks.
httplib::Server::Handler guardedAs(
    Context& ctx, Access access,
    std::function<void(const httplib::Request&, httplib::Response&, const core::Caller&)> h);

/// The same for a route function taking the context too: `guardedAs(ctx, Access::Admin, putUser)`.
using RouteFn = void (*)(Context&, const httplib::Request&, httplib::Response&,
                         const core::Caller&);
httplib::Server::Handler guardedAs(Context& ctx, Access access, RouteFn f);

/// Audit log entry for what `caller` just did.
void audit(Context& ctx, const core::Caller& caller, std::string action, std::string target,
           std::string detail = {});

void addAccountRoutes(httplib::Server& server, Context& ctx);
/// POST /faxes/{id}/release and the printer's internal routes (routes_print.cc).
void addPrintRoutes(httplib::Server& server, Context& ctx);
/// Reads a multipart form into a collector (files staged), with POST /faxes' limits. On failure
/// the reply is written and the answer is null.
std::unique_ptr<MultipartCollector> readForm(Context& ctx, const httplib::Request& req,
                                             httplib::Response& res,
                                             const httplib::ContentReader& reader,
                                             std::vector<std::string> textFields = {});
/// Reads and discards the rest of a refused body, at most 1 MiB of it (more: the reply gets
/// `Connection: close` and the rest is never read).
void drain(const httplib::Request& req, httplib::Response& res,
           const httplib::ContentReader& reader);
/// True when the request carries the printer's secret (X-Vfax-Printer) and one is set.
bool printerSecretOk(const Context& ctx, const httplib::Request& req);

}  // namespace vfax::api::detail
