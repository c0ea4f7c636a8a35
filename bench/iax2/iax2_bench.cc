// bench_iax2: how many concurrent fax calls two vfax telephony stacks carry over IAX2 on
// loopback in real time with no failed fax, and the CPU each call costs, next to raw spandsp
// back to back from the same run. Stack A registers to stack B (as vfax registers to a PBX, or
// iaxmodem to vfax) and sends every fax to an extension of B; each stack has its own telephony
// loop thread and its own UDP socket, as two vfaxd processes would.
//
// Two media modes side by side: per-frame (a mini frame datagram per call and 20 ms, as with
// iaxmodem) and trunk (both sides `trunk = true`: one meta trunk datagram per direction and
// 20 ms for all calls).
//
//   bench_iax2 [--first N] [--max-calls N] [--budget-seconds S] [--pages P] [--ramp-ms MS]
//              [--reps R] [--cpu-calls N] [--modes frame,trunk]
//
// --ramp-ms: the calls of a step are placed MS milliseconds apart (0: all at once, the worst
// case; a PBX's calls arrive spread out). --reps: the CPU comparison (raw spandsp, per-frame,
// trunk at --cpu-calls concurrent calls) runs R times, interleaved, and prints medians.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
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
#include "trunks/iax2/iax2_trunk.h"

