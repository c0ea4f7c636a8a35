#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <system_error>
#include <thread>

#include "api/connection_guard.h"
#include "api/credentials.h"
#include "api/errors.h"
#include "api/event_hub.h"
#include "api/event_streams.h"
#include "api/guarded_server.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/query.h"
#include "api/routes.h"
#include "core/log_safe.h"
#include "web/web_assets.h"

namespace vfax::api {

namespace fs = std::filesystem;
using detail::Access;

namespace {

constexpr std::uint64_t kMaxJsonBody = 1ull << 20;  // every body but an upload
constexpr const char* kUploadPath = "/api/v1/faxes";
constexpr const char* kPreviewPath = "/api/v1/faxes/preview";
constexpr const char* kPrintJobsPath = "/api/v1/print/jobs";

// Each request is handled from start to log line on one httplib worker thread.
thread_local std::chrono::steady_clock::time_point requestStart;

// Uploads: a fax to send, the same form to preview, or the printer's job. Only these take a
// chunked body or one over 1 MiB, and those only after the credentials are checked.
bool isUpload(const httplib::Request& req) {
  return req.method == "POST" &&
         (req.path == kUploadPath || req.path == kPreviewPath || req.path == kPrintJobsPath);
}

// GET /events holds its connection for as long as the client listens.
bool isStream(const httplib::Request& req) {
  return req.method == "GET" && req.path == "/api/v1/events";
}

std::optional<std::uint64_t> contentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19)
    return std::numeric_limits<std::uint64_t>::max();
  return std::stoull(v);
}

// An upload this much over the limit is still read (and thrown away) by httplib before the 413, so
// that a client that does not wait for 100-continue gets the answer instead of a broken pipe.
// Only for callers whose credentials were checked first.
constexpr std::uint64_t kDrainAllowance = 16ull << 20;

void refuse(httplib::Response& res, const core::Error& e) {
  detail::replyError(res, e);
  res.set_header("Connection", "close");
}

// Decides from the header alone whether a body may be read: its framing, its announced size and,
// for a body that is chunked or over 1 MiB, the caller's credentials. True: refused (the reply is
// set, the connection closes, nothing of the body is read).
bool refuseBody(detail::Context& ctx, const httplib::Request& req, httplib::Response& res,
                bool expectContinue) {
  const bool hasBody = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                       (req.method == "DELETE" && req.has_header("Content-Length"));
  if (!hasBody) return false;
  const bool upload = isUpload(req);
  const bool chunked = req.has_header("Transfer-Encoding");
  const auto length = contentLength(req);
  if (chunked && length) {
    refuse(res,
           core::makeError("bad_request",
                           "a request may not have both Content-Length and Transfer-Encoding"));
    return true;
  }
  if (chunked && (!upload || req.get_header_value("Transfer-Encoding") != "chunked")) {
    refuse(res, core::makeError("length_required",
                                "send this request's body with a Content-Length (only uploads may "
                                "be sent chunked)"));
    return true;
  }
  if (!chunked && !length) {
    refuse(res,
           core::makeError("length_required", "send a Content-Length with the body (0 for none)"));
    return true;
  }
  const std::uint64_t limit = upload ? ctx.options.maxUploadBytes : kMaxJsonBody;
  if (length && *length > limit + (upload && !expectContinue ? kDrainAllowance : 0)) {
    refuse(res,
           core::makeError("payload_too_large", "the request body (" + std::to_string(*length) +
                                                    " bytes) is larger than the limit of " +
                                                    std::to_string(limit) + " bytes"));
    return true;
  }
  // Who may send a large or open-ended body is decided before any of it is read.
  if (upload && (chunked || *length > kMaxJsonBody || expectContinue)) {
    if (req.path == kPrintJobsPath) {
      if (!detail::printerSecretOk(ctx, req)) {
        detail::replyJson(res, 404, errorJson("unknown_route", "there is no such route"));
        res.set_header("Connection", "close");
        return true;
      }
    } else if (auto c = detail::authorize(ctx, req, Access::Token); !c) {
      refuse(res, c.error());
      return true;
    }
  }
  return false;
}

// The web page (src/web): index.html at `/`, the rest under /assets/. Revalidated on every load
// (ETag), so an updated vfaxd never leaves a browser on old scripts.
void serveAsset(const httplib::Request& req, httplib::Response& res, std::string_view path) {
  const web::Asset* asset = web::findAsset(path);
  if (!asset) {
    detail::replyJson(res, 404, errorJson("unknown_route", "there is no such file"));
    return;
  }
  res.set_header("ETag", std::string(asset->etag));
  res.set_header("Cache-Control", "no-cache");
  if (req.get_header_value("If-None-Match") == asset->etag) {
    res.status = 304;
    return;
  }
  res.set_content(asset->body.data(), asset->body.size(), std::string(asset->contentType));
}

}  // namespace

