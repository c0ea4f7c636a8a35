#pragma once
// The REST API server (/api/v1, docs/openapi.yaml) on cpp-httplib. Requests run on httplib's
// worker threads and call core::Service, which is thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/connection_guard.h"
#include "core/print_intake.h"
#include "core/result.h"
#include "core/service.h"
#include "core/telephony.h"

namespace httplib {
class Server;
}

namespace vfax::api {

namespace detail {
struct Context;
class EventStreams;
class GuardedServer;
}  // namespace detail

class EventHub;

class MailAdmin;
class Iax2TrunkAdmin;
class SipTrunkAdmin;

/// The internal routes vfax-printer calls (POST /api/v1/print/authorize and /print/jobs).
struct PrintApiOptions {
  /// The printer secret (X-Vfax-Printer); empty: the print routes answer 404 like unknown ones.
  std::string secret;
  /// The device of unauthenticated jobs ([print] anonymous_device: its extension, or "#ID");
  /// empty: unauthenticated jobs are refused.
  std::string anonymousDevice;
  /// Client addresses (or CIDR networks) that may print without a password.
  std::vector<std::string> anonymousAllow = {"127.0.0.1", "::1"};
};

struct ApiOptions {
  std::string bindAddress = "127.0.0.1";
  int port = 8080;                             // 0: pick a free port (tests)
  std::uint64_t maxUploadBytes = 50ull << 20;  // one request's body, all files together
  int maxFilesPerRequest = 20;
  std::string stagingDir;  // uploads are written here, then handed to Service::submit; required
  /// Connection limits and deadlines (api/connection_guard.h). `workers` counts the ordinary
  /// request workers; the event streams get one each on top. `plainHttp` follows the TLS setting.
  ConnectionLimits limits;
  /// No byte read or written for this long ends a connection (httplib's per-call timeouts).
  int idleTimeoutSeconds = 10;
  /// TLS ([server] tls_cert, tls_key): PEM certificate chain and private key; both or neither.
  /// With them the API speaks only HTTPS (TLS 1.2 or newer) and sends Strict-Transport-Security.
  std::string tlsCert;
  std::string tlsKey;
  /// Trunk status for /healthz, /lines and /metrics (not owned; null: no trunks shown).
  const core::Telephony* telephony = nullptr;
  /// The /mail routes' component (api/admin.h; not owned; null: no /mail routes).
  MailAdmin* mail = nullptr;
  /// The /trunks/iax2 routes' component (not owned; null: no such routes).
  Iax2TrunkAdmin* iax2 = nullptr;
  /// The /trunks/sip routes' component, also asked for /lines (not owned; null: no such routes).
  SipTrunkAdmin* sip = nullptr;
  /// /metrics without credentials ([api] metrics_public).
  bool metricsPublic = false;
  /// Session cookies carry `Secure` (set when the API is served over TLS, or behind a TLS proxy).
  bool secureCookies = false;
  /// The origin people reach the web page at behind a reverse proxy (`https://fax.example.com`),
  /// accepted for cookie writes besides the request's own Host ([api] public_url).
  std::string publicOrigin;
  /// Default widths (px) of GET /faxes/{id}/pages/{n}.png and of a preview's pages (?width=).
  int thumbnailWidth = 200;
  int previewPageWidth = 860;
  /// The live events of GET /events (api/event_hub.h; not owned, registered with the service as
  /// a FaxObserver before it starts; null: no /events route). Its options hold the stream limits;
  /// the server's thread pool gets a worker per stream on top of the ordinary ones.
  EventHub* events = nullptr;
  /// More reasons for /healthz to say "degraded" (the printer not running); called per request,
  /// must be quick and thread-safe. Empty: none.
  std::function<std::vector<std::string>()> healthReasons;
  /// /healthz's "converter_sandbox": how untrusted documents are converted ("landlock+netns+uid",
  /// "unsandboxed (allowed by config)", "unavailable"). Unset: not shown.
  std::function<std::string()> converterSandbox;
  /// Print-to-Fax: the printer's internal routes and what takes its jobs (not owned; null: the
  /// routes answer 404).
  PrintApiOptions print;
  core::PrintIntake* printIntake = nullptr;
};

class HttpServer {
 public:
  HttpServer(core::Service& service, ApiOptions options);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Creates the staging folder, binds and starts serving on threads of its own. Returns the
  /// port actually bound. Error codes: `storage_error` (staging dir), `bind_failed`,
  /// `tls_failed` (the certificate or key cannot be loaded; the message says which and why).
  core::Result<int> start();
  /// Ends the open event streams at once, stops accepting and waits for the serving threads
  /// (a request still running after 2 s has its connection shut down). Idempotent.
  void stop();
  /// The connection counters (open, active, refused, timed out).
  ConnectionStats connectionStats() const;

 private:
  core::Service& service_;
  ApiOptions options_;
  std::unique_ptr<detail::Context> context_;
  std::unique_ptr<detail::EventStreams> streams_;
  std::unique_ptr<detail::GuardedServer> server_;
  std::unique_ptr<ConnectionGuard> guard_;
};

}  // namespace vfax::api