namespace {

using namespace vfax;
using namespace vfax::bench;

double processCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct StepResult {
  int failed = 0;
  bool allFinished = false;
  reactor::EventLoopStats a, b;
  double seconds = 0;
  double cpuMsPerCallSecond = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t syscalls = 0;  // recvmmsg + sendmmsg
  std::string firstFailure;
};

enum class Mode { Frame, Trunk };
const char* modeName(Mode m) { return m == Mode::Trunk ? "trunk" : "per-frame"; }

StepResult step(Mode mode, int calls, const std::string& tiff, const std::string& dir, int rampMs) {
  BenchEvents eventsA(dir), eventsB(dir);
  telephony::TelephonyOptions o;
  o.realtime = false;  // loopback only: IAX2 keeps its own 20 ms wall clock
  o.lingerMs = 500;
  o.protocolLog = std::getenv("VFAX_BENCH_PROTOCOL_LOG") != nullptr;  // T.30 flow, per call
  telephony::TelephonyImpl b(o), a(o);

  trunks::iax2::Iax2TrunkOptions ob;
  ob.port = 0;
  const bool trunk = mode == Mode::Trunk;
  ob.engine.peers.push_back(
      trunks::iax2::PeerConfig{"stack-a", "bench-secret", "", 4569, "", trunk, true});
  auto trunkB = std::make_unique<trunks::iax2::Iax2Trunk>(b.loop(), ob);
  auto* tb = trunkB.get();
  b.setExternalTrunk(std::move(trunkB));
  b.setEvents(&eventsB);
  b.start();
  int portB = 0;
  if (!b.loop().runSync([&] { portB = tb->boundPort(); })) std::fprintf(stderr, "loop B?\n");

  trunks::iax2::Iax2TrunkOptions oa;
  oa.port = 0;
  oa.engine.registrations.push_back(trunks::iax2::RegistrationConfig{
      "127.0.0.1", portB, "stack-a", "bench-secret", 60, trunk, true});
  auto trunkA = std::make_unique<trunks::iax2::Iax2Trunk>(a.loop(), oa);
  auto* ta = trunkA.get();
  a.setExternalTrunk(std::move(trunkA));
  a.setEvents(&eventsA);
  a.start();

  double cpu0 = processCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    core::OutboundCall c;
    c.faxId = i + 1;
    c.dialString = "20";
    c.tiffPath = tiff;
    c.tsi = "bench-tx";
    c.callerId = "100";
    a.placeCall(c);
    if (rampMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(rampMs));
  }
  StepResult r;
  bool outDone = eventsA.waitFor(calls, std::chrono::seconds(300));
  bool inDone = eventsB.waitFor(calls, std::chrono::seconds(30));
  r.allFinished = outDone && inDone;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = processCpuSeconds() - cpu0;
  double callSeconds = eventsA.callSeconds() + eventsB.callSeconds();  // both legs
  // A "call" here is one fax: sender and receiver side, as raw spandsp's figure.
  r.cpuMsPerCallSecond = callSeconds > 0 ? cpu * 1000 / (callSeconds / 2) : 0;
  r.a = a.loopStats();
  r.b = b.loopStats();
  auto sa = ta->status();
  auto sb = tb->status();
  r.retransmits = sa.stats.retransmits + sb.stats.retransmits;
  r.datagrams = sa.udp.received + sa.udp.sent + sb.udp.received + sb.udp.sent;
  r.syscalls = sa.udp.recvCalls + sa.udp.sendCalls + sb.udp.recvCalls + sb.udp.sendCalls;
  a.stop();
  b.stop();
  r.failed = eventsA.failed() + eventsB.failed();
  r.firstFailure = "sender: " + eventsA.firstFailure() + "; receiver: " + eventsB.firstFailure();
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double rawFigure(const std::string& tiff, const std::string& dir) {
  const RawResult r = bench::rawCall(fax::FaxTransport::Audio, tiff, dir + "/raw-rx.tif");
  if (!r.ok) std::printf("  [raw fax FAILED]\n");
  std::printf(
      "  raw spandsp: %.2f ms CPU per call-second; costliest 20 ms step %.2f ms (at %.2f s)\n",
      r.callSeconds > 0 ? r.cpuSeconds * 1000 / r.callSeconds : 0.0, r.maxTickMs, r.maxTick / 50.0);
  return r.callSeconds > 0 ? r.cpuSeconds * 1000 / r.callSeconds : 0;
}

void printHeader() {
  std::printf("  %-9s %6s %7s %15s %15s %11s %8s %7s %8s %13s %7s %s\n", "mode", "calls", "failed",
              "late A", "late B", "long it A/B", "max it", "retrans", "dgram/sc", "ms CPU/call-s",
              "x raw", "verdict");
}

// The goal is no failed fax. Late ticks (a whole tick or more) are shown next to it: when all
// calls of a step start in the same tick they reach their costly moments (the sender's page
// set-up, the receiver's page end) in the same tick too, and the loop runs late for a moment.
enum class Verdict { Ok, Late, Failed };

Verdict printStep(Mode mode, int n, const StepResult& r, double raw) {
  const bool behind = r.a.lateTicks * 100 > r.a.ticks || r.b.lateTicks * 100 > r.b.ticks;
  const Verdict v = !r.allFinished || r.failed > 0 ? Verdict::Failed
                    : behind                       ? Verdict::Late
                                                   : Verdict::Ok;
  std::printf(
      "  %-9s %6d %7d %6lld/%-8lld %6lld/%-8lld %5lld/%-5lld %6.1fms %7llu %8.1f %13.2f %7.2f "
      "%s\n",
      modeName(mode), n, r.failed, static_cast<long long>(r.a.lateTicks),
      static_cast<long long>(r.a.ticks), static_cast<long long>(r.b.lateTicks),
      static_cast<long long>(r.b.ticks), static_cast<long long>(r.a.longIterations),
      static_cast<long long>(r.b.longIterations),
      static_cast<double>(std::max(r.a.maxIterationUs, r.b.maxIterationUs)) / 1000.0,
      static_cast<unsigned long long>(r.retransmits),
      r.syscalls ? static_cast<double>(r.datagrams) / r.syscalls : 0.0, r.cpuMsPerCallSecond,
      raw > 0 ? r.cpuMsPerCallSecond / raw : 0.0,
      v == Verdict::Ok     ? "ok"
      : v == Verdict::Late ? "ok, >1% late ticks"
                           : "FAILED");
  if (r.failed > 0) std::printf("            first failure: %s\n", r.firstFailure.c_str());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (std::getenv("VFAX_BENCH_DEBUG")) spdlog::set_level(spdlog::level::debug);
  int maxCalls = 512;
  int budgetSeconds = 900;
  int pages = 1;
  int first = 64;
  int rampMs = 0;
  int reps = 3;
  int cpuCalls = 256;
  std::string modes = "frame,trunk";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--max-calls") maxCalls = v;
    if (k == "--budget-seconds") budgetSeconds = v;
    if (k == "--pages") pages = v;
    if (k == "--first") first = v;
    if (k == "--ramp-ms") rampMs = v;
    if (k == "--reps") reps = v;
    if (k == "--cpu-calls") cpuCalls = v;
    if (k == "--modes") modes = argv[i + 1];
  }
  std::vector<Mode> modeList;
  if (modes.find("frame") != std::string::npos) modeList.push_back(Mode::Frame);
  if (modes.find("trunk") != std::string::npos) modeList.push_back(Mode::Trunk);
  std::string dir = testing::makeTempDir();
  std::vector<testing::Page> doc;
  for (int i = 0; i < pages; ++i) doc.push_back(testing::patternPage(i, 600));
  std::string tiff = dir + "/doc.tif";
  if (!testing::writeG4Tiff(tiff, doc)) {
    std::fprintf(stderr, "cannot write %s\n", tiff.c_str());
    return 1;
  }
  std::printf(
      "IAX2: stack A registered to stack B on 127.0.0.1, A-law, real time, calls placed %s; "
      "CPU of both stacks per call-second, next to raw spandsp back to back (sender and "
      "receiver, A-law) from the same run.\n",
      rampMs > 0 ? (std::to_string(rampMs) + " ms apart").c_str() : "all at once");

