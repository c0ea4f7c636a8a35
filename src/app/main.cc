// vfaxd: the fax server daemon. Loads the configuration, opens the store, starts the scheduler,
// the telephony loop and the HTTP API, and stops them in reverse order on SIGINT/SIGTERM.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "api/http_server.h"
#include "app/config.h"
#include "telephony/telephony_impl.h"
#include "core/clock.h"
#include "core/service.h"
#include "documents/document_converter.h"
#include "mail/gateway.h"
#include "mail/mail_api.h"
#include "store/sqlite_store.h"
#include "trunks/iax2/iax2_admin.h"

namespace fs = std::filesystem;
using namespace vfax;

namespace {

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

int run(app::Config& config) {
  std::error_code ec;
  fs::create_directories(config.dataDir, ec);
  if (ec) {
    spdlog::critical("cannot create the data directory {}: {}", config.dataDir, ec.message());
    return 1;
  }
  fs::permissions(config.dataDir, fs::perms::owner_all, ec);
  const std::string dbPath =
      config.databasePath.empty() ? (fs::path(config.dataDir) / "vfax.db").string() : config.databasePath;

  auto store = store::SqliteStore::open(dbPath);
  if (!store) {
    spdlog::critical("cannot open the database {}: {}", dbPath, store.error().message);
    return 1;
  }

  // The conversion child sits next to vfaxd (build tree and installed layout alike).
  documents::ConverterOptions docOptions;
  docOptions.converterPath = documents::DocumentConverter::defaultConverterPath();
  docOptions.timeout = std::chrono::seconds(config.conversionTimeoutSeconds);
  docOptions.cpuSeconds = config.conversionTimeoutSeconds;
  docOptions.memoryBytes = static_cast<std::uint64_t>(config.conversionMemoryMb) << 20;
  docOptions.maxPages = config.maxPages;
  if (!fs::exists(docOptions.converterPath)) {
    spdlog::critical("the document converter {} is missing", docOptions.converterPath);
    return 1;
  }
  core::Service* settingsSource = nullptr;  // set once the service exists; OCR asks it per fax
  docOptions.ocrReceived = [&settingsSource] {
    if (settingsSource == nullptr) return false;
    auto s = settingsSource->settings();
    return s && s->ocrReceived;
  };
  documents::DocumentConverter converter(docOptions);

  telephony::TelephonyOptions telOptions;
  telOptions.realtime = config.loopbackRealtime;
  telOptions.loopbackMedia =
      config.loopbackMedia == "t38" ? trunks::MediaKind::T38 : trunks::MediaKind::Audio;
  telOptions.loopbackLaw = config.loopbackLaw == "ulaw" ? codec::G711Law::Ulaw : codec::G711Law::Alaw;
  telOptions.noProgressTimeoutMs = config.faxIdleTimeoutSeconds * 1000;
  telOptions.maxCallDurationMs = config.faxMaxCallSeconds * 1000;
  telephony::TelephonyImpl telephony(telOptions);
  // IAX2 trunk: [iax2] in the file plus the peers added through the API (kept in the store).
  auto iax2Box = core::SecretBox::loadOrCreate((fs::path(config.dataDir) / "secret.key").string());
  if (!iax2Box) {
    spdlog::critical("iax2: {}", iax2Box.error().message);
    return 1;
  }
  trunks::iax2::Iax2Admin iax2Admin(**store, std::move(*iax2Box), config.iax2);
  if (auto r = iax2Admin.load(); !r) {
    spdlog::critical("iax2: {}", r.error().message);
    return 1;
  }
  if (config.iax2Section ? config.iax2Enabled : iax2Admin.hasStoredPeers()) {
    if (!config.loopbackRealtime) spdlog::warn("iax2: the trunk needs [loopback] realtime = true");
    auto trunk = std::make_unique<trunks::iax2::Iax2Trunk>(telephony.loop(), iax2Admin.effective());
    iax2Admin.setTrunk(trunk.get());
    telephony.setExternalTrunk(std::move(trunk));
  }

  core::SystemClock clock;
  config.service.dataDir = config.dataDir;
  core::Service service(**store, converter, telephony, clock, config.service);
  settingsSource = &service;
  // The mail gateway observes every fax from the first state change on.
  mail::MailGateway mailGateway(service, **store, clock, {config.dataDir, config.mail});
  if (auto r = mailGateway.init(); !r) {
    spdlog::critical("mail: {}", r.error().message);
    return 1;
  }
  service.addObserver(&mailGateway);
  if (auto r = service.start(); !r) {
    spdlog::critical("cannot start: {}", r.error().message);
    return 1;
  }
  telephony.start();

  // First start (or no admin token left): an admin token, shown once and kept in
  // DATA/admin-token (mode 600).
  const fs::path tokenFile = fs::path(config.dataDir) / "admin-token";
  auto tokens = service.tokens();
  if (tokens && std::none_of(tokens->begin(), tokens->end(), [](const auto& t) { return t.admin; })) {
    auto t = service.createToken("admin", true);
    if (!t || !writePrivateFile(tokenFile, t->secret)) {
      spdlog::critical("cannot create the admin token");
      service.beginShutdown();
      telephony.stop();
      service.stop();
      return 1;
    }
    std::cout << "vfaxd: admin API token (shown once; also in " << tokenFile.string()
              << "):\n  " << t->secret << std::endl;
  }

  api::ApiOptions apiOptions;
  apiOptions.bindAddress = config.httpAddress;
  apiOptions.port = config.httpPort;
  apiOptions.maxUploadBytes = static_cast<std::uint64_t>(config.maxUploadBytes);
  apiOptions.maxFilesPerRequest = config.maxFilesPerFax;
  apiOptions.stagingDir = (fs::path(config.dataDir) / "staging").string();
  fs::remove_all(apiOptions.stagingDir, ec);  // uploads cut by a crash
  fs::create_directories(apiOptions.stagingDir, ec);
  apiOptions.extraRoutes = mail::mailApiRoutes(mailGateway);
  apiOptions.extraRoutes.push_back({"GET", "/api/v1/trunks/iax2", true,
                                    [&iax2Admin](const std::string&) { return iax2Admin.get(); }});
  apiOptions.extraRoutes.push_back({"PUT", "/api/v1/trunks/iax2", true,
                                    [&iax2Admin](const std::string& b) { return iax2Admin.put(b); }});
  apiOptions.extraRoutes.push_back(
      {"POST", "/api/v1/trunks/iax2/peers", true,
       [&iax2Admin](const std::string& b) { return iax2Admin.addPeer(b); }});
  apiOptions.extraRoutes.push_back(
      {"POST", "/api/v1/trunks/iax2/peers/remove", true,
       [&iax2Admin](const std::string& b) { return iax2Admin.removePeer(b); }});
  api::HttpServer http(service, apiOptions);
  auto port = http.start();
  if (!port) {
    spdlog::critical("cannot listen on {}:{}: {}", config.httpAddress, config.httpPort,
                     port.error().message);
    telephony.stop();
    service.stop();
    mailGateway.stop();
    return 1;
  }
  const std::string host =
      config.httpAddress.find(':') != std::string::npos ? "[" + config.httpAddress + "]" : config.httpAddress;
  const std::string url = "http://" + host + ":" + std::to_string(*port);
  writePrivateFile(fs::path(config.dataDir) / "http-url", url);
  mailGateway.start();  // outbox worker and Mail-to-Fax poller
  spdlog::info("vfaxd ready: API and web page on {}/ (data in {})", url, config.dataDir);
  std::cout << "vfaxd: listening on " << url << "/" << std::endl;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("vfaxd: {} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  http.stop();
  service.beginShutdown();
  telephony.stop();  // hangs up every call; each is reported to the scheduler
  service.stop();
  mailGateway.stop();  // after the service: the last state changes are in the outbox
  spdlog::info("vfaxd: stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread; the main thread waits for them with sigwait().
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App cli{"vfaxd: the vfax fax server"};
  std::string configFile, dataDir, http;
  cli.add_option("--config", configFile, "TOML configuration file (docs/vfaxd.example.toml)")
      ->check(CLI::ExistingFile);
  cli.add_option("--data", dataDir, "data directory (default ./var)");
  cli.add_option("--http", http, "HTTP listen address ADDR:PORT (default 127.0.0.1:8080)");
  CLI11_PARSE(cli, argc, argv);

  app::Config config;
  try {
    if (!configFile.empty()) config = app::loadConfig(configFile);
    if (!dataDir.empty()) config.dataDir = dataDir;
    if (!http.empty()) app::parseHttpAddress(http, config);
  } catch (const std::exception& e) {
    std::cerr << "vfaxd: " << e.what() << std::endl;
    return 2;
  }
  auto level = spdlog::level::from_str(config.logLevel);
  if (level == spdlog::level::off && config.logLevel != "off") {
    std::cerr << "vfaxd: log_level must be trace, debug, info, warn, error or off" << std::endl;
    return 2;
  }
  spdlog::set_level(level);
  return run(config);
}
