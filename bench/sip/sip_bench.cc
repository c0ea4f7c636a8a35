// bench_sip: N concurrent fax calls between two vfax SIP stacks over loopback, in G.711 and in
// T.38, and the CPU each call costs next to raw spandsp back to back from the same run.
//
// Stack B (telephony + SIP trunk, its own loop thread and SIP thread) accepts calls from a peer
// matching 127.0.0.1; stack A has a peer whose host/port is B's SIP port and sends every fax to
// extension 20 of B. G.711: t38 = off on both. T.38: t38 = immediate on A (it re-INVITEs right
// after the answer), accept on B.
//
//   bench_sip [--calls 10,50,100,200,400] [--modes g711,t38] [--reps R] [--pages P]
//             [--ramp-ms MS] [--timeout-seconds S] [--fifo PRIO]
//
// --calls: the concurrency ramp (default 10,50: a quick run). --reps: each step runs R times
// (default 1) and the medians are printed. --ramp-ms: the calls of a step are placed MS
// milliseconds apart (default 0: all INVITEs at once, the worst case for signalling and for the
// media loop). Per step: failed faxes (with every failure reason), wall time, ms CPU per
// call-second of the whole process (both stacks) and of raw spandsp (same transport, median of 3
// back-to-back calls measured just before the step), their ratio, media ticks a whole tick or
// more late on each stack's loop, the longest loop iteration, and each stack's SIP thread and
// loop thread CPU (from /proc/self/task). --fifo PRIO runs both stacks' loop and SIP threads
// with SCHED_FIFO priority PRIO (root or CAP_SYS_NICE), to tell apart what the stacks cost from
// what other work on the machine does to them.
#include <dirent.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common_call_bench.h"
#include "fax/fax_session.h"
#include "telephony/telephony_impl.h"
#include "test_tiff.h"
#include "trunks/sip/sip_trunk.h"

namespace {

using namespace vfax;
using namespace vfax::bench;
namespace sip = vfax::trunks::sip;

double processCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// --- per-thread CPU from /proc/self/task -------------------------------------------------------

std::set<int> threadIds() {
  std::set<int> ids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ids.insert(std::atoi(e->d_name));
    }
    closedir(d);
  }
  return ids;
}

std::string threadName(int tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(f, name);
  return name;
}

