#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <system_error>
#include <thread>

#include "api/credentials.h"
#include "api/errors.h"
#include "api/event_hub.h"
#include "api/event_streams.h"
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

// Each request is handled from start to log line on one httplib worker thread.
thread_local std::chrono::steady_clock::time_point requestStart;

// Uploads: a fax to send, or the same form to preview.
bool isUpload(const httplib::Request& req) {
  return req.method == "POST" && (req.path == kUploadPath || req.path == kPreviewPath);
}

std::optional<std::uint64_t> contentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  try {
    return std::stoull(req.get_header_value("Content-Length"));
  } catch (const std::exception&) {
    return std::numeric_limits<std::uint64_t>::max();
  }
}

// An upload this much over the limit is still read (and thrown away) by httplib before the 413, so
// that a client that does not wait for 100-continue gets the answer instead of a broken pipe.
constexpr std::uint64_t kDrainAllowance = 16ull << 20;

// Rejects an oversized body from its announced length, before any of it is read.
bool tooLarge(const httplib::Request& req, const ApiOptions& options, httplib::Response& res,
              bool expectContinue) {
  const std::uint64_t limit = isUpload(req) ? options.maxUploadBytes : kMaxJsonBody;
  const auto length = contentLength(req);
  if (!length || *length <= limit) return false;
  if (!expectContinue && isUpload(req) && *length <= limit + kDrainAllowance) return false;
  detail::replyError(
      res, core::makeError("payload_too_large", "the request body (" + std::to_string(*length) +
                                                    " bytes) is larger than the limit of " +
                                                    std::to_string(limit) + " bytes"));
  res.set_header("Connection", "close");
  return true;
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

namespace {
// Workers for ordinary requests besides those that event streams hold for their lifetime.
constexpr int kRequestWorkers = 8;
}  // namespace

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
  auto server = std::make_unique<httplib::Server>();
  auto& ctx = *context_;
  // Each event stream holds a worker thread as long as it is open: the pool has one per allowed
  // stream on top of the ordinary workers, so open streams never starve API requests.
  const int workers =
      kRequestWorkers + (options_.events ? options_.events->options().maxStreams : 0);
  server->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server->set_payload_max_length(options_.maxUploadBytes);
  // stop() waits for every connection's thread, an idle keep-alive one included (httplib checks
  // for the stop only between requests): 1 s instead of 5 keeps vfaxd's stop within its budget.
  server->set_keep_alive_timeout(1);
  // Without it every answer waits ~40 ms for the client's delayed ACK (Nagle).
  server->set_tcp_nodelay(true);

  server->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    requestStart = std::chrono::steady_clock::now();
    return tooLarge(req, options_, res, false) ? httplib::Server::HandlerResponse::Handled
                                               : httplib::Server::HandlerResponse::Unhandled;
  });
  // Clients that announce a body with Expect: 100-continue learn of a refusal before sending it.
  server->set_expect_100_continue_handler(
      [this, &ctx](const httplib::Request& req, httplib::Response& res) {
        requestStart = std::chrono::steady_clock::now();
        if (tooLarge(req, options_, res, true)) return res.status;
        if (isUpload(req)) {
          if (auto c = detail::authorize(ctx, req, Access::Token); !c) {
            detail::replyError(res, c.error());
            res.set_header("Connection", "close");
            return res.status;
          }
        }
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
  server->set_default_headers({{"X-Content-Type-Options", "nosniff"},
                               {"X-Frame-Options", "DENY"},
                               {"Referrer-Policy", "same-origin"},
                               {"Content-Security-Policy", web::kContentSecurityPolicy},
                               {"Cross-Origin-Opener-Policy", "same-origin"}});
  server->set_logger([](const httplib::Request& req, const httplib::Response& res) {
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
  auto metrics = [&ctx](const httplib::Request& req, httplib::Response& res) {
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

  int port = options_.port;
  if (port == 0) {
    port = server->bind_to_any_port(options_.bindAddress);
    if (port <= 0) {
      return core::makeError("bind_failed",
                             "cannot listen on " + options_.bindAddress + " (any port)");
    }
  } else if (!server->bind_to_port(options_.bindAddress, port)) {
    return core::makeError("bind_failed", "cannot listen on " + options_.bindAddress + ":" +
                                              std::to_string(port) +
                                              " (in use, or not an address of this host)");
  }
  server_ = std::move(server);
  if (streams_) streams_->start();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([s = server_.get(), finished] {
    s->listen_after_bind();
    *finished = true;
  });
  // httplib's stop() does nothing until the accept loop runs, so stop() right after start()
  // would hang in join(): return only once the loop is up.
  while (!server_->is_running() && !*finished)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (*finished) {
    thread_.join();
    if (streams_) streams_->stop();
    server_.reset();
    return core::makeError("bind_failed", "the HTTP server stopped right after it started");
  }
  spdlog::info("api: listening on http://{}:{}/", options_.bindAddress, port);
  return port;
}

void HttpServer::stop() {
  if (!server_) return;
  // First: a stream's worker would otherwise keep the pool's shutdown waiting.
  if (streams_) streams_->stop();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace vfax::api