  // 1. The CPU comparison: medians of interleaved repetitions at one concurrency.
  std::vector<double> raws;
  std::vector<std::vector<double>> perMode(modeList.size());
  int cpuFailed = 0;
  if (reps > 0 && cpuCalls > 0) {
    std::printf("\nCPU per call-second at %d concurrent calls, %d repetitions:\n", cpuCalls, reps);
    printHeader();
    for (int rep = 0; rep < reps; ++rep) {
      raws.push_back(rawFigure(tiff, dir));
      for (std::size_t m = 0; m < modeList.size(); ++m) {
        StepResult r = step(modeList[m], cpuCalls, tiff, dir, rampMs);
        if (printStep(modeList[m], cpuCalls, r, raws.back()) == Verdict::Failed) ++cpuFailed;
        perMode[m].push_back(r.cpuMsPerCallSecond);
      }
    }
    const double raw = median(raws);
    std::printf("\n  %-28s %8.2f ms CPU per call-second\n", "raw spandsp (median)", raw);
    for (std::size_t m = 0; m < modeList.size(); ++m) {
      const double v = median(perMode[m]);
      std::printf("  IAX2 %-23s %8.2f ms CPU per call-second  %.2fx raw (goal <= 1.4x)\n",
                  (std::string(modeName(modeList[m])) + " (median)").c_str(), v,
                  raw > 0 ? v / raw : 0.0);
    }
    if (cpuFailed) std::printf("  (%d of these runs had failed faxes: see above)\n", cpuFailed);
  }
  const double raw = raws.empty() ? rawFigure(tiff, dir) : median(raws);

  // 2. Concurrency steps per mode until a step has a failed fax or falls behind real time.
  std::printf("\nConcurrency (raw spandsp %.2f ms CPU per call-second):\n", raw);
  printHeader();
  auto benchStart = std::chrono::steady_clock::now();
  std::vector<int> steps;
  for (int n = first; n < 256 && n <= maxCalls; n *= 2) steps.push_back(n);
  for (int n : {256, 400, 512, 640, 768}) {
    if (n <= maxCalls && n >= first) steps.push_back(n);
  }
  std::vector<std::pair<int, double>> carried(modeList.size(), {0, 0.0});
  for (std::size_t m = 0; m < modeList.size(); ++m) {
    for (int n : steps) {
      double used =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - benchStart).count();
      if (used > budgetSeconds) {
        std::printf("  (time budget of %d s used up)\n", budgetSeconds);
        break;
      }
      StepResult r = step(modeList[m], n, tiff, dir, rampMs);
      const Verdict v = printStep(modeList[m], n, r, raw);
      if (v == Verdict::Failed) break;
      carried[m] = {n, r.cpuMsPerCallSecond};
    }
  }
  std::printf("\nCapacity (goal: >= 400 concurrent calls, no failed fax, <= 1.4x raw):\n");
  for (std::size_t m = 0; m < modeList.size(); ++m) {
    std::printf(
        "  IAX2 %-9s %4d concurrent fax calls in real time with no failed fax; %.2f ms CPU "
        "per call-second there (%.2fx raw %.2f)\n",
        modeName(modeList[m]), carried[m].first, carried[m].second,
        raw > 0 ? carried[m].second / raw : 0.0, raw);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
