#include "app/application.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "api/event_hub.h"
#include "api/http_server.h"
#include "app/admin_adapters.h"
#include "app/print_adapters.h"
#include "app/printer_supervisor.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/log_safe.h"
#include "core/secrets.h"
#include "core/service.h"
#include "documents/document_converter.h"
#include "mail/gateway.h"
#include "store/sqlite_store.h"
#include "telephony/telephony_impl.h"
#include "trunks/iax2/iax2_admin.h"
#include "trunks/iax2/settings.h"
#include "trunks/sip/sip_admin.h"
#include "trunks/sip/sip_settings.h"
#include "trunks/sip/sip_trunk.h"

namespace fs = std::filesystem;

namespace vfax::app {

namespace {

// Each API connection is a file descriptor: make room for the configured number (and the rest of
// vfaxd) when the soft limit is lower and the hard one allows it.
void raiseFileLimit(rlim_t wanted) {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0 || l.rlim_cur >= wanted) return;
  const rlim_t before = l.rlim_cur;
  l.rlim_cur = std::min(wanted, l.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &l) != 0 || l.rlim_cur < wanted) {
    spdlog::warn(
        "api: open files are limited to {} (ulimit -n), fewer than [server] "
        "http_max_connections needs ({})",
        l.rlim_cur, wanted);
  } else {
    spdlog::debug("api: raised the open files limit from {} to {}", before, l.rlim_cur);
  }
}

// Writes `content` to `path` atomically, readable by the owner only.
bool writePrivateFile(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  const mode_t old = umask(077);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content << "\n";
    if (!out.flush()) {
      umask(old);
      return false;
    }
  }
  umask(old);
  std::error_code ec;
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);
  fs::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

BoundedStop::BoundedStop(std::string what, std::chrono::milliseconds budget,
                         std::function<void()> fn)
    : what_(std::move(what)),
      budget_(budget),
      begin_(std::chrono::steady_clock::now()),
      shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([shared = shared_, fn = std::move(fn)] {
    fn();
    std::lock_guard lock(shared->mu);
    shared->done = true;
    shared->cv.notify_all();
  });
}

BoundedStop::~BoundedStop() {
  if (thread_.joinable()) wait();
}

bool BoundedStop::wait() {
  if (!thread_.joinable()) return finished_;
  std::unique_lock lock(shared_->mu);
  if (!shared_->cv.wait_until(lock, begin_ + budget_, [this] { return shared_->done; })) {
    lock.unlock();
    // The component is stuck (a peer that does not answer, a long conversion): waiting longer
    // would break the stop bound, so its thread is left behind and the process exits without
    // destroying what it uses.
    spdlog::error("stop: {} overran its budget of {} ms; going on without it", what_,
                  budget_.count());
    thread_.detach();
    finished_ = false;
    return false;
  }
  lock.unlock();
  thread_.join();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin_);
  spdlog::debug("stop: {} stopped in {} ms", what_, ms.count());
  finished_ = true;
  return true;
}

bool runBounded(const std::string& what, std::chrono::milliseconds budget,
                std::function<void()> fn) {
  return BoundedStop(what, budget, std::move(fn)).wait();
}

// Declared in start order: destruction runs in reverse, like the stop.
struct Application::Parts {
  core::SystemClock clock;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<documents::DocumentConverter> converter;
  std::unique_ptr<telephony::TelephonyImpl> telephony;
  std::unique_ptr<trunks::iax2::Iax2Admin> iax2Admin;
  std::unique_ptr<trunks::sip::SipAdmin> sipAdmin;
  std::unique_ptr<api::EventHub> events;  // observes the service: outlives it
  std::unique_ptr<core::Service> service;
  std::unique_ptr<mail::MailGateway> mail;
  std::unique_ptr<PrintDocumentsAdapter> printDocuments;
  std::unique_ptr<core::PrintIntake> printIntake;
  std::unique_ptr<MailAdminAdapter> mailApi;
  std::unique_ptr<Iax2AdminAdapter> iax2Api;
  std::unique_ptr<SipAdminAdapter> sipApi;
  std::unique_ptr<api::HttpServer> http;
  std::unique_ptr<PrinterSupervisor> printer;  // vfax-printer, [print] enabled
  // Set once the component runs: stop() stops exactly these.
  bool telephonyStarted = false;
  bool serviceStarted = false;
  bool mailStarted = false;
  bool httpStarted = false;
  bool printerStarted = false;
};

