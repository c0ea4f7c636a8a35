// Iax2Trunks on real UDP sockets (127.0.0.1, any port), each on its own reactor: registration,
// an authenticated call, audio both ways through the jitter buffers, a busy refusal mapped to
// the core's Busy, hangup; a port that is taken (the trunk reports it and binds once it frees);
// a dynamic peer that is not registered and a host name being resolved (temporary errors).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "trunks/iax2/iax2_trunk.h"

namespace vfax::trunks::iax2 {
namespace {

using namespace std::chrono_literals;
using reactor::EventLoop;
using reactor::kSamplesPerTick;

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
  void onMediaTick() override { ++ticks; }
  std::atomic<int> ticks{0};
  void onHangup(const HangupCause& c) override {
    lastReason = static_cast<int>(c.reason);
    ++hangups;
  }
};

// Sends a tone-like frame on each media tick of its call.
struct Speaker : Handler {
  std::shared_ptr<Call> call;
  void onMediaTick() override {
    if (!call || call->ended()) return;
    std::int16_t pcm[kSamplesPerTick];
    for (auto& s : pcm) s = 1000;
    call->sendAudio(pcm, kSamplesPerTick);
  }
};

// Answers (or refuses as busy) every inbound call and speaks on it; records trunk states.
struct Far : TrunkEvents {
  bool busy_ = false;
  Speaker handler;
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
    handler.call = c;
    c->answer();
  }
  void onTrunkState(const std::string&, bool isUp, const std::string& why) override {
    std::lock_guard l(m);
    up = isUp;
    reason = why;
    ++changes;
  }
  bool isUp() {
    std::lock_guard l(m);
    return up;
  }
  std::string why() {
    std::lock_guard l(m);
    return reason;
  }
  std::mutex m;
  bool up = false;
  std::string reason;
  int changes = 0;
};

void sync(EventLoop& loop, std::function<void()> f) {
  ASSERT_TRUE(loop.runSync(std::move(f)).ok());
}

// Stops a trunk on its loop and waits until it reports done.
void stopTrunk(EventLoop& loop, Iax2Trunk& t) {
  std::atomic<bool> done{false};
  ASSERT_TRUE(loop.runSync([&] { t.stop([&done] { done = true; }); }).ok());
  auto end = std::chrono::steady_clock::now() + 5s;
  while (!done && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(done.load());
}

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
  // The last round with IAX2 trunking both ways: the voice travels in meta trunk frames, which
  // the trunk flushes at the end of each loop iteration.
  for (auto [codec, trunk] : {std::pair{kFormatSlinear, false}, std::pair{kFormatUlaw, false},
                              std::pair{kFormatAlaw, true}}) {
    EventLoop loopB, loopA;
    Iax2TrunkOptions ob;
    ob.port = 0;
    // A name of 4+ characters: the REGREL of a shorter one is too small to answer with a
    // CALLTOKEN (no answer longer than its request), and the registration would only expire.
    ob.engine.peers.push_back(PeerConfig{"stack-a", "pw", "", 4569, "", trunk});
    ob.engine.codecs = {codec};
    Iax2Trunk b(loopB, ob);
    Far far;
    loopB.start();
    sync(loopB, [&] { ASSERT_TRUE(b.start(far).ok()); });
    EXPECT_TRUE(far.isUp());
    Iax2TrunkOptions oa;
    oa.port = 0;
    oa.engine.registrations.push_back(
        RegistrationConfig{"127.0.0.1", b.boundPort(), "stack-a", "pw", 60, trunk});
    oa.engine.codecs = {codec};
    Iax2Trunk a(loopA, oa);
    Far near;  // never called
    loopA.start();
    sync(loopA, [&] { ASSERT_TRUE(a.start(near).ok()); });
    ASSERT_TRUE(waitUntil([&] {
      auto st = a.status();
      return !st.registrations.empty() && st.registrations[0].registered;
    }));

    Handler h;
    std::shared_ptr<Call> call;
    sync(loopA, [&] {
      auto r = a.dial(DialRequest{"100", "5551000", "me", ""}, h);
      ASSERT_TRUE(r.ok());
      call = *r;
    });
    ASSERT_TRUE(waitUntil([&] { return h.answered.load() == 1; }));
    EXPECT_EQ(far.called, "100");
    EXPECT_EQ(far.caller, "5551000");
    ASSERT_TRUE(waitUntil([&] { return h.frames.load() > 20; }));
    EXPECT_GT(h.ticks.load(), 20);  // our side was asked for media on the 20 ms grid
    EXPECT_NEAR(h.firstSample.load(), 1000, codec == kFormatSlinear ? 0 : 40);
    if (trunk) {
      EXPECT_GT(a.status().stats.trunkFramesIn, 10u);
      EXPECT_EQ(a.status().stats.trunkDropped, 0u);
    } else {
      EXPECT_EQ(a.status().stats.trunkFramesIn, 0u);
    }
    sync(loopA, [&] { call->hangup(normalCause()); });
    ASSERT_TRUE(waitUntil([&] { return far.handler.hangups.load() == 1; }));

    far.busy_ = true;
    Handler h2;
    sync(loopA, [&] {
      auto r = a.dial(DialRequest{"100", "", "", ""}, h2);
      ASSERT_TRUE(r.ok());
      call = *r;
    });
    ASSERT_TRUE(waitUntil([&] { return h2.hangups.load() == 1; }));
    EXPECT_EQ(h2.lastReason.load(), static_cast<int>(HangupReason::Busy));

    stopTrunk(loopA, a);
    // The registration was released on stop.
    ASSERT_TRUE(waitUntil([&] {
      auto st = b.status();
      return !st.registrations.empty() && !st.registrations[0].registered;
    }));
    sync(loopB, [&] {
      far.call.reset();
      far.handler.call.reset();
    });
    stopTrunk(loopB, b);
    loopA.stop();
    loopB.stop();
  }
}

