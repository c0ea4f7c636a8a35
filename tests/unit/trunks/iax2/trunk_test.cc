// Two Iax2Trunks on real UDP sockets (127.0.0.1, any port), each on its own real-time telephony
// loop: registration, an authenticated call, audio both ways through the jitter buffers, a busy
// refusal mapped to the core's Busy, and hangup.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "trunks/iax2/iax2_trunk.h"

namespace vfax::trunks::iax2 {
namespace {

using namespace std::chrono_literals;

struct Handler : CallHandler {
  std::atomic<int> answered{0}, frames{0}, hangups{0};
  std::atomic<int> lastReason{-1};
  std::atomic<int> firstSample{0};
  void onAnswered() override { ++answered; }
  void onAudio(const std::int16_t* s, std::size_t n) override {
    if (n == kSamplesPerTick) ++frames;
    firstSample = s[0];
  }
  void onT38(const std::uint8_t*, std::size_t, std::uint16_t) override {}
  void onHangup(const HangupCause& c) override {
    lastReason = static_cast<int>(c.reason);
    ++hangups;
  }
};

// Answers (or refuses as busy) every inbound call; sends a tone-like frame each tick.
struct Far : TrunkEvents, TickListener {
  bool busy_ = false;
  Handler handler;
  std::shared_ptr<Call> call;
  std::atomic<int> offered{0};
  std::string called, caller;
  void onInboundCall(std::shared_ptr<Call> c) override {
    ++offered;
    called = c->info().calledNumber;
    caller = c->info().callerNumber;
    c->setHandler(&handler);
    if (busy_) {
      c->reject(busyCause());
      return;
    }
    call = c;
    c->answer();
  }
  void onTick() override {
    if (!call || call->ended()) return;
    std::int16_t pcm[kSamplesPerTick];
    for (auto& s : pcm) s = 1000;
    call->sendAudio(pcm, kSamplesPerTick);
  }
  bool busy() const override { return call && !call->ended(); }
};

template <typename F>
bool waitUntil(F f, std::chrono::seconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

TEST(Iax2Trunk, RegisterCallAudioBusyAndHangup) {
  for (std::uint32_t codec : {kFormatSlinear, kFormatUlaw}) {
    EventLoop loopB, loopA;
    Iax2TrunkOptions ob;
    ob.port = 0;
    ob.engine.peers.push_back(PeerConfig{"a", "pw", "", 4569, ""});
    ob.engine.codecs = {codec};
    Iax2Trunk b(loopB, ob);
    Far far;
    loopB.start();
    loopB.runSync([&] {
      ASSERT_TRUE(b.start(far).ok());
      loopB.addTickListener(&far);
    });
    Iax2TrunkOptions oa;
    oa.port = 0;
    oa.engine.registrations.push_back(RegistrationConfig{"127.0.0.1", b.boundPort(), "a", "pw", 60});
    oa.engine.codecs = {codec};
    Iax2Trunk a(loopA, oa);
    Far near;  // never called
    loopA.start();
    loopA.runSync([&] { ASSERT_TRUE(a.start(near).ok()); });
    ASSERT_TRUE(waitUntil([&] {
      auto st = a.status();
      return !st.registrations.empty() && st.registrations[0].registered;
    }));

    Handler h;
    std::shared_ptr<Call> call;
    loopA.runSync([&] {
      auto r = a.dial(DialRequest{"100", "5551000", "me"}, h);
      ASSERT_TRUE(r.ok());
      call = *r;
    });
    ASSERT_TRUE(waitUntil([&] { return h.answered.load() == 1; }));
    EXPECT_EQ(far.called, "100");
    EXPECT_EQ(far.caller, "5551000");
    ASSERT_TRUE(waitUntil([&] { return h.frames.load() > 20; }));
    EXPECT_NEAR(h.firstSample.load(), 1000, codec == kFormatSlinear ? 0 : 40);
    loopA.runSync([&] { call->hangup(normalCause()); });
    ASSERT_TRUE(waitUntil([&] { return far.handler.hangups.load() == 1; }));

    far.busy_ = true;
    Handler h2;
    loopA.runSync([&] {
      auto r = a.dial(DialRequest{"100", "", ""}, h2);
      ASSERT_TRUE(r.ok());
      call = *r;
    });
    ASSERT_TRUE(waitUntil([&] { return h2.hangups.load() == 1; }));
    EXPECT_EQ(h2.lastReason.load(), static_cast<int>(HangupReason::Busy));

    loopA.runSync([&] { a.stop(); });
    // The registration was released on stop.
    ASSERT_TRUE(waitUntil([&] {
      auto st = b.status();
      return !st.registrations.empty() && !st.registrations[0].registered;
    }));
    loopB.runSync([&] {
      loopB.removeTickListener(&far);
      far.call.reset();
      b.stop();
    });
    loopA.stop();
    loopB.stop();
  }
}

}  // namespace
}  // namespace vfax::trunks::iax2