Application::Application(Config config, StopBudgets budgets)
    : config_(std::move(config)), budgets_(budgets), parts_(std::make_unique<Parts>()) {}

Application::~Application() {
  stop();
  parts_.reset();
}

core::Result<void> Application::start(const std::function<bool()>& stopRequested) {
  auto r = startAll(stopRequested);
  if (!r) {
    if (r.error().code == "stopping") {
      spdlog::info("vfaxd: stop requested during start; stopping what runs");
    } else {
      spdlog::critical("{}", r.error().message);
    }
    stop();
  }
  return r;
}

core::Result<void> Application::startAll(const std::function<bool()>& stopRequested) {
  auto& p = *parts_;
  auto interrupted = [&]() -> bool { return stopRequested && stopRequested(); };
  const auto stopping = [] { return core::makeError("stopping", "stop requested during start"); };

  // 1. Data directory and store.
  std::error_code ec;
  fs::create_directories(config_.dataDir, ec);
  if (ec) {
    return core::makeError("storage_error", "cannot create the data directory " + config_.dataDir +
                                                ": " + ec.message());
  }
  fs::permissions(config_.dataDir, fs::perms::owner_all, ec);
  // DATA/http-url says "the API serves here": one left by a crash must not say so while this
  // start runs (tools and tests wait for it to appear).
  fs::remove(fs::path(config_.dataDir) / "http-url", ec);
  const std::string dbPath = config_.databasePath.empty()
                                 ? (fs::path(config_.dataDir) / "vfax.db").string()
                                 : config_.databasePath;
  auto store = store::SqliteStore::open(dbPath);
  if (!store) {
    return core::makeError("storage_error",
                           "cannot open the database " + dbPath + ": " + store.error().message);
  }
  p.store = std::move(*store);
  if (interrupted()) return stopping();

  // 2. Document converter. The conversion child sits next to vfaxd (build tree and installed
  // layout alike).
  documents::ConverterOptions docOptions;
  docOptions.converterPath = documents::DocumentConverter::defaultConverterPath();
  docOptions.timeout = std::chrono::seconds(config_.conversionTimeoutSeconds);
  docOptions.cpuSeconds = config_.conversionTimeoutSeconds;
  docOptions.memoryBytes = static_cast<std::uint64_t>(config_.conversionMemoryMb) << 20;
  docOptions.maxPages = config_.maxPages;
  docOptions.sandboxUser = config_.sandboxUser;
  docOptions.allowUnsandboxed = config_.allowUnsandboxed;
  if (!fs::exists(docOptions.converterPath)) {
    return core::makeError("missing_converter",
                           "the document converter " + docOptions.converterPath + " is missing");
  }
  // OCR asks the service's settings per fax; the service exists only later.
  docOptions.ocrReceived = [this] {
    auto* service = parts_->service.get();
    if (service == nullptr) return false;
    auto s = service->settings();
    return s && s->ocrReceived;
  };
  p.converter = std::make_unique<documents::DocumentConverter>(docOptions);
  if (const auto sandbox = p.converter->sandboxStatus(); sandbox.available()) {
    spdlog::info("documents: converters run sandboxed: {}", sandbox.mode);
  } else {
    spdlog::error("documents: the converter sandbox is unavailable, documents are refused: {}",
                  sandbox.reason);
  }

  // 3. Telephony with its trunks. It runs before the scheduler so that the first dispatch finds
  // every trunk bound (or reporting why not); calls offered meanwhile wait in the scheduler's
  // queue until it runs.
  telephony::TelephonyOptions telOptions;
  telOptions.realtime = config_.loopbackRealtime;
  telOptions.loopbackMedia =
      config_.loopbackMedia == "t38" ? trunks::MediaKind::T38 : trunks::MediaKind::Audio;
  telOptions.loopbackLaw =
      config_.loopbackLaw == "ulaw" ? codec::G711Law::Ulaw : codec::G711Law::Alaw;
  telOptions.loopbackSwitchToT38 = config_.loopbackMedia == "switch";
  telOptions.noProgressTimeoutMs = config_.faxIdleTimeoutSeconds * 1000;
  telOptions.maxCallDurationMs = config_.faxMaxCallSeconds * 1000;
  p.telephony = std::make_unique<telephony::TelephonyImpl>(telOptions);
  // IAX2 trunk: [iax2] in the file plus the peers added through the API (kept in the store).
  auto iax2Box = core::SecretBox::loadOrCreate((fs::path(config_.dataDir) / "secret.key").string());
  if (!iax2Box) return core::makeError(iax2Box.error().code, "iax2: " + iax2Box.error().message);
  p.iax2Admin =
      std::make_unique<trunks::iax2::Iax2Admin>(*p.store, std::move(*iax2Box), config_.iax2);
  if (auto r = p.iax2Admin->load(); !r) {
    return core::makeError(r.error().code, "iax2: " + r.error().message);
  }
  if (config_.iax2Section ? config_.iax2Enabled : p.iax2Admin->hasStoredPeers()) {
    const auto effective = p.iax2Admin->effective();
    if (auto err = checkIax2Route(config_, effective.engine, p.iax2Admin->hasStoredOutbound());
        !err.empty()) {
      return core::makeError("invalid_setting", err);
    }
    if (auto err = trunks::iax2::validateOutboundRoute(effective.engine); !err.empty()) {
      spdlog::warn(
          "iax2: the outbound route set through the API {}; outbound calls fail until "
          "it is changed (PUT /api/v1/trunks/iax2)",
          err);
    }
    auto trunk =
        std::make_unique<trunks::iax2::Iax2Trunk>(p.telephony->loop(), p.iax2Admin->effective());
    p.iax2Admin->setTrunk(trunk.get());
    p.telephony->setExternalTrunk(std::move(trunk));
  }
  // SIP trunk: [sip] in the file plus the peers and registrations added through the API (kept in
  // the store). SipAdmin exists either way, so GET|PUT /api/v1/trunks/sip work before the trunk
  // does; the trunk gets every change through SipTrunkControl::reconfigure.
  auto sipBox = core::SecretBox::loadOrCreate((fs::path(config_.dataDir) / "secret.key").string());
  if (!sipBox) return core::makeError(sipBox.error().code, "sip: " + sipBox.error().message);
  p.sipAdmin = std::make_unique<trunks::sip::SipAdmin>(*p.store, std::move(*sipBox), config_.sip);
  if (auto r = p.sipAdmin->load(); !r) {
    return core::makeError(r.error().code, "sip: " + r.error().message);
  }
  if (config_.sipSection ? config_.sipEnabled : p.sipAdmin->hasStoredPeers()) {
    const auto effective = p.sipAdmin->effective();
    if (auto err = checkSipOutbound(config_, effective); !err.empty()) {
      return core::makeError("invalid_setting", err);
    }
    if (auto err = trunks::sip::validateConfig(effective); !err.empty()) {
      spdlog::warn(
          "sip: the settings stored through the API no longer fit the config file: {}; fix them "
          "with PUT /api/v1/trunks/sip",
          err);
    }
    auto trunk = std::make_unique<trunks::sip::SipTrunk>(p.telephony->loop(), effective);
    p.sipAdmin->setTrunk(trunk.get());
    p.telephony->setExternalTrunk(std::move(trunk));
  }
  {
    std::vector<telephony::OutboundRoute> routes;
    for (const auto& r : config_.routes) routes.push_back({r.prefix, r.trunk});
    p.telephony->setRoutes(std::move(routes));
  }

  // The service registers itself for call events at construction, before telephony starts.
  config_.service.dataDir = config_.dataDir;
  // Previews are converted like jobs: as many at once as there are conversion workers.
  config_.service.previewConversions = config_.service.conversionWorkers;
  // Tests only: a shorter hour for print_hold_hours, so that a held job expires while they wait.
  if (const char* h = std::getenv("VFAX_TEST_HOLD_HOUR_MS"); h != nullptr && std::atoll(h) > 0) {
    config_.service.holdHour = std::atoll(h);
    spdlog::warn("VFAX_TEST_HOLD_HOUR_MS: an hour of print_hold_hours lasts {} ms",
                 config_.service.holdHour);
  }
  p.service = std::make_unique<core::Service>(*p.store, *p.converter, *p.telephony, p.clock,
                                              config_.service);
  // The mail gateway observes every fax from the first state change on (recovery included).
  p.mail = std::make_unique<mail::MailGateway>(*p.service, *p.store, p.clock,
                                               mail::GatewayOptions{config_.dataDir, config_.mail});
  if (auto r = p.mail->init(); !r) {
    return core::makeError(r.error().code, "mail: " + r.error().message);
  }
  p.service->addObserver(p.mail.get());
  // Print-to-Fax intake: fields read by the converter, refusals told by mail.
  p.printDocuments = std::make_unique<PrintDocumentsAdapter>(*p.converter);
  p.service->setFieldPatternCheck(
      [docs = p.printDocuments.get()](const std::vector<std::string>& patterns) {
        return docs->checkPatterns(patterns);
      });
  p.printIntake = std::make_unique<core::PrintIntake>(
      *p.service, *p.printDocuments, (fs::path(config_.dataDir) / "print-intake").string());
  fs::remove_all(fs::path(config_.dataDir) / "print-intake", ec);  // jobs cut by a crash
  p.printIntake->setRefusalMail([mail = p.mail.get()](const std::string& to,
                                                      const std::string& jobName,
                                                      const core::Error& reason) {
    mail->sendPrintRefusal(to, jobName, reason);
  });
  // The web page's live events (GET /api/v1/events) see every fax from the start on.
  p.events = std::make_unique<api::EventHub>(api::EventHubOptions{
      .maxStreams = config_.maxEventStreams, .maxStreamsPerUser = 8, .maxQueued = 512});
  p.service->addObserver(p.events.get());

  p.telephony->start();
  p.telephonyStarted = true;
  if (interrupted()) return stopping();

  // 4. Service and scheduler: recovery, then dispatching.
  if (auto r = p.service->start(); !r) {
    return core::makeError(r.error().code, "cannot start: " + r.error().message);
  }
  p.serviceStarted = true;
  // First start (or the built-in admin has no token left): a token of the built-in admin user,
  // shown once and kept in DATA/admin-token (mode 600).
  const fs::path tokenFile = fs::path(config_.dataDir) / "admin-token";
  auto& accounts = p.service->accounts();
  auto admin = accounts.builtinAdmin();
  if (!admin) return core::makeError("storage_error", "cannot start: " + admin.error().message);
  auto tokens = accounts.tokens(core::systemCaller(), admin->id);
  if (tokens && tokens->empty()) {
    auto t = accounts.createToken(core::systemCaller(), "admin", admin->id, 0);
    if (!t || !writePrivateFile(tokenFile, t->secret)) {
      return core::makeError("storage_error", "cannot create the admin token");
    }
    // The secret goes only to a person at a terminal: on a service's stdout it would end up in
    // the journal or a log file that others may read. The file has it either way.
    if (::isatty(STDOUT_FILENO) == 1) {
      std::cout << "vfaxd: admin API token (shown once; also in " << tokenFile.string() << "):\n  "
                << t->secret << std::endl;
    } else {
      spdlog::info(
          "admin API token created; it is in {} (mode 600, not shown here because the "
          "output is not a terminal)",
          core::logSafe(tokenFile.string()));
    }
    if (admin->passwordHash.empty()) {
      std::cout << "vfaxd: to log in to the web page as '" << admin->username
                << "', set its password: VFAX_TOKEN_FILE=" << tokenFile.string()
                << " vfax user passwd " << admin->username << std::endl;
    }
  }
  if (interrupted()) return stopping();

  // 5. Mail gateway: outbox worker and Mail-to-Fax poller.
  p.mail->start();
  p.mailStarted = true;
  if (interrupted()) return stopping();

  // The printer's secret on vfaxd's internal print routes: known to the API before it serves.
  {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    printerSecret_ = core::toHex(raw, sizeof raw);
  }

  // 6. HTTP API: once DATA/http-url exists, everything behind it runs.
  api::ApiOptions apiOptions;
  apiOptions.bindAddress = config_.httpAddress;
  apiOptions.port = config_.httpPort;
  apiOptions.maxUploadBytes = static_cast<std::uint64_t>(config_.maxUploadBytes);
  apiOptions.maxFilesPerRequest = config_.maxFilesPerFax;
  apiOptions.metricsPublic = config_.metricsPublic;
  // A page reached over https (public_url) gets Secure cookies even if nobody said so.
  apiOptions.secureCookies = config_.secureCookies || config_.publicUrl.rfind("https://", 0) == 0;
  apiOptions.publicOrigin = config_.publicUrl;
  apiOptions.tlsCert = config_.tlsCert;
  apiOptions.tlsKey = config_.tlsKey;
  if (!config_.tlsCert.empty()) apiOptions.secureCookies = true;
  {
    auto& l = apiOptions.limits;
    l.maxConnections = config_.httpMaxConnections;
    l.maxConnectionsPerSource = config_.httpMaxConnectionsPerSource;
    l.maxQueued = config_.httpMaxQueued;
    l.workers = config_.httpWorkers;
    l.maxActivePerSource = config_.httpMaxWorkersPerSource;
    l.headerTimeout = std::chrono::seconds(config_.httpHeaderTimeoutSeconds);
    l.requestTimeout = std::chrono::seconds(config_.httpRequestTimeoutSeconds);
    l.transferTimeout = std::chrono::seconds(config_.httpTransferTimeoutSeconds);
    apiOptions.idleTimeoutSeconds = config_.httpIdleTimeoutSeconds;
    raiseFileLimit(static_cast<rlim_t>(l.maxConnections) + l.workers + 512);
  }
  apiOptions.thumbnailWidth = documents::ConverterOptions{}.thumbnailWidth;
  apiOptions.stagingDir = (fs::path(config_.dataDir) / "staging").string();
  fs::remove_all(apiOptions.stagingDir, ec);  // uploads cut by a crash
  fs::create_directories(apiOptions.stagingDir, ec);
  apiOptions.telephony = p.telephony.get();
  p.mailApi = std::make_unique<MailAdminAdapter>(*p.mail);
  p.iax2Api = std::make_unique<Iax2AdminAdapter>(*p.iax2Admin);
  p.sipApi = std::make_unique<SipAdminAdapter>(*p.sipAdmin);
  apiOptions.mail = p.mailApi.get();
  apiOptions.iax2 = p.iax2Api.get();
  apiOptions.sip = p.sipApi.get();
  apiOptions.events = p.events.get();
  apiOptions.healthReasons = [this]() -> std::vector<std::string> {
    std::vector<std::string> reasons;
    if (const auto sandbox = parts_->converter->sandboxStatus(); !sandbox.available()) {
      reasons.push_back("documents: converter sandbox unavailable: " + sandbox.reason);
    }
    const auto h = printerHealth();
    if (!h.enabled || h.running) return reasons;
    reasons.push_back("printer: " + (h.why.empty() ? std::string("not running") : h.why));
    return reasons;
  };
  apiOptions.converterSandbox = [this] { return parts_->converter->sandboxStatus().mode; };
  apiOptions.printIntake = p.printIntake.get();
  // The printer's routes: with [print] enabled, this start's secret and the [print] settings;
  // else only what the environment says (tests of the intake without the printer).
  apiOptions.print = printApiOptionsFromEnvironment();
  if (config_.print.enabled) {
    apiOptions.print.secret = printerSecret_;
    apiOptions.print.anonymousDevice = config_.print.anonymousDevice;
    apiOptions.print.anonymousAllow = config_.print.anonymousAllow;
  }
  p.http = std::make_unique<api::HttpServer>(*p.service, apiOptions);
  auto port = p.http->start();
  if (!port) return port.error();  // it names the address and port
  p.httpStarted = true;
  const std::string host = config_.httpAddress.find(':') != std::string::npos
                               ? "[" + config_.httpAddress + "]"
                               : config_.httpAddress;
  url_ = (config_.tlsCert.empty() ? "http://" : "https://") + host + ":" + std::to_string(*port);
  if (interrupted()) return stopping();

  // 7. The Print-to-Fax printer, a child process: it needs the API's URL.
  if (config_.print.enabled) {
    if (auto r = startPrinter(*port); !r) return r;
  }

  writePrivateFile(fs::path(config_.dataDir) / "http-url", url_);
  spdlog::info("vfaxd ready: API and web page on {}/ (data in {})", url_, config_.dataDir);
  std::cout << "vfaxd: listening on " << url_ << "/" << std::endl;
  return {};
}