TEST(Iax2Trunk, PortTakenIsReportedAndBoundOnceFree) {
  int holder = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&sin), &len);
  const int port = ntohs(sin.sin_port);

  EventLoop loop;
  Iax2TrunkOptions o;
  o.port = port;
  o.bindRetryMaxMs = 200;
  Iax2Trunk t(loop, o);
  Far events;
  loop.start();
  ASSERT_TRUE(loop.runSync([&] { ASSERT_TRUE(t.start(events).ok()); }).ok());
  EXPECT_FALSE(events.isUp());
  EXPECT_NE(events.why().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << events.why();
  // Dialling meanwhile is temporary trouble, not a failure.
  Handler h;
  ASSERT_TRUE(loop.runSync([&] {
                    auto r = t.dial(DialRequest{"100", "", "", ""}, h);
                    ASSERT_FALSE(r.ok());
                    EXPECT_EQ(r.error().code, "trunk_stopped");
                    EXPECT_TRUE(isTemporaryDialError(r.error().code));
                  })
                  .ok());
  ::close(holder);
  ASSERT_TRUE(waitUntil([&] { return events.isUp(); }));
  EXPECT_EQ(t.boundPort(), port);
  EXPECT_TRUE(t.status().running);
  stopTrunk(loop, t);
  loop.stop();
}

TEST(Iax2Trunk, UnregisteredPeerAndResolvingHostAreTemporary) {
  EventLoop loop;
  Iax2TrunkOptions o;
  o.port = 0;
  o.engine.peers.push_back(PeerConfig{"pbx", "pw-long-enough", "", 4569, ""});
  Iax2Trunk dynamicPeer(loop, o);

  // A resolver that takes its time, as a slow DNS server does: the loop must not wait for it.
  std::atomic<int> lookups{0};
  Iax2TrunkOptions named;
  named.port = 0;
  named.engine.peers.push_back(PeerConfig{"far", "pw-long-enough", "far.example.test", 4569, ""});
  named.resolver.lookupFn = [&lookups](const std::string&, std::string*) {
    ++lookups;
    std::this_thread::sleep_for(300ms);
    return std::vector<reactor::SockAddr>{*reactor::SockAddr::numeric("127.0.0.1", 1)};
  };
  Iax2Trunk namedPeer(loop, named);
  Far events;
  loop.start();
  Handler h;
  ASSERT_TRUE(loop.runSync([&] {
                    ASSERT_TRUE(dynamicPeer.start(events).ok());
                    ASSERT_TRUE(namedPeer.start(events).ok());
                    auto r = dynamicPeer.dial(DialRequest{"100", "", "", ""}, h);
                    ASSERT_FALSE(r.ok());
                    EXPECT_EQ(r.error().code, "peer_unreachable");
                    EXPECT_NE(r.error().message.find("waiting for IAX2 peer 'pbx' to register"),
                              std::string::npos);
                    auto n = namedPeer.dial(DialRequest{"100", "", "", ""}, h);
                    ASSERT_FALSE(n.ok());
                    EXPECT_EQ(n.error().code, "resolving");
                    EXPECT_TRUE(isTemporaryDialError(n.error().code));
                  })
                  .ok());
  // The loop answered at once while the lookup ran; once resolved the peer can be dialled.
  ASSERT_TRUE(waitUntil([&] {
    bool ok = false;
    sync(loop, [&] {
      auto r = namedPeer.dial(DialRequest{"100", "", "", ""}, h);
      ok = r.ok();
      if (ok) (*r)->hangup(normalCause());
    });
    return ok;
  }));
  EXPECT_EQ(lookups.load(), 1);  // cached, not resolved per dial
  stopTrunk(loop, dynamicPeer);
  stopTrunk(loop, namedPeer);
  loop.stop();
}

}  // namespace
}  // namespace vfax::trunks::iax2
