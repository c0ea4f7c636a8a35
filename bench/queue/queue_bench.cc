// bench_queue: how fast vfaxd accepts jobs durably through its real HTTP API with a big backlog
// in the store, and how fast the API answers while loopback calls run. Printed side by side with
// a raw SQLite insert loop of the same durability (WAL, synchronous=FULL, one transaction per
// job) on the same disk in the same run. No assertions: figures only.
//
//   bench_queue [--backlog N] [--posts N] [--clients N] [--runs N] [--calls N]
//               [--latency-seconds S] [--conversion-workers N] [--dir DIR]
//
// The stack is the daemon's (core::Service + SqliteStore + DocumentConverter + TelephonyImpl on
// the loopback trunk + api::HttpServer), wired in-process as src/app/main.cc wires it.
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "core/clock.h"
#include "core/service.h"
#include "documents/document_converter.h"
#include "store/sqlite_store.h"
#include "telephony/telephony_impl.h"

namespace {

using namespace vfax;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int backlog = 100'000;
  int posts = 2'000;  // per run
  int clients = 8;
  int runs = 3;
  int calls = 8;  // loopback calls in flight during the latency phase
  int latencySeconds = 20;
  int conversionWorkers =
      2;  // the daemon's default; 0 leaves accepted jobs queued (isolates accepting)
  std::string dir;
};

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return false;
  }
  return true;
}

sqlite3* openRaw(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return nullptr;
  sqlite3_busy_timeout(db, 10'000);
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  return db;
}

// The backlog: `n` outbound jobs waiting for their retry in an hour, written in one transaction
// (how they got there does not matter; that the scheduler carries them does).
bool makeBacklog(const std::string& dbPath, int n) {
  sqlite3* db = openRaw(dbPath);
  if (!db) return false;
  const auto now = core::SystemClock().now();
  const std::string sql =
      "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < " +
      std::to_string(n) +
      ") INSERT INTO faxes (direction, state, number, dial_string, created_at, updated_at, "
      "pages_total, attempt_count, next_attempt_at, tsi, error) SELECT 'out', 'waiting', "
      "'+4930' || (1000000 + i % 5000), '0030' || (1000000 + i % 5000), " +
      std::to_string(now) + ", " + std::to_string(now) + ", 1, 1, " +
      std::to_string(now + 3'600'000) + ", '+49 89 123456', 'busy' FROM seq";
  const bool ok = exec(db, "BEGIN") && exec(db, sql.c_str()) && exec(db, "COMMIT");
  sqlite3_close(db);
  return ok;
}

// The reference: one row like a new job per transaction, as durable as the store's commits.
double rawInsertsPerSecond(const std::string& dbPath, int n) {
  sqlite3* db = openRaw(dbPath);
  if (!db) return 0;
  exec(db,
       "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, direction TEXT, "
       "state TEXT, number TEXT, dial_string TEXT, created_at INTEGER, updated_at INTEGER, "
       "priority INTEGER, tsi TEXT, source_files TEXT); "
       "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id DESC);");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO jobs (direction, state, number, dial_string, created_at, "
                     "updated_at, priority, tsi, source_files) VALUES ('out', 'queued', "
                     "'+49301234567', '00301234567', ?, ?, 0, '+49 89 123456', "
                     "'[\"source-1.txt\"]')",
                     -1, &st, nullptr);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    sqlite3_bind_int64(st, 1, i);
    sqlite3_bind_int64(st, 2, i);
    sqlite3_step(st);  // autocommit: its own transaction, fsync of the WAL (synchronous=FULL)
    sqlite3_reset(st);
  }
  const double s = seconds(start);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n / s;
}

struct AcceptRun {
  int accepted = 0;
  int refused = 0;
  double seconds = 0;
  std::vector<double> latenciesMs;
};

// `clients` threads POST /api/v1/faxes (multipart: to + one small text file) until `posts` are
// done; a 201 means the job is in the store, durably.
struct Upload {
  std::string name;
  std::string content;
  std::string type;
};

// A short letter as plain text: sniff() opens it in the vfax-convert child ("probe").
const Upload kText{"letter.txt", "Bench letter.\nA few lines of text, as a short fax would have.\n",
                   "text/plain"};
// The same as PostScript: sniff() only checks that Ghostscript is there (no child), so this
// measures the accepting path without the probe.
const Upload kPostScript{
    "letter.ps",
    "%!PS\n/Helvetica findfont 12 scalefont setfont 72 700 moveto (Bench letter.) show showpage\n",
    "application/postscript"};