core::Result<void> Application::startPrinter(int apiPort) {
  auto& p = *parts_;
  const auto& pc = config_.print;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  PrinterChildOptions o;
  o.program = ec ? "vfax-printer" : (self.parent_path() / "vfax-printer").string();
  o.secret = printerSecret_;
  // The printer talks to the API over loopback whatever address the API listens on.
  std::string apiHost = config_.httpAddress;
  if (apiHost == "0.0.0.0") apiHost = "127.0.0.1";
  if (apiHost == "::") apiHost = "::1";
  if (apiHost.find(':') != std::string::npos) apiHost = "[" + apiHost + "]";
  o.args = {"--listen",    pc.listen,
            "--spool",     (fs::path(config_.dataDir) / "print-spool").string(),
            "--tls-dir",   (fs::path(config_.dataDir) / "print-tls").string(),
            "--api",       "http://" + apiHost + ":" + std::to_string(apiPort),
            "--log-level", pc.logLevel,
            "--max-bytes", std::to_string(config_.maxUploadBytes)};
  if (!pc.tlsCert.empty()) {
    o.args.insert(o.args.end(), {"--tls-cert", pc.tlsCert, "--tls-key", pc.tlsKey});
  }
  if (!pc.anonymousDevice.empty()) o.args.push_back("--anonymous");
  // DNS-SD only where it can reach someone: a printer on loopback is not announced, nor one
  // on a host without Avahi (PAPPL would log an error at every registration).
  const bool loopbackOnly = pc.listen.rfind("127.", 0) == 0 || pc.listen.rfind("[::1]", 0) == 0;
  const bool avahi = fs::exists("/run/avahi-daemon/socket", ec);
  if (loopbackOnly || !avahi) o.args.push_back("--no-dnssd");
  spdlog::info("printer: ipp://{}/ipp/print{}", pc.listen,
               loopbackOnly ? " (loopback only, not announced)"
                            : (avahi ? ", announced by DNS-SD" : ", not announced (no Avahi)"));
  p.printer = std::make_unique<PrinterSupervisor>(std::move(o));
  if (!p.printer->start()) {
    return core::makeError("missing_printer",
                           "[print] enabled, but the printer cannot start: " + p.printer->why());
  }
  p.printerStarted = true;
  return {};
}