/// User + system CPU seconds of one thread of this process (0 once it is gone).
double threadCpu(int tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat;
  std::getline(f, stat);
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  // Fields after the name: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// The threads a stack started: its SIP thread ("vfax-sip") and the others (the telephony loop).
struct StackThreads {
  std::vector<int> sip, other;
  static StackThreads since(const std::set<int>& before) {
    StackThreads t;
    for (int id : threadIds()) {
      if (before.count(id)) continue;
      (threadName(id) == "vfax-sip" ? t.sip : t.other).push_back(id);
    }
    return t;
  }
  /// --fifo: real-time priority for the stack's threads, so that other work on the machine
  /// cannot delay a media tick (vfaxd itself does not do this today).
  void fifo(int priority) const {
    sched_param p{};
    p.sched_priority = priority;
    for (int id : sip) (void)sched_setscheduler(id, SCHED_FIFO, &p);
    for (int id : other) {
      if (sched_setscheduler(id, SCHED_FIFO, &p) != 0) std::perror("sched_setscheduler");
    }
  }
  static double cpu(const std::vector<int>& ids) {
    double s = 0;
    for (int id : ids) s += threadCpu(id);
    return s;
  }
};

// --- one stack ----------------------------------------------------------------------------------

struct Stack {
  Stack(const std::string& dir, sip::SipConfig config, int portMin) : events(dir) {
    const auto before = threadIds();
    telephony::TelephonyOptions o;
    o.realtime = false;  // loopback only
    o.lingerMs = 500;
    o.protocolLog = std::getenv("VFAX_BENCH_PROTOCOL_LOG") != nullptr;
    telephony = std::make_unique<telephony::TelephonyImpl>(o);
    config.listen = {sip::SipListen{sip::SipTransport::Udp, "127.0.0.1", 0}};
    // Each stack its own media port range, so that the two never race for the same port.
    config.rtpPortMin = portMin;
    config.rtpPortMax = portMin + 4999;
    auto t = std::make_unique<sip::SipTrunk>(telephony->loop(), config);
    trunk = t.get();
    telephony->setExternalTrunk(std::move(t));
    telephony->setEvents(&events);
    telephony->start();
    port = trunk->boundPort(sip::SipTransport::Udp);
    threads = StackThreads::since(before);
  }
  ~Stack() { telephony->stop(); }
  BenchEvents events;
  std::unique_ptr<telephony::TelephonyImpl> telephony;
  sip::SipTrunk* trunk = nullptr;
  int port = 0;
  StackThreads threads;
};

sip::SipPeerConfig peer(const std::string& name, int port) {
  sip::SipPeerConfig p;
  p.name = name;
  p.match = {"127.0.0.1"};
  p.host = port > 0 ? "127.0.0.1" : "";
  p.port = port;
  p.keepaliveSeconds = 0;
  return p;
}

enum class Mode { G711, T38 };
const char* modeName(Mode m) { return m == Mode::T38 ? "t38" : "g711"; }

struct StepResult {
  int calls = 0;
  int failed = 0;    // faxes that failed at the sender (or never reported): jobs not delivered
  int failedRx = 0;  // calls whose receiving side reported a failure
  int unfinished = 0;
  int t38Calls = 0;  // sender side calls that ended in T.38
  double seconds = 0;
  double callSeconds = 0;
  double cpuMsPerCallSecond = 0;
  double rawMsPerCallSecond = 0;
  reactor::EventLoopStats a, b;
  double sipCpuA = 0, sipCpuB = 0;    // seconds, over the step
  double loopCpuA = 0, loopCpuB = 0;  // seconds, over the step
  std::map<std::string, int> failures;
  sip::SipStats statsA, statsB;
  double ratio() const {
    return rawMsPerCallSecond > 0 ? cpuMsPerCallSecond / rawMsPerCallSecond : 0;
  }
  double lateA() const { return a.ticks ? 100.0 * a.lateTicks / a.ticks : 0; }
  double perCs(double cpuSeconds) const {
    return callSeconds > 0 ? cpuSeconds * 1000 / callSeconds : 0;
  }
  double lateB() const { return b.ticks ? 100.0 * b.lateTicks / b.ticks : 0; }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double rawFigure(Mode mode, const std::string& tiff, const std::string& dir) {
  std::vector<double> v;
  for (int i = 0; i < 3; ++i) {
    const RawResult r =
        rawCall(mode == Mode::T38 ? fax::FaxTransport::T38 : fax::FaxTransport::Audio, tiff,
                dir + "/raw-rx.tif");
    if (!r.ok) std::printf("  [raw %s fax FAILED]\n", modeName(mode));
    if (r.callSeconds > 0) v.push_back(r.cpuSeconds * 1000 / r.callSeconds);
  }
  return median(v);
}

int g_fifo = 0;

StepResult step(Mode mode, int calls, const std::string& tiff, const std::string& dir, int rampMs,
                int timeoutSeconds) {
  StepResult r;
  r.calls = calls;
  r.rawMsPerCallSecond = rawFigure(mode, tiff, dir);

  sip::SipConfig cb;
  cb.t38.mode = mode == Mode::T38 ? sip::T38Mode::Accept : sip::T38Mode::Off;
  cb.peers.push_back(peer("a", 0));  // inbound only, by source address
  Stack b(dir, cb, 20000);
  sip::SipConfig ca;
  ca.t38.mode = mode == Mode::T38 ? sip::T38Mode::Immediate : sip::T38Mode::Off;
  ca.peers.push_back(peer("b", b.port));
  Stack a(dir, ca, 30000);
  if (b.port <= 0 || a.port <= 0) {
    std::fprintf(stderr, "a SIP stack did not start\n");
    r.failed = calls;
    return r;
  }

  if (g_fifo > 0) {
    a.threads.fifo(g_fifo);
    b.threads.fifo(g_fifo);
  }
  const double cpu0 = processCpuSeconds();
  const double sipA0 = StackThreads::cpu(a.threads.sip), sipB0 = StackThreads::cpu(b.threads.sip);
  const double loopA0 = StackThreads::cpu(a.threads.other);
  const double loopB0 = StackThreads::cpu(b.threads.other);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    core::OutboundCall c;
    c.faxId = i + 1;
    c.dialString = "20";
    c.tiffPath = tiff;
    c.tsi = "bench-tx";
    c.callerId = "100";
    a.telephony->placeCall(c);
    if (rampMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(rampMs));
  }
  const bool outDone = a.events.waitFor(calls, std::chrono::seconds(timeoutSeconds));
  // Inbound calls that never got offered (a lost INVITE) never report: wait a little only.
  const bool inDone = b.events.waitFor(calls, std::chrono::seconds(outDone ? 30 : 1));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = processCpuSeconds() - cpu0;
  r.sipCpuA = StackThreads::cpu(a.threads.sip) - sipA0;
  r.sipCpuB = StackThreads::cpu(b.threads.sip) - sipB0;
  r.loopCpuA = StackThreads::cpu(a.threads.other) - loopA0;
  r.loopCpuB = StackThreads::cpu(b.threads.other) - loopB0;
  // A "call" is one fax, sender and receiver side, as raw spandsp's figure; call-seconds are
  // those of the sender's calls (the receiver's legs are the same calls).
  const double callSeconds = a.events.callSeconds();
  r.callSeconds = callSeconds;
  r.cpuMsPerCallSecond = callSeconds > 0 ? cpu * 1000 / callSeconds : 0;
  r.a = a.telephony->loopStats();
  r.b = b.telephony->loopStats();
  r.statsA = a.trunk->status().stats;
  r.statsB = b.trunk->status().stats;
  r.t38Calls = a.events.t38Calls();
  r.failed = a.events.failed();
  r.failedRx = b.events.failed();
  if (std::getenv("VFAX_BENCH_DEBUG")) {
    std::printf(
        "  [debug] out %d/%d in %d/%d, %.1f call-s per call; threads A sip %zu other %zu, B sip "
        "%zu other %zu\n",
        a.events.finished(), calls, b.events.finished(), calls, callSeconds / calls,
        a.threads.sip.size(), a.threads.other.size(), b.threads.sip.size(), b.threads.other.size());
    for (int id : a.threads.other)
      std::printf("  [debug] A thread %d %s\n", id, threadName(id).c_str());
  }
  (void)inDone;
  for (const auto& [reason, n] : a.events.failures()) r.failures["sender: " + reason] += n;
  for (const auto& [reason, n] : b.events.failures()) r.failures["receiver: " + reason] += n;
  if (!outDone) {
    // Sender calls with no result at all count as failed faxes too.
    r.unfinished = calls - a.events.finished();
    r.failed += r.unfinished;
    r.failures["sender: no result within the timeout"] += r.unfinished;
  }
  a.telephony->stop();
  b.telephony->stop();
  // Media counters are added as calls end (the last ones at stop): read them now.
  for (auto [stack, stats] : {std::pair{&a, &r.statsA}, std::pair{&b, &r.statsB}}) {
    stats->media = stack->trunk->status().stats.media;
  }
  return r;
}

void printHeader() {
  std::printf("  %-4s %5s %9s %6s %6s %5s %6s %15s %7s %5s %13s %13s\n", "mode", "calls",
              "failed tx/rx", "wall s", "ms/cs", "raw", "x raw", "late A/B %", "max it", "t38",
              "SIP A/B ms/cs", "loop A/B ms/cs");
}

void printStep(Mode mode, const StepResult& r) {
  std::printf(
      "  %-4s %5d %5d/%-6d %6.1f %6.2f %5.2f %6.2f %7.2f/%-7.2f %5.0fms %5d %6.3f/%-6.3f "
      "%6.2f/%-6.2f\n",
      modeName(mode), r.calls, r.failed, r.failedRx, r.seconds, r.cpuMsPerCallSecond,
      r.rawMsPerCallSecond, r.ratio(), r.lateA(), r.lateB(),
      static_cast<double>(std::max(r.a.maxIterationUs, r.b.maxIterationUs)) / 1000.0, r.t38Calls,
      r.perCs(r.sipCpuA), r.perCs(r.sipCpuB), r.perCs(r.loopCpuA), r.perCs(r.loopCpuB));
  for (const auto& [reason, n] : r.failures) std::printf("         %4d x %s\n", n, reason.c_str());
  std::printf(
      "         signalling: B got %llu INVITEs, refused %llu, dropped %llu packets; T.38 switches "
      "A/B %llu/%llu, refused %llu; SIP threads A/B %.2f/%.2f s CPU\n",
      static_cast<unsigned long long>(r.statsB.invitesIn),
      static_cast<unsigned long long>(r.statsB.invitesRefused),
      static_cast<unsigned long long>(r.statsB.droppedPackets),
      static_cast<unsigned long long>(r.statsA.t38Switches),
      static_cast<unsigned long long>(r.statsB.t38Switches),
      static_cast<unsigned long long>(r.statsA.t38Refused), r.sipCpuA, r.sipCpuB);
  auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf(
      "         media A/B: audio frames late %llu/%llu, overflowed %llu/%llu, underruns "
      "%llu/%llu; T.38 IFPs lost %llu/%llu, recovered %llu/%llu; foreign %llu/%llu; worst "
      "tick lag %.0f/%.0f ms\n",
      u(r.statsA.media.audioLate), u(r.statsB.media.audioLate), u(r.statsA.media.audioOverflows),
      u(r.statsB.media.audioOverflows), u(r.statsA.media.audioUnderruns),
      u(r.statsB.media.audioUnderruns), u(r.statsA.media.t38Lost), u(r.statsB.media.t38Lost),
      u(r.statsA.media.t38Recovered), u(r.statsB.media.t38Recovered), u(r.statsA.media.foreign),
      u(r.statsB.media.foreign), r.a.maxLagUs / 1000.0, r.b.maxLagUs / 1000.0);
}

std::vector<int> parseList(const std::string& s) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (int n = std::atoi(item.c_str()); n > 0) v.push_back(n);
  }
  return v;
}

