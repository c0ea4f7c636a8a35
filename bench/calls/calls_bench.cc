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

#include "app/telephony.h"
#include "fax/fax_session.h"
#include "fax/g711.h"
#include "test_tiff.h"

namespace {

using namespace vfax;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Sink : fax::FaxSessionEvents {
  bool ok = false;
  bool done = false;
  std::deque<std::vector<std::uint8_t>> packets;
  void onFaxPage(int, const std::string&) override {}
  void onFaxFinished(const fax::FaxResult& r) override {
    done = true;
    ok = r.outcome.cls == core::OutcomeClass::Ok;
  }
  void onT38Packet(const std::uint8_t* p, std::size_t n) override {
    packets.emplace_back(p, p + n);
  }
};

struct RawResult {
  double cpuSeconds = 0;
  double callSeconds = 0;
  bool ok = false;
};

// One sender + one receiver, back to back, 20 ms at a time; CPU of both counted.
RawResult rawCall(fax::FaxTransport transport, const std::string& tx, const std::string& rx) {
  Sink sa, sb;
  fax::FaxSessionOptions a;
  a.transport = transport;
  a.tiffPath = tx;
  a.localIdent = "bench-tx";
  fax::FaxSessionOptions b = a;
  b.calling = false;
  b.direction = fax::FaxDirection::Receive;
  b.tiffPath = rx;
  b.localIdent = "bench-rx";
  auto A = fax::FaxSession::create(a, sa);
  auto B = fax::FaxSession::create(b, sb);
  RawResult r;
  if (!A.ok() || !B.ok()) return r;
  double start = threadCpuSeconds();
  std::int16_t buf[160];
  std::uint8_t law[160];
  std::uint16_t seqA = 0, seqB = 0;
  for (int tick = 0; tick < 50 * 900 && !(sa.done && sb.done); ++tick) {
    if (transport == fax::FaxTransport::Audio) {
      (*A)->txAudio(buf, 160);
      fax::g711Encode(fax::G711Law::Alaw, buf, 160, law);
      fax::g711Decode(fax::G711Law::Alaw, law, 160, buf);
      (*B)->rxAudio(buf, 160);
      (*B)->txAudio(buf, 160);
      fax::g711Encode(fax::G711Law::Alaw, buf, 160, law);
      fax::g711Decode(fax::G711Law::Alaw, law, 160, buf);
      (*A)->rxAudio(buf, 160);
    } else {
      (*A)->tick(160);
      (*B)->tick(160);
      for (; !sa.packets.empty(); sa.packets.pop_front())
        (*B)->rxT38(sa.packets.front().data(), sa.packets.front().size(), seqA++);
      for (; !sb.packets.empty(); sb.packets.pop_front())
        (*A)->rxT38(sb.packets.front().data(), sb.packets.front().size(), seqB++);
    }
  }
  r.cpuSeconds = threadCpuSeconds() - start;
  r.callSeconds = static_cast<double>((*A)->elapsedMs()) / 1000.0;
  r.ok = sa.ok && sb.ok;
  return r;
}

class BenchEvents : public core::CallEvents {
 public:
  explicit BenchEvents(std::string dir) : dir_(std::move(dir)) {}
  void onOutboundAnswered(std::int64_t) override {}
  void onOutboundProgress(std::int64_t, int, const std::string&) override {}
  void onOutboundFinished(std::int64_t, const core::CallResult& r) override { finish(r); }
  void onInboundOffered(const core::InboundOffer&,
                        std::function<void(core::InboundDecision)> decide) override {
    core::InboundDecision d;
    d.accept = true;
    {
      std::lock_guard lock(mutex_);
      d.faxId = 1'000'000 + nextIn_++;
    }
    d.rxTiffPath = dir_ + "/rx-" + std::to_string(d.faxId) + ".tif";
    d.csid = "bench-rx";
    decide(d);
  }
  void onInboundProgress(std::int64_t, int, const std::string&) override {}
  void onInboundFinished(std::int64_t, const core::CallResult& r) override { finish(r); }

  bool waitFor(int reports, std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return finished_ >= reports; });
  }
  int failed() {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  void finish(const core::CallResult& r) {
    std::lock_guard lock(mutex_);
    ++finished_;
    if (r.outcome.cls != core::OutcomeClass::Ok) ++failed_;
    cv_.notify_all();
  }
  std::string dir_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int finished_ = 0;
  int failed_ = 0;
  std::int64_t nextIn_ = 0;
};

struct StepResult {
  int calls = 0;
  int failed = 0;
  bool allFinished = false;
  trunks::EventLoopStats stats;
  double loopCpuShare = 0;  // busy time of the loop / wall time
  double seconds = 0;
};

StepResult realtimeStep(int calls, const std::string& tiff, const std::string& dir) {
  BenchEvents events(dir);
  app::TelephonyOptions o;
  o.realtime = true;
  app::TelephonyImpl telephony(o);
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