Application::PrinterHealth Application::printerHealth() const {
  PrinterHealth h;
  h.enabled = config_.print.enabled;
  if (parts_ && parts_->printer) {
    h.running = parts_->printer->running();
    if (!h.running) h.why = parts_->printer->why();
  } else if (h.enabled) {
    h.why = "not started";
  }
  return h;
}

bool Application::stop() {
  if (stopped_) return clean_;
  stopped_ = true;
  auto& p = *parts_;
  // The printer first and beside everything else: no new print jobs, and its 2 s until SIGKILL
  // overlap the other steps instead of adding to them.
  std::optional<BoundedStop> printer;
  if (p.printerStarted) {
    const auto kill = budgets_.printerKill;
    printer.emplace("the printer", budgets_.printer, [&p, kill] { p.printer->stop(kill); });
  }
  if (p.httpStarted) {
    std::error_code ec;
    fs::remove(fs::path(config_.dataDir) / "http-url", ec);
  }
  auto step = [this](const char* what, std::chrono::milliseconds budget, std::function<void()> fn) {
    if (!runBounded(what, budget, std::move(fn))) clean_ = false;
  };
  // The doors from outside close first, together (neither needs the other): the HTTP API, and
  // Mail-to-Fax intake before the service (a poller inside Service::submit finishes its mail).
  {
    std::optional<BoundedStop> http, intake;
    if (p.httpStarted) http.emplace("the HTTP API", budgets_.intake, [&p] { p.http->stop(); });
    if (p.mailStarted) {
      intake.emplace("Mail-to-Fax intake", budgets_.intake, [&p] { p.mail->stopIntake(); });
    }
    if (http && !http->wait()) clean_ = false;
    if (intake && !intake->wait()) clean_ = false;
  }
  // The service stops in two halves around telephony: no new calls (and calls ended from now on
  // cost no attempt), then the hangups, then the scheduler drains the results they reported.
  if (p.serviceStarted) p.service->beginShutdown();
  if (p.telephonyStarted) step("telephony", budgets_.telephony, [&p] { p.telephony->stop(); });
  if (p.serviceStarted) step("the scheduler", budgets_.scheduler, [&p] { p.service->stop(); });
  // The outbox last: it delivers the state mails of the stop itself.
  if (p.mailStarted) {
    const auto budget = budgets_.mailOutbox;
    // The inner budget leaves the worker's join room inside the step's own.
    step("the mail outbox", budget, [&p, budget] { p.mail->stopOutbox(budget * 2 / 3); });
  }
  if (printer && !printer->wait()) clean_ = false;
  if (clean_) spdlog::info("vfaxd: stopped");
  return clean_;
}

}  // namespace vfax::app