void raiseFileLimit(int calls) {
  // Each call has an RTP and a UDPTL socket on each side: 4 per call in this process.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = static_cast<rlim_t>(calls) * 4 + 512;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min(rl.rlim_max, std::max(want, rl.rlim_cur));
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
    std::printf("warning: only %llu file descriptors (want %llu)\n",
                static_cast<unsigned long long>(rl.rlim_cur),
                static_cast<unsigned long long>(want));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  spdlog::set_level(std::getenv("VFAX_BENCH_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
  std::vector<int> steps{10, 50};
  std::string modes = "g711,t38";
  int reps = 1;
  int pages = 1;
  int rampMs = 0;
  int timeoutSeconds = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--calls") {
      steps = parseList(v);
    } else if (k == "--modes") {
      modes = v;
    } else if (k == "--reps") {
      reps = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--pages") {
      pages = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--ramp-ms") {
      rampMs = std::max(0, std::atoi(v.c_str()));
    } else if (k == "--fifo") {
      g_fifo = std::clamp(std::atoi(v.c_str()), 0, 50);
    } else if (k == "--timeout-seconds") {
      timeoutSeconds = std::max(10, std::atoi(v.c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: bench_sip [--calls 10,50,100,200,400] [--modes g711,t38] [--reps R] "
                   "[--pages P] [--ramp-ms MS] [--timeout-seconds S] [--fifo PRIO]\n");
      return 2;
    }
  }
  std::vector<Mode> modeList;
  if (modes.find("g711") != std::string::npos) modeList.push_back(Mode::G711);
  if (modes.find("t38") != std::string::npos) modeList.push_back(Mode::T38);
  if (steps.empty() || modeList.empty()) {
    std::fprintf(stderr, "nothing to run\n");
    return 2;
  }
  raiseFileLimit(*std::max_element(steps.begin(), steps.end()));

  const std::string dir = testing::makeTempDir();
  std::vector<testing::Page> doc;
  for (int i = 0; i < pages; ++i) doc.push_back(testing::patternPage(i, 600));
  const std::string tiff = dir + "/doc.tif";
  if (!testing::writeG4Tiff(tiff, doc)) {
    std::fprintf(stderr, "cannot write %s\n", tiff.c_str());
    return 1;
  }
  std::printf(
      "SIP: stack A calls stack B over UDP on 127.0.0.1, %d-page faxes (V.17, ECM), calls placed "
      "%s, %d repetition(s) per step%s.\n"
      "failed tx/rx: faxes the sender reports failed (or never reported: jobs not delivered) / "
      "calls the receiver reports failed.\n"
      "ms/cs: ms CPU of the whole process (both stacks) per call-second; raw: raw spandsp back "
      "to back (sender + receiver, same transport, median of 3) measured just before the step; "
      "late: media ticks a whole tick (20 ms) or more late; t38: calls that ended in T.38; SIP / "
      "loop: each stack's SIP thread and telephony loop thread, ms CPU per call-second.\n\n",
      pages, rampMs > 0 ? (std::to_string(rampMs) + " ms apart").c_str() : "all at once", reps,
      g_fifo > 0 ? ", loop and SIP threads SCHED_FIFO" : "");
  printHeader();
  struct Summary {
    Mode mode;
    int calls;
    int failedMax;
    double ratio, late, seconds;
  };
  std::vector<Summary> summary;
  for (Mode mode : modeList) {
    for (int n : steps) {
      std::vector<double> ratios, late, secs;
      int failedMax = 0;
      for (int rep = 0; rep < reps; ++rep) {
        const StepResult r = step(mode, n, tiff, dir, rampMs, timeoutSeconds);
        printStep(mode, r);
        ratios.push_back(r.ratio());
        late.push_back(std::max(r.lateA(), r.lateB()));
        secs.push_back(r.seconds);
        failedMax = std::max(failedMax, r.failed);
      }
      summary.push_back({mode, n, failedMax, median(ratios), median(late), median(secs)});
    }
  }
  std::printf(
      "\nSummary (medians of %d repetition(s); goal: 0 failed faxes at 400 calls, <= 1.4x raw):\n",
      reps);
  std::printf("  %-4s %5s %12s %8s %14s\n", "mode", "calls", "failed tx (max)", "x raw",
              "late ticks %");
  for (const auto& s : summary) {
    std::printf("  %-4s %5d %12d %8.2f %14.2f\n", modeName(s.mode), s.calls, s.failedMax, s.ratio,
                s.late);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
