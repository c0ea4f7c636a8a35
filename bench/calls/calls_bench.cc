// bench_calls: (a) CPU cost of raw spandsp back to back per call-second (audio V.17+ECM through
// A-law, and T.38), (b) how many concurrent loopback calls TelephonyImpl carries in real time
// with no failed fax and no tick behind the 20 ms grid. Prints both side by side.
//
//   bench_calls [--max-calls N] [--budget-seconds S] [--pages P]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "codec/g711.h"
#include "common_call_bench.h"
#include "fax/fax_session.h"
#include "telephony/telephony_impl.h"
#include "test_tiff.h"

namespace {

using namespace vfax;
using namespace vfax::bench;

struct StepResult {
  int calls = 0;
  int failed = 0;
  bool allFinished = false;
  reactor::EventLoopStats stats;
  double loopCpuShare = 0;  // busy time of the loop / wall time
  double seconds = 0;
};

StepResult realtimeStep(int calls, const std::string& tiff, const std::string& dir) {
  BenchEvents events(dir);
  telephony::TelephonyOptions o;
  o.realtime = true;
  telephony::TelephonyImpl telephony(o);
  telephony.setEvents(&events);
  telephony.start();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    core::OutboundCall c;
    c.faxId = i + 1;
    c.internal = true;
    c.extension = "20";
    c.tiffPath = tiff;
    c.tsi = "bench-tx";
    telephony.placeCall(c);
  }
  StepResult r;
  r.calls = calls;
  r.allFinished = events.waitFor(2 * calls, std::chrono::seconds(240));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.stats = telephony.loopStats();
  r.loopCpuShare = static_cast<double>(r.stats.busyUs) / 1e6 / r.seconds;
  telephony.stop();
  r.failed = events.failed();
  return r;
}

// A text-like page: mostly white, short black runs in "lines" of "words", so that the G4 data
// and the time on the wire are like a typed letter's, not like a dense test pattern's.
testing::Page letterPage(int pageNo, int rows) {
  testing::Page p = testing::patternPage(pageNo, rows);
  for (int y = 0; y < rows; ++y) {
    auto& row = p.bits[y];
    std::fill(row.begin(), row.end(), 0);
    bool textLine = (y % 40) < 16 && y > 60;
    if (!textLine) continue;
    for (int x = 160; x < testing::kFaxWidth - 160; ++x) {
      bool word = ((x / 90 + y / 40 + pageNo) % 5) != 0;
      bool glyph = word && ((x * 7 + (y / 40) * 13) % 37) < 5;
      if (glyph) row[x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
    }
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int maxCalls = 1024;
  int budgetSeconds = 180;
  int pages = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--max-calls") maxCalls = v;
    if (k == "--budget-seconds") budgetSeconds = v;
    if (k == "--pages") pages = v;
  }
  std::string dir = testing::makeTempDir();
  std::vector<testing::Page> doc;
  for (int i = 0; i < pages; ++i) doc.push_back(letterPage(i, 1100));
  std::string tiff = dir + "/doc.tif";
  if (!testing::writeG4Tiff(tiff, doc)) {
    std::fprintf(stderr, "cannot write %s\n", tiff.c_str());
    return 1;
  }

  std::printf(
      "(a) raw spandsp back to back, %d half-A4 text-like page(s), fine, sender+receiver CPU\n",
      pages);
  double capacityAudio = 0;
  for (auto t : {fax::FaxTransport::Audio, fax::FaxTransport::T38}) {
    RawResult sum;
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
      RawResult r = rawCall(t, tiff, dir + "/raw-rx.tif");
      sum.cpuSeconds += r.cpuSeconds;
      sum.callSeconds += r.callSeconds;
      ok = ok && r.ok;
    }
    double msPerCallSecond = sum.cpuSeconds * 1000 / sum.callSeconds;
    double perCore = 1000.0 / msPerCallSecond;
    if (t == fax::FaxTransport::Audio) capacityAudio = perCore;
    std::printf(
        "  %-22s %6.2f ms CPU per call-second  -> %6.0f calls per core in real time"
        " (call %.1f s)%s\n",
        t == fax::FaxTransport::Audio ? "audio V.17+ECM (A-law)" : "T.38", msPerCallSecond, perCore,
        sum.callSeconds / 3, ok ? "" : "  [FAX FAILED]");
  }

  std::printf("\n(b) TelephonyImpl, loopback audio, real time (a call = sender + receiver)\n");
  std::printf("  %6s %8s %8s %10s %10s %9s %s\n", "calls", "failed", "late/ticks", "maxLag ms",
              "loop CPU", "wall s", "verdict");
  auto benchStart = std::chrono::steady_clock::now();
  int carried = 0;
  for (int n = 64; n <= maxCalls; n *= 2) {
    double used =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - benchStart).count();
    if (used > budgetSeconds) {
      std::printf("  (time budget of %d s used up)\n", budgetSeconds);
      break;
    }
    StepResult r = realtimeStep(n, tiff, dir);
    // A tick late now and then is the OS scheduler on a shared machine; falling behind is a
    // loop that is busy most of the time or late on more than 1% of its ticks.
    bool behind = r.loopCpuShare > 0.8 || r.stats.lateTicks * 100 > r.stats.ticks;
    bool good = r.allFinished && r.failed == 0 && !behind;
    std::printf("  %6d %8d %5lld/%-5lld %10.1f %9.0f%% %9.1f %s\n", n, r.failed,
                static_cast<long long>(r.stats.lateTicks), static_cast<long long>(r.stats.ticks),
                r.stats.maxLagUs / 1000.0, r.loopCpuShare * 100, r.seconds, good ? "ok" : "LIMIT");
    if (!good) break;
    carried = n;
  }
  std::printf(
      "\nCapacity: TelephonyImpl carried %d concurrent calls on one loop thread; raw "
      "spandsp implies %.0f per core (audio).\n",
      carried, capacityAudio);
  std::filesystem::remove_all(dir);
  return 0;
}
