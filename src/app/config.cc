#include "app/config.h"

#include <toml++/toml.h>

#include <set>
#include <stdexcept>
#include <string>

namespace vfax::app {

namespace {

// A typed view of the TOML tree that refuses unknown keys, so that a typo in the file is an error
// at start-up and not a silently ignored setting.
class Reader {
 public:
  explicit Reader(const toml::table& root) : root_(root) {}

  const toml::table* section(const std::string& name) {
    known_.insert(name);
    const auto* node = root_.get(name);
    if (!node) return nullptr;
    const auto* t = node->as_table();
    if (!t) throw std::runtime_error("config: [" + name + "] must be a table");
    return t;
  }

  template <typename T>
  void get(const toml::table* t, const std::string& section, const std::string& key, T& out) {
    knownKeys_.insert(section + "." + key);
    if (!t) return;
    const auto* node = t->get(key);
    if (!node) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (!node->is_boolean()) fail(section, key, "true or false");
      out = node->as_boolean()->get();
    } else if constexpr (std::is_integral_v<T>) {
      if (!node->is_integer()) fail(section, key, "a whole number");
      out = static_cast<T>(node->as_integer()->get());
    } else {
      if (!node->is_string()) fail(section, key, "a string");
      out = node->as_string()->get();
    }
  }

  void checkUnknown() {
    for (const auto& [k, v] : root_) {
      const std::string name(k.str());
      if (!known_.contains(name)) throw std::runtime_error("config: unknown section [" + name + "]");
      if (const auto* t = v.as_table()) {
        for (const auto& [key, value] : *t) {
          if (!knownKeys_.contains(name + "." + std::string(key.str()))) {
            throw std::runtime_error("config: unknown key '" + std::string(key.str()) + "' in [" +
                                     name + "]");
          }
        }
      }
    }
  }

 private:
  [[noreturn]] static void fail(const std::string& section, const std::string& key,
                                const char* want) {
    throw std::runtime_error("config: [" + section + "] " + key + " must be " + want);
  }

  const toml::table& root_;
  std::set<std::string> known_;
  std::set<std::string> knownKeys_;
};

void positive(long long v, const char* what) {
  if (v <= 0) throw std::runtime_error(std::string("config: ") + what + " must be positive");
}

}  // namespace

void parseHttpAddress(const std::string& text, Config& config) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) {
    throw std::runtime_error("http address must be ADDR:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    throw std::runtime_error("http port must be 0 to 65535, got '" + port + "'");
  }
  config.httpAddress = host;
  config.httpPort = std::stoi(port);
}

Config loadConfig(const std::string& file) {
  Config c;
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw std::runtime_error("config " + file + ":" + std::to_string(where.line) + ":" +
                             std::to_string(where.column) + ": " + std::string(e.description()));
  }
  Reader r(root);
  std::string http;
  const auto* server = r.section("server");
  r.get(server, "server", "data_dir", c.dataDir);
  r.get(server, "server", "http", http);
  r.get(server, "server", "log_level", c.logLevel);
  r.get(server, "server", "database", c.databasePath);
  if (!http.empty()) parseHttpAddress(http, c);

  const auto* loopback = r.section("loopback");
  r.get(loopback, "loopback", "realtime", c.loopbackRealtime);
  r.get(loopback, "loopback", "media", c.loopbackMedia);
  r.get(loopback, "loopback", "law", c.loopbackLaw);
  if (c.loopbackMedia != "audio" && c.loopbackMedia != "t38") {
    throw std::runtime_error("config: [loopback] media must be \"audio\" or \"t38\"");
  }
  if (c.loopbackLaw != "alaw" && c.loopbackLaw != "ulaw") {
    throw std::runtime_error("config: [loopback] law must be \"alaw\" or \"ulaw\"");
  }

  const auto* fax = r.section("fax");
  r.get(fax, "fax", "idle_timeout_seconds", c.faxIdleTimeoutSeconds);
  r.get(fax, "fax", "max_call_seconds", c.faxMaxCallSeconds);
  positive(c.faxIdleTimeoutSeconds, "[fax] idle_timeout_seconds");
  positive(c.faxMaxCallSeconds, "[fax] max_call_seconds");

  const auto* api = r.section("api");
  long long maxUploadMb = c.maxUploadBytes / (1024 * 1024);
  r.get(api, "api", "max_upload_mb", maxUploadMb);
  r.get(api, "api", "max_files", c.maxFilesPerFax);
  positive(maxUploadMb, "[api] max_upload_mb");
  positive(c.maxFilesPerFax, "[api] max_files");
  c.maxUploadBytes = maxUploadMb * 1024 * 1024;

  const auto* docs = r.section("documents");
  r.get(docs, "documents", "timeout_seconds", c.conversionTimeoutSeconds);
  r.get(docs, "documents", "memory_mb", c.conversionMemoryMb);
  r.get(docs, "documents", "max_pages", c.maxPages);
  positive(c.conversionTimeoutSeconds, "[documents] timeout_seconds");
  positive(c.conversionMemoryMb, "[documents] memory_mb");
  positive(c.maxPages, "[documents] max_pages");

  const auto* sched = r.section("scheduler");
  auto& s = c.service;
  long long busy = s.retryBusy / 1000, noAnswer = s.retryNoAnswer / 1000,
            dropped = s.retryDropped / 1000, other = s.retryOther / 1000;
  r.get(sched, "scheduler", "retry_busy_seconds", busy);
  r.get(sched, "scheduler", "retry_no_answer_seconds", noAnswer);
  r.get(sched, "scheduler", "retry_dropped_seconds", dropped);
  r.get(sched, "scheduler", "retry_other_seconds", other);
  r.get(sched, "scheduler", "max_calls_per_destination", s.maxCallsPerDestination);
  r.get(sched, "scheduler", "conversion_workers", s.conversionWorkers);
  r.get(sched, "scheduler", "header_name", s.headerName);
  for (auto v : {busy, noAnswer, dropped, other}) {
    if (v < 0) throw std::runtime_error("config: [scheduler] retry delays must not be negative");
  }
  positive(s.maxCallsPerDestination, "[scheduler] max_calls_per_destination");
  positive(s.conversionWorkers, "[scheduler] conversion_workers");
  s.retryBusy = busy * 1000;
  s.retryNoAnswer = noAnswer * 1000;
  s.retryDropped = dropped * 1000;
  s.retryOther = other * 1000;

  const auto* inbound = r.section("inbound");
  r.get(inbound, "inbound", "default_extension", s.defaultInboundExtension);

  r.checkUnknown();
  return c;
}

}  // namespace vfax::app
