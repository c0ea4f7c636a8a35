#pragma once
// vfaxd's configuration: embedded defaults, then the TOML file, then command-line flags.
// Every key is documented in docs/vfaxd.example.toml.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/service.h"
#include "trunks/iax2/iax2_trunk.h"
#include "trunks/sip/sip_config.h"

namespace vfax::app {

/// [print]: the Print-to-Fax printer (vfax-printer, a child process of vfaxd; src/print/).
struct PrintConfig {
  bool enabled = false;
  std::string listen = "127.0.0.1:8631";  // ADDR:PORT, numeric ("[::1]:8631", "0.0.0.0:8631")
  std::string tlsCert;                    // PEM files; both or neither. Neither: a self-signed
  std::string tlsKey;                     // certificate made on the first TLS connection
  /// A device's extension: jobs without credentials from an `anonymousAllow` address go to it.
  /// Empty: every job needs a user name and password.
  std::string anonymousDevice;
  /// Numeric IPv4/IPv6 addresses or networks (ADDRESS/PREFIX) the printing client may come from.
  std::vector<std::string> anonymousAllow = {"127.0.0.1", "::1"};
  std::string logLevel = "info";  // vfax-printer's own: debug | info | warn | error
};

/// [[route]]: dial strings starting with `prefix` go to `trunk` ("iax2", "sip", "sip:NAME").
struct RouteConfig {
  std::string prefix;
  std::string trunk;
};

struct Config {
  std::string dataDir = "./var";
  std::string httpAddress = "127.0.0.1";
  int httpPort = 8080;
  std::string logLevel = "info";
  std::string databasePath;  // default: DATA/vfax.db
  // The API's TLS (both or neither) and connection limits (api::ConnectionLimits).
  std::string tlsCert;
  std::string tlsKey;
  int httpMaxConnections = 512;
  int httpMaxConnectionsPerSource = 32;
  int httpMaxQueued = 64;
  int httpWorkers = 16;
  int httpMaxWorkersPerSource = 8;
  int httpHeaderTimeoutSeconds = 10;
  int httpIdleTimeoutSeconds = 10;
  int httpRequestTimeoutSeconds = 60;
  int httpTransferTimeoutSeconds = 600;

  // [loopback]
  bool loopbackRealtime = true;
  std::string loopbackMedia = "audio";  // audio | t38 | switch (audio, then T.38 on fax tones)
  std::string loopbackLaw = "alaw";     // alaw | ulaw

  // [fax]
  int faxIdleTimeoutSeconds = 60;  // no T.30 progress: hang up
  int faxMaxCallSeconds = 3600;

  // [api]
  long long maxUploadBytes = 50LL * 1024 * 1024;
  int maxFilesPerFax = 20;
  bool metricsPublic = false;  // /metrics without a token
  bool secureCookies = false;
  std::string publicUrl;     // the web page's address behind a reverse proxy  // the session cookie
                             // only over HTTPS (TLS here or at a proxy)
  int maxEventStreams = 64;  // open GET /events streams in all (each holds a worker thread)
  int sessionIdleMinutes = 480;
  int sessionMaxHours = 168;

  // [documents]
  int conversionTimeoutSeconds = 120;
  int conversionMemoryMb = 1024;
  int maxPages = 200;
  std::string sandboxUser = "nobody";  // the converters' user when vfaxd runs as root
  bool allowUnsandboxed = false;       // convert without Landlock (else such kernels refuse)

  core::ServiceOptions service;  // [scheduler] and [inbound]

  // [smtp], [mailbox], [mail]: mail gateway settings by their flat keys (smtp_host, mailbox_user,
  // language, ...; see mail/mail_settings.h). Changes through the API override them.
  std::map<std::string, std::string> mail;

  PrintConfig print;  // [print]

  std::vector<RouteConfig> routes;  // [[route]]

  // [iax2]: the IAX2 trunk, on when the section is present (enabled = false turns it off).
  bool iax2Section = false;
  bool iax2Enabled = false;
  trunks::iax2::Iax2TrunkOptions iax2;

  // [sip] with [[sip.peer]] and [[sip.register]]: the SIP trunk, on when the section is present
  // (enabled = false turns it off) or when the API holds peers or registrations.
  bool sipSection = false;
  bool sipEnabled = false;
  trunks::sip::SipConfig sip;
};

/// Reads FILE over the defaults. Throws std::runtime_error with a message naming the key.
Config loadConfig(const std::string& file);
/// The same for the text of a config file; `name` stands for the file in error messages.
Config parseConfig(std::string_view text, const std::string& name);

/// "ADDR:PORT" (IPv6 as "[::1]:8080") with an address of this host; throws std::runtime_error
/// starting with `what` (the key or flag it came from) when it cannot be used.
void parseHttpAddress(const std::string& text, Config& config, const std::string& what);

/// Combinations the file alone cannot rule out, checked once the API's stored settings are
/// known: an [iax2] outbound route must name a peer or registration (of the file or the API).
/// Empty when fine, else the error naming the keys.
std::string checkIax2Route(const Config& config, const trunks::iax2::EngineConfig& effective,
                           bool routeFromApi);

/// The [sip] outbound route, checked once the API's stored peers and registrations are known
/// (`effective`: SipAdmin::effective()): it must name a registration or a peer with a host.
/// Empty when fine (or when the API overrides the route), else the error naming the key.
std::string checkSipOutbound(const Config& config, const trunks::sip::SipConfig& effective);

}  // namespace vfax::app