namespace detail {

void replyJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  // Faxes, lines, users: nothing the API answers belongs in a cache.
  if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  // Text from outside (a remote TSI, a form field) may not be UTF-8: replace, never throw.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void replyError(httplib::Response& res, const core::Error& e) {
  HttpError h = toHttpError(e);
  if (h.status >= 500) {
    spdlog::warn("api: {} ({})", core::logSafe(e.message, 600), core::logSafe(e.code));
  }
  if (h.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"vfax\"");
  replyJson(res, h.status, h.body);
}

std::optional<std::int64_t> pathId(const httplib::Request& req) {
  if (req.matches.size() < 2) return std::nullopt;
  return parseId(req.matches[1].str());
}

namespace {

std::string bearerSecret(const httplib::Request& req) {
  return bearerToken(req.get_header_value("Authorization"));
}

bool isSafeMethod(const std::string& m) { return m == "GET" || m == "HEAD" || m == "OPTIONS"; }

}  // namespace

// The page that sent a cookie-authenticated write must be ours.
bool sameOriginRequest(const httplib::Request& req, std::string_view publicOrigin) {
  return api::sameOrigin(req.get_header_value("Host"), req.get_header_value("Origin"),
                         req.get_header_value("Referer"), publicOrigin);
}

std::string cookieValue(const httplib::Request& req, std::string_view name) {
  return api::cookieValue(req.get_header_value("Cookie"), name);
}

core::Result<core::Caller> authorize(Context& ctx, const httplib::Request& req, Access access) {
  if (access == Access::Public) return core::Caller{};
  auto& accounts = ctx.service.accounts();
  core::Result<core::Caller> caller = core::makeError("unauthorized", "");
  if (const std::string secret = bearerSecret(req); !secret.empty()) {
    caller = accounts.authenticateToken(secret, req.remote_addr);
  } else if (const std::string cookie = cookieValue(req, kSessionCookie); !cookie.empty()) {
    caller = accounts.authenticateSession(cookie, req.remote_addr);
    if (caller && !isSafeMethod(req.method)) {
      if (!sameOriginRequest(req, ctx.options.publicOrigin)) {
        return core::makeError("forbidden",
                               "a change made with a session cookie must come from the vfax page "
                               "itself (Origin does not match)");
      }
      if (!accounts.checkCsrf(cookie, req.get_header_value("X-CSRF-Token"))) {
        return core::makeError("forbidden",
                               "a change made with a session cookie needs the session's "
                               "X-CSRF-Token header");
      }
    }
  } else {
    return core::makeError("unauthorized",
                           "send an API token as 'Authorization: Bearer TOKEN' or log in");
  }
  if (!caller) return caller.error();
  if (access == Access::Admin && !caller->admin()) {
    return core::makeError("forbidden",
                           "this needs an admin; '" + caller->username + "' is not one");
  }
  return caller;
}

void audit(Context& ctx, const core::Caller& caller, std::string action, std::string target,
           std::string detail) {
  ctx.service.accounts().record(caller, std::move(action), std::move(target), std::move(detail));
}

httplib::Server::Handler guardedAs(
    Context& ctx, Access access,
    std::function<void(const httplib::Request&, httplib::Response&, const core::Caller&)> h) {
  return [&ctx, access, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    ConnectionGuard::handlerStarted();
    try {
      auto caller = authorize(ctx, req, access);
      if (!caller) return replyError(res, caller.error());
      h(req, res, *caller);
    } catch (const std::exception& ex) {
      replyError(res,
                 core::makeError("internal", std::string("unexpected exception: ") + ex.what()));
    }
  };
}

httplib::Server::Handler guardedAs(Context& ctx, Access access, RouteFn f) {
  return guardedAs(ctx, access,
                   [&ctx, f](const httplib::Request& req, httplib::Response& res,
                             const core::Caller& c) { f(ctx, req, res, c); });
}

httplib::Server::Handler guarded(
    Context& ctx, Access access,
    std::function<void(const httplib::Request&, httplib::Response&)> h) {
  return guardedAs(ctx, access,
                   [h = std::move(h)](const httplib::Request& req, httplib::Response& res,
                                      const core::Caller&) { h(req, res); });
}

}  // namespace detail

HttpServer::HttpServer(core::Service& service, ApiOptions options)
    : service_(service),
      options_(std::move(options)),
      context_(std::make_unique<detail::Context>(detail::Context{service_, options_})) {}