AcceptRun acceptJobs(int port, const std::string& token, int posts, int clients,
                     const std::string& to, int priority, const Upload& upload = kText) {
  AcceptRun r;
  std::atomic<int> next{0};
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      const httplib::Headers headers{{"Authorization", "Bearer " + token}};
      while (next.fetch_add(1) < posts) {
        httplib::MultipartFormDataItems items{{"to", to, "", ""},
                                              {"priority", std::to_string(priority), "", ""},
                                              {"file", upload.content, upload.name, upload.type}};
        const auto t0 = Clock::now();
        auto res = client.Post("/api/v1/faxes", headers, items);
        lat[static_cast<std::size_t>(c)].push_back(seconds(t0) * 1000);
        if (res && res->status == 201) {
          ++accepted;
        } else {
          if (refused.fetch_add(1) == 0) {
            std::fprintf(stderr, "POST /faxes: %s\n",
                         res ? (std::to_string(res->status) + " " + res->body).c_str()
                             : httplib::to_string(res.error()).c_str());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  r.seconds = seconds(start);
  r.accepted = accepted;
  r.refused = refused;
  for (auto& l : lat) r.latenciesMs.insert(r.latenciesMs.end(), l.begin(), l.end());
  return r;
}

// GET /api/v1/faxes/{id} back to back for `secs` from one client; latencies in ms.
std::vector<double> getLatencies(int port, const std::string& token,
                                 const std::vector<std::int64_t>& ids, double secs) {
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const httplib::Headers headers{{"Authorization", "Bearer " + token}};
  std::vector<double> ms;
  const auto start = Clock::now();
  std::size_t i = 0;
  while (seconds(start) < secs) {
    const auto t0 = Clock::now();
    auto res = client.Get("/api/v1/faxes/" + std::to_string(ids[i++ % ids.size()]), headers);
    if (!res || res->status != 200) continue;
    ms.push_back(seconds(t0) * 1000);
  }
  return ms;
}

std::map<core::FaxState, std::int64_t> outboundCounts(core::Service& service) {
  std::map<core::FaxState, std::int64_t> m;
  if (auto counts = service.countFaxes()) {
    for (const auto& c : *counts) {
      if (c.direction == core::Direction::Out) m[c.state] += c.count;
    }
  }
  return m;
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (k == "--backlog")
      a.backlog = std::atoi(v);
    else if (k == "--posts")
      a.posts = std::atoi(v);
    else if (k == "--clients")
      a.clients = std::atoi(v);
    else if (k == "--runs")
      a.runs = std::atoi(v);
    else if (k == "--calls")
      a.calls = std::atoi(v);
    else if (k == "--latency-seconds")
      a.latencySeconds = std::atoi(v);
    else if (k == "--conversion-workers")
      a.conversionWorkers = std::atoi(v);
    else if (k == "--dir")
      a.dir = v;
    else
      return false;
  }
  return a.posts > 0 && a.clients > 0 && a.runs > 0 && a.backlog >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: bench_queue [--backlog N] [--posts N] [--clients N] [--runs N] "
                 "[--calls N] [--latency-seconds S] [--conversion-workers N] [--dir DIR]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped, as make bench does
  spdlog::set_level(spdlog::level::warn);
  std::string dir = args.dir;
  if (dir.empty()) {
    // On the disk of the build (/tmp may be a tmpfs, whose fsync costs nothing).
    const fs::path base = fs::current_path() / "build" / "bench-queue";
    fs::create_directories(base);
    std::string tmpl = (base / "run-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    dir = tmpl;
  }
  const std::string dbPath = dir + "/vfax.db";
  std::printf("bench_queue: data in %s; %d CPU(s)\n", dir.c_str(),
              static_cast<int>(std::thread::hardware_concurrency()));

  auto store = store::SqliteStore::open(dbPath);
  if (!store) {
    std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
    return 1;
  }
  auto t0 = Clock::now();
  if (!makeBacklog(dbPath, args.backlog)) return 1;
  std::printf("backlog: %d jobs waiting (due in an hour), written in %.1f s\n", args.backlog,
              seconds(t0));

  documents::DocumentConverter converter(documents::ConverterOptions{});
  telephony::TelephonyOptions to;
  to.realtime = true;
  telephony::TelephonyImpl telephony(to);
  core::SystemClock clock;
  core::ServiceOptions so;
  so.dataDir = dir;
  so.conversionWorkers = args.conversionWorkers;
  core::Service service(**store, converter, telephony, clock, so);
  t0 = Clock::now();
  if (auto r = service.start(); !r) {
    std::fprintf(stderr, "start: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("start with the backlog (recovery reads it once): %.2f s\n", seconds(t0));
  telephony.start();
  auto admin = service.accounts().builtinAdmin();
  if (!admin) {
    std::fprintf(stderr, "admin: %s\n", admin.error().message.c_str());
    return 1;
  }
  auto token = service.accounts().createToken(vfax::core::systemCaller(), "bench", admin->id, 0);
  // One device per loopback call: one call at a time goes to the same number.
  for (int i = 0; i < args.calls; ++i) {
    core::Device device;
    device.name = "bench " + std::to_string(i);
    device.email = "bench@example.com";
    device.extension = std::to_string(2000 + i);
    (void)service.addDevice(device);
  }
  (void)service.updateSettings({{"total_lines", std::to_string(2 * args.calls)},
                                {"reserved_inbound_lines", std::to_string(args.calls)}});

  api::ApiOptions ao;
  ao.port = 0;
  ao.stagingDir = dir + "/staging";
  api::HttpServer http(service, ao);
  auto port = http.start();
  if (!token || !port) {
    std::fprintf(stderr, "token or HTTP server failed\n");
    return 1;
  }

  // 1. API latency, idle and while loopback calls run (before the accept runs, so that their
  // conversions do not mix in).
  std::vector<std::int64_t> ids;
  if (auto some = service.list(core::FaxQuery{})) {
    for (const auto& f : *some) ids.push_back(f.id);
  }
  if (ids.empty()) ids.push_back(1);
  const double secs = args.latencySeconds;
  auto idle = getLatencies(*port, token->secret, ids, secs / 2);
  int callJobs = 0;
  for (int i = 0; i < args.calls; ++i) {  // to our own extensions: over the loopback trunk
    callJobs += acceptJobs(*port, token->secret, 1, 1, std::to_string(2000 + i), 0).accepted;
  }

  for (int i = 0; i < 100 && service.lines().inUse < 2 * args.calls; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // converted, dialing
  }
  const int inUse = service.lines().inUse;
  auto busy = getLatencies(*port, token->secret, ids, secs);
  const int inUseAfter = service.lines().inUse;
  for (int i = 0; i < 1200 && service.lines().inUse > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // 2. Accepting: the API against the raw insert loop, alternating, so both see the same disk.
  std::vector<double> apiRates, psRates, rawRates, postP50, postP99;
  for (int run = 0; run < args.runs; ++run) {
    const double raw = rawInsertsPerSecond(dir + "/raw.db", args.posts);
    auto ps = acceptJobs(*port, token->secret, args.posts, args.clients, "+49 30 9999999", 0,
                         kPostScript);
    psRates.push_back(ps.accepted / ps.seconds);
    // Outbound to an external number: no trunk in this set-up, so after conversion the calls
    // end at once and do not mix into the figures.
    auto a = acceptJobs(*port, token->secret, args.posts, args.clients, "+49 30 9999999", 0);
    const double rate = a.accepted / a.seconds;
    apiRates.push_back(rate);
    rawRates.push_back(raw);
    postP50.push_back(percentile(a.latenciesMs, 0.5));
    postP99.push_back(percentile(a.latenciesMs, 0.99));
    std::printf(
        "run %d: API accepted %d (refused %d) in %.2f s = %.0f jobs/s (POST p50 %.1f ms, p99 "
        "%.1f ms) | PostScript (no probe) %.0f jobs/s | raw SQLite %.0f inserts/s\n",
        run + 1, a.accepted, a.refused, a.seconds, rate, postP50.back(), postP99.back(),
        psRates.back(), raw);
  }

  std::printf(
      "\n=== bench: queue (backlog %d, %d posts x %d runs, %d clients, %d conversion workers) "
      "===\n",
      args.backlog, args.posts, args.runs, args.clients, args.conversionWorkers);
  std::printf("%-46s %12s %12s\n", "", "vfax API", "raw SQLite");
  std::printf("%-46s %12.0f %12.0f\n", "jobs accepted durably per second (median)",
              median(apiRates), median(rawRates));
  std::printf("%-46s %12.2f\n", "API / raw", median(apiRates) / median(rawRates));
  std::printf("%-46s %12.0f\n", "  the same as PostScript (no probe child)", median(psRates));
  std::printf("%-46s %12.2f\n", "  PostScript API / raw", median(psRates) / median(rawRates));
  std::printf("%-46s %12.1f\n", "POST /faxes p50 ms (median of runs)", median(postP50));
  std::printf("%-46s %12.1f\n", "POST /faxes p99 ms (median of runs)", median(postP99));
  std::printf("%-46s %12s %12s\n", "GET /faxes/{id}", "idle", "calls up");
  std::printf("%-46s %12zu %12zu\n", "requests", idle.size(), busy.size());
  std::printf("%-46s %12.2f %12.2f\n", "p50 ms", percentile(idle, 0.5), percentile(busy, 0.5));
  std::printf("%-46s %12.2f %12.2f\n", "p99 ms", percentile(idle, 0.99), percentile(busy, 0.99));
  std::printf("%-46s %12s %5d -> %d\n", "lines in use during the calls phase", "", inUse,
              inUseAfter);
  auto counts = outboundCounts(service);
  std::printf("outbound jobs now:");
  for (const auto& [state, n] : counts) {
    std::printf(" %s %lld", std::string(core::toString(state)).c_str(), static_cast<long long>(n));
  }
  std::printf("\n(loopback jobs submitted for the calls phase: %d)\n", callJobs);

  http.stop();
  service.beginShutdown();
  telephony.stop();
  service.stop();
  if (args.dir.empty()) fs::remove_all(dir);
  return 0;
}
