#pragma once
// Shared by the call benchmarks (bench/calls, bench/iax2): CPU clocks, raw spandsp back to back
// (the reference every call benchmark prints next to its own figure), and a CallEvents that counts
// finished and failed calls.
#include <time.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "codec/g711.h"
#include "core/telephony.h"
#include "fax/fax_session.h"

namespace vfax::bench {

inline double threadCpuSeconds() {
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
  double maxTickMs = 0;  // the costliest 20 ms step of sender and receiver together
  int maxTick = 0;       // when (in ticks from the start)
};

// One sender + one receiver, back to back, 20 ms at a time; CPU of both counted.
inline RawResult rawCall(fax::FaxTransport transport, const std::string& tx,
                         const std::string& rx) {
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
    const double tickStart = threadCpuSeconds();
    if (transport == fax::FaxTransport::Audio) {
      (*A)->txAudio(buf, 160);
      codec::g711Encode(codec::G711Law::Alaw, buf, 160, law);
      codec::g711Decode(codec::G711Law::Alaw, law, 160, buf);
      (*B)->rxAudio(buf, 160);
      (*B)->txAudio(buf, 160);
      codec::g711Encode(codec::G711Law::Alaw, buf, 160, law);
      codec::g711Decode(codec::G711Law::Alaw, law, 160, buf);
      (*A)->rxAudio(buf, 160);
    } else {
      (*A)->tick(160);
      (*B)->tick(160);
      for (; !sa.packets.empty(); sa.packets.pop_front())
        (*B)->rxT38(sa.packets.front().data(), sa.packets.front().size(), seqA++);
      for (; !sb.packets.empty(); sb.packets.pop_front())
        (*A)->rxT38(sb.packets.front().data(), sb.packets.front().size(), seqB++);
    }
    const double tickMs = (threadCpuSeconds() - tickStart) * 1000;
    if (tickMs > r.maxTickMs) {
      r.maxTickMs = tickMs;
      r.maxTick = tick;
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
  int finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }
  int failed() {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  std::string firstFailure() {
    std::lock_guard lock(mutex_);
    return firstFailure_;
  }
  double callSeconds() {
    std::lock_guard lock(mutex_);
    return callMs_ / 1000.0;
  }
  /// Finished calls whose fax ran over T.38 (at the end of the call).
  int t38Calls() {
    std::lock_guard lock(mutex_);
    return t38_;
  }
  /// Every failure reason with how many calls ended with it.
  std::map<std::string, int> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  void finish(const core::CallResult& r) {
    std::lock_guard lock(mutex_);
    ++finished_;
    if (r.outcome.cls != core::OutcomeClass::Ok) {
      if (failed_++ == 0) firstFailure_ = r.outcome.reason;
      ++failures_[r.outcome.reason];
    }
    if (r.media == core::FaxMedia::T38) ++t38_;
    callMs_ += static_cast<double>(r.endedAt - r.startedAt);
    cv_.notify_all();
  }
  std::string dir_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int finished_ = 0;
  int failed_ = 0;
  int t38_ = 0;
  std::map<std::string, int> failures_;
  std::string firstFailure_;
  double callMs_ = 0;
  std::int64_t nextIn_ = 0;
};

}  // namespace vfax::bench
