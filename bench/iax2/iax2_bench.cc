// bench_iax2: how many concurrent fax calls two vfax telephony stacks carry over IAX2 on
// loopback in real time with no failed fax, and the CPU each call costs, next to raw spandsp
// back to back from the same run. Stack A registers to stack B (as vfax registers to a PBX, or
// iaxmodem to vfax) and sends every fax to an extension of B; each stack has its own telephony
// loop thread and its own UDP socket, as two vfaxd processes would.
//
//   bench_iax2 [--first N] [--max-calls N] [--budget-seconds S] [--pages P] [--ramp-ms MS]
//
// --ramp-ms: the calls of a step are placed MS milliseconds apart (0: all at once, the worst
// case; a PBX's calls arrive spread out).
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>

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

StepResult step(int calls, const std::string& tiff, const std::string& dir, int rampMs) {
  BenchEvents eventsA(dir), eventsB(dir);
  telephony::TelephonyOptions o;
  o.realtime = false;  // loopback only: IAX2 keeps its own 20 ms wall clock
  o.lingerMs = 500;
  telephony::TelephonyImpl b(o), a(o);

  trunks::iax2::Iax2TrunkOptions ob;
  ob.port = 0;
  ob.engine.peers.push_back(trunks::iax2::PeerConfig{"stack-a", "bench-secret", "", 4569, ""});
  auto trunkB = std::make_unique<trunks::iax2::Iax2Trunk>(b.loop(), ob);
  auto* tb = trunkB.get();
  b.setExternalTrunk(std::move(trunkB));
  b.setEvents(&eventsB);
  b.start();
  int portB = 0;
  if (!b.loop().runSync([&] { portB = tb->boundPort(); })) std::fprintf(stderr, "loop B?\n");

  trunks::iax2::Iax2TrunkOptions oa;
  oa.port = 0;
  oa.engine.registrations.push_back(
      trunks::iax2::RegistrationConfig{"127.0.0.1", portB, "stack-a", "bench-secret", 60});
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

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (std::getenv("VFAX_BENCH_DEBUG")) spdlog::set_level(spdlog::level::debug);
  int maxCalls = 512;
  int budgetSeconds = 240;
  int pages = 1;
  int first = 8;
  int rampMs = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--max-calls") maxCalls = v;
    if (k == "--budget-seconds") budgetSeconds = v;
    if (k == "--pages") pages = v;
    if (k == "--first") first = v;
    if (k == "--ramp-ms") rampMs = v;
  }
  std::string dir = testing::makeTempDir();
  std::vector<testing::Page> doc;
  for (int i = 0; i < pages; ++i) doc.push_back(testing::patternPage(i, 600));
  std::string tiff = dir + "/doc.tif";
  if (!testing::writeG4Tiff(tiff, doc)) {
    std::fprintf(stderr, "cannot write %s\n", tiff.c_str());
    return 1;
  }
  double rawCall = 0;
  const RawResult rawResult = bench::rawCall(fax::FaxTransport::Audio, tiff, dir + "/raw-rx.tif");
  if (!rawResult.ok) std::printf("  [raw fax FAILED]\n");
  rawCall = rawResult.callSeconds;
  double raw = rawResult.callSeconds > 0 ? rawResult.cpuSeconds * 1000 / rawResult.callSeconds : 0;
  std::printf("raw spandsp back to back (A-law): %.2f ms CPU per call-second (call %.1f s)\n", raw,
              rawCall);
  std::printf(
      "\nIAX2: stack A registered to stack B on 127.0.0.1, A-law, real time, calls placed %s\n",
      rampMs > 0 ? (std::to_string(rampMs) + " ms apart").c_str() : "all at once");
  std::printf("  %6s %7s %14s %14s %8s %9s %8s %13s %7s %s\n", "calls", "failed", "late A",
              "late B", "retrans", "wall s", "dgram/sc", "ms CPU/call-s", "x raw", "verdict");
  auto benchStart = std::chrono::steady_clock::now();
  int carried = 0;
  double carriedCpu = 0;
  // Doubling, then the goal of 400 concurrent calls and beyond.
  std::vector<int> steps;
  for (int n = first; n < 256 && n <= maxCalls; n *= 2) steps.push_back(n);
  for (int n : {256, 400, 512, 640}) {
    if (n <= maxCalls && n >= first) steps.push_back(n);
  }
  for (int n : steps) {
    double used =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - benchStart).count();
    if (used > budgetSeconds) {
      std::printf("  (time budget of %d s used up)\n", budgetSeconds);
      break;
    }
    StepResult r = step(n, tiff, dir, rampMs);
    bool behind = r.a.lateTicks * 100 > r.a.ticks || r.b.lateTicks * 100 > r.b.ticks;
    bool good = r.allFinished && r.failed == 0 && !behind;
    std::printf("  %6d %7d %6lld/%-7lld %6lld/%-7lld %8llu %9.1f %8.1f %13.2f %7.2f %s\n", n,
                r.failed, static_cast<long long>(r.a.lateTicks), static_cast<long long>(r.a.ticks),
                static_cast<long long>(r.b.lateTicks), static_cast<long long>(r.b.ticks),
                static_cast<unsigned long long>(r.retransmits), r.seconds,
                r.syscalls ? static_cast<double>(r.datagrams) / r.syscalls : 0.0,
                r.cpuMsPerCallSecond, raw > 0 ? r.cpuMsPerCallSecond / raw : 0.0,
                good ? "ok" : "LIMIT");
    if (r.failed > 0) std::printf("         first failure: %s\n", r.firstFailure.c_str());
    if (!good) break;
    carried = n;
    carriedCpu = r.cpuMsPerCallSecond;
  }
  std::printf(
      "\nCapacity: %d concurrent IAX2 fax calls in real time with no failed fax; %.2f ms CPU per "
      "call-second over IAX2 (both stacks) vs %.2f raw spandsp (%.2fx; goal <= 1.4x, >= 400 "
      "calls).\n",
      carried, carriedCpu, raw, raw > 0 ? carriedCpu / raw : 0.0);
  std::filesystem::remove_all(dir);
  return 0;
}