HttpServer::~HttpServer() { stop(); }

core::Result<int> HttpServer::start() {
  if (server_) return core::makeError("internal", "the HTTP server is already started");
  if (options_.stagingDir.empty())
    return core::makeError("storage_error", "no staging folder configured for uploads");
  std::error_code ec;
  fs::create_directories(options_.stagingDir, ec);
  if (ec) {
    return core::makeError("storage_error",
                           "cannot create " + options_.stagingDir + ": " + ec.message());
  }
  const bool tls = !options_.tlsCert.empty() || !options_.tlsKey.empty();
  std::shared_ptr<SSL_CTX> tlsContext;
  if (tls) {
    auto made = detail::makeTlsContext(options_.tlsCert, options_.tlsKey);
    if (!made) return made.error();
    tlsContext = std::move(*made);
  }
  auto server = std::make_unique<detail::GuardedServer>(tlsContext, options_.idleTimeoutSeconds);
  auto& ctx = *context_;
  server->set_payload_max_length(options_.maxUploadBytes + kDrainAllowance);
  // Connections, keep-alive, timeouts and TLS are the guard's and GuardedServer's (plain HTTP:
  // one request per connection, so that the guard times every request's header before a worker
  // is spent on it); httplib parses and routes.

  server->set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    requestStart = std::chrono::steady_clock::now();
    ConnectionGuard::headerRead(isUpload(req), isStream(req));
    return refuseBody(ctx, req, res, false) ? httplib::Server::HandlerResponse::Handled
                                            : httplib::Server::HandlerResponse::Unhandled;
  });
  server->set_post_routing_handler(
      [](const httplib::Request&, httplib::Response&) { ConnectionGuard::answerStarted(); });
  // Clients that announce a body with Expect: 100-continue learn of a refusal before sending it.
  server->set_expect_100_continue_handler(
      [&ctx](const httplib::Request& req, httplib::Response& res) {
        requestStart = std::chrono::steady_clock::now();
        ConnectionGuard::headerRead(isUpload(req), isStream(req));
        if (refuseBody(ctx, req, res, true)) return res.status;
        return 100;
      });
  server->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 404:
            detail::replyJson(res, 404, errorJson("unknown_route", "there is no such route"));
            break;
          case 413:
            detail::replyJson(res, 413,
                              errorJson("payload_too_large", "the request body is too large"));
            break;
          case 400:
            detail::replyJson(res, 400, errorJson("bad_request", "the request could not be read"));
            break;
          default:
            detail::replyJson(
                res, res.status,
                errorJson(res.status >= 500 ? "internal" : "bad_request",
                          "the request failed with HTTP status " + std::to_string(res.status)));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        detail::replyError(res, core::makeError("internal", "exception in a request handler"));
      });
  // Every answer, API and page alike: no sniffing, never framed, no referrer to elsewhere; the
  // page's own policy allows only its own scripts and styles (no inline script).
  httplib::Headers headers{{"X-Content-Type-Options", "nosniff"},
                           {"X-Frame-Options", "DENY"},
                           {"Referrer-Policy", "same-origin"},
                           {"Content-Security-Policy", web::kContentSecurityPolicy},
                           {"Cross-Origin-Opener-Policy", "same-origin"}};
  // Over TLS the browser is told to come back only over TLS (a year; not for subdomains, which
  // vfax does not know about).
  if (tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  server->set_default_headers(std::move(headers));
  server->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    ConnectionGuard::answered();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - requestStart)
                        .count();
    if (res.status >= 500) {
      spdlog::warn("http {} {} -> {} ({} ms)", core::logSafe(req.method, 20),
                   core::logSafe(req.path), res.status, ms);
    } else {
      spdlog::debug("http {} {} -> {} ({} ms)", core::logSafe(req.method, 20),
                    core::logSafe(req.path), res.status, ms);
    }
  });

  auto health = [&ctx](const httplib::Request&, httplib::Response& res) {
    Json body = healthJson(ctx.trunks(), ctx.options.healthReasons ? ctx.options.healthReasons()
                                                                   : std::vector<std::string>{});
    if (ctx.options.converterSandbox) body["converter_sandbox"] = ctx.options.converterSandbox();
    detail::replyJson(res, 200, body);
  };
  server->Get("/healthz", health);
  server->Get("/api/v1/healthz", health);

  // Metrics: any valid token (a scraper gets a user and token of its own), or none at all with
  // [api] metrics_public.
  auto metrics = [this, &ctx](const httplib::Request& req, httplib::Response& res) {
    try {
      if (!ctx.options.metricsPublic) {
        if (auto c = detail::authorize(ctx, req, Access::Token); !c)
          return detail::replyError(res, c.error());
      }
      auto counts = countFaxes(ctx.service);
      if (!counts) return detail::replyError(res, counts.error());
      std::string text = renderMetrics(*counts, ctx.service.lines(), ctx.trunks(), ctx.media());
      if (ctx.options.events) {
        text +=
            "# HELP vfax_event_streams Open live event streams (GET /api/v1/events).\n"
            "# TYPE vfax_event_streams gauge\nvfax_event_streams " +
            std::to_string(ctx.options.events->streams()) +
            "\n# HELP vfax_event_streams_max The limit of open event streams ([api] "
            "max_event_streams).\n# TYPE vfax_event_streams_max gauge\nvfax_event_streams_max " +
            std::to_string(ctx.options.events->options().maxStreams) + "\n";
      }
      if (guard_) {
        const ConnectionStats c = guard_->stats();
        text += fmt::format(
            "# HELP vfax_http_connections Open API connections (waiting for a header, queued or "
            "served).\n# TYPE vfax_http_connections gauge\nvfax_http_connections {}\n"
            "# HELP vfax_http_connections_active API connections on a server thread.\n"
            "# TYPE vfax_http_connections_active gauge\nvfax_http_connections_active {}\n"
            "# HELP vfax_http_refused_total Connections refused with 503 (a connection cap or a "
            "full queue).\n# TYPE vfax_http_refused_total counter\nvfax_http_refused_total {}\n"
            "# HELP vfax_http_timed_out_total Connections closed at a header, body or answer "
            "deadline.\n# TYPE vfax_http_timed_out_total counter\nvfax_http_timed_out_total {}\n",
            c.open, c.active, c.refused, c.timedOut);
      }
      res.set_content(text, "text/plain; version=0.0.4");
    } catch (const std::exception& ex) {
      detail::replyError(res, core::makeError("internal", ex.what()));
    }
  };
  server->Get("/metrics", metrics);
  server->Get("/api/v1/metrics", metrics);
  server->Get("/", [](const httplib::Request& req, httplib::Response& res) {
    serveAsset(req, res, "/index.html");
  });
  server->Get(R"(/assets/([A-Za-z0-9_./-]{1,200}))", [](const httplib::Request& req,
                                                        httplib::Response& res) {
    if (req.path.find("..") != std::string::npos) {
      return detail::replyJson(res, 404, errorJson("unknown_route", "there is no such file"));
    }
    serveAsset(req, res, req.path);
  });

  detail::addFaxRoutes(*server, ctx);
  detail::addPrintRoutes(*server, ctx);
  detail::addAdminRoutes(*server, ctx);
  detail::addAccountRoutes(*server, ctx);
  detail::addNumberRoutes(*server, ctx);
  if (options_.mail) detail::addMailRoutes(*server, ctx, *options_.mail);
  if (options_.iax2) detail::addTrunkRoutes(*server, ctx, *options_.iax2);
  if (options_.sip) detail::addSipTrunkRoutes(*server, ctx, *options_.sip);
  if (options_.events) {
    streams_ = std::make_unique<detail::EventStreams>(ctx, *options_.events);
    detail::addEventRoutes(*server, ctx, *streams_);
  }

  ConnectionLimits limits = options_.limits;
  limits.plainHttp = !tls;
  // Each event stream holds a worker thread as long as it is open: the pool has one per allowed
  // stream on top of the ordinary workers, so open streams never starve API requests.
  limits.workers += options_.events ? options_.events->options().maxStreams : 0;
  detail::GuardedServer* raw = server.get();
  auto guard = std::make_unique<ConnectionGuard>(limits, [raw](int fd) { raw->serve(fd); });
  auto port = guard->bind(options_.bindAddress, options_.port);
  if (!port) return port.error();
  server->running(guard->listenFd());
  server_ = std::move(server);
  guard_ = std::move(guard);
  if (streams_) streams_->start();
  guard_->start();
  spdlog::info("api: listening on {}://{}:{}/", tls ? "https" : "http", options_.bindAddress,
               *port);
  return *port;
}

ConnectionStats HttpServer::connectionStats() const {
  return guard_ ? guard_->stats() : ConnectionStats{};
}

void HttpServer::stop() {
  if (!server_) return;
  // First: a stream's worker would otherwise keep the pool's shutdown waiting.
  if (streams_) streams_->stop();
  // Kept-alive TLS connections end after their current request.
  server_->stopping();
  guard_->stop();
  guard_.reset();
  server_.reset();
}

}  // namespace vfax::api
