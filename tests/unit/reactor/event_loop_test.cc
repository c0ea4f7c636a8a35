// The reactor: timers on an injected clock, periodic grids, posted and deferred work, file
// events, runSync errors (a throwing task, a stopped loop), long iterations counted, and the
// resolver off the loop.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/resolver.h"
#include "reactor/udp_socket.h"

namespace vfax::reactor {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool waitUntil(F f, std::chrono::milliseconds limit = 5000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

TEST(EventLoop, TimersFireInDeadlineOrderOnTheInjectedClock) {
  ManualClock clock;
  EventLoop loop(&clock);
  loop.start();
  std::vector<int> fired;
  std::atomic<int> count{0};
  ASSERT_TRUE(loop.runSync([&] {
                    loop.after(30'000, [&] { fired.push_back(3), ++count; });
                    loop.after(10'000, [&] { fired.push_back(1), ++count; });
                    TimerId canceled = loop.after(20'000, [&] { fired.push_back(99); });
                    loop.after(20'000, [&] { fired.push_back(2), ++count; });
                    loop.cancel(canceled);
                  })
                  .ok());
  clock.advance(15'000);
  loop.post([] {});  // wakes the loop after the clock moved
  ASSERT_TRUE(waitUntil([&] { return count.load() == 1; }));
  clock.advance(100'000);
  loop.post([] {});
  ASSERT_TRUE(waitUntil([&] { return count.load() == 3; }));
  loop.stop();
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, PeriodicTimerKeepsItsGridAndCanCancelItself) {
  ManualClock clock(0);
  EventLoop loop(&clock);
  loop.start();
  std::vector<std::int64_t> at;
  TimerId id = 0;
  ASSERT_TRUE(loop.runSync([&] {
                    id = loop.every(
                        20'000, 20'000,
                        [&] {
                          at.push_back(clock.nowUs());
                          if (at.size() == 4) loop.cancel(id);
                        },
                        true);
                  })
                  .ok());
  // Late by 5 ms each time: the grid does not drift.
  for (int i = 1; i <= 6; ++i) {
    clock.advance(i == 1 ? 25'000 : 20'000);
    ASSERT_TRUE(loop.runSync([] {}).ok());
  }
  loop.stop();
  ASSERT_EQ(at.size(), 4u);
  EXPECT_EQ(at[0], 25'000);
  EXPECT_EQ(at[3], 85'000);
  auto st = loop.stats();
  EXPECT_EQ(st.ticks, 4);
  EXPECT_EQ(st.lateTicks, 0);  // 5 ms behind is not a whole tick late
  EXPECT_GE(st.maxLagUs, 5'000);
}

// After a stall a media timer runs every missed tick (audio that arrived and audio the far end
// expects) up to kMediaCatchUpTicks; an ordinary timer skips ahead after 10 periods, and so does a
// media timer after a longer stall.
TEST(EventLoop, MediaTimersCatchUpAfterAStall) {
  ManualClock clock(0);
  EventLoop loop(&clock);
  loop.start();
  std::atomic<int> media{0}, plain{0};
  ASSERT_TRUE(loop.runSync([&] {
                    loop.every(
                        20'000, 20'000, [&] { ++media; }, true);
                    loop.every(20'000, 20'000, [&] { ++plain; });
                  })
                  .ok());
  clock.advance(20'000 * 20);  // 20 ticks due at once
  ASSERT_TRUE(waitUntil([&] {
    (void)loop.runSync([] {});
    return media.load() == 20;
  }));
  EXPECT_EQ(plain.load(), 1);                         // skipped ahead
  clock.advance(20'000 * (kMediaCatchUpTicks + 20));  // too long: skipped ahead as well
  for (int i = 0; i < 50; ++i) (void)loop.runSync([] {});
  EXPECT_EQ(media.load(), 21);
  loop.stop();
}

TEST(EventLoop, DeferredWorkRunsFastButLetsPostedWorkThrough) {
  EventLoop loop;
  loop.start();
  std::atomic<int> spins{0};
  std::atomic<bool> stop{false};
  std::function<void()> spin = [&] {
    ++spins;
    if (!stop) loop.defer(spin);
  };
  ASSERT_TRUE(loop.runSync([&] { loop.defer(spin); }).ok());
  // A task posted from another thread still gets its turn while the deferred chain runs.
  std::atomic<bool> ran{false};
  loop.post([&] { ran = true; });
  ASSERT_TRUE(waitUntil([&] { return ran.load(); }));
  ASSERT_TRUE(waitUntil([&] { return spins.load() > 1000; }));
  ASSERT_TRUE(loop.runSync([&] { stop = true; }).ok());
  loop.stop();
}

TEST(EventLoop, RunSyncReportsAThrowingTaskAndAStoppedLoop) {
  EventLoop loop;
  loop.start();
  auto r = loop.runSync([] { throw std::runtime_error("boom"); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("boom"), std::string::npos);
  // The loop survived the exception.
  std::atomic<int> n{0};
  ASSERT_TRUE(loop.runSync([&] { ++n; }).ok());
  EXPECT_EQ(n.load(), 1);
  // A slow task: the caller gets a timeout, not a hang.
  auto slow = loop.runSync([] { std::this_thread::sleep_for(300ms); }, 50ms);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, "timeout");
  loop.stop();
  EXPECT_FALSE(loop.post([] {}));
  // After stop the task runs on the caller's thread (nobody else runs loop work any more).
  ASSERT_TRUE(loop.runSync([&] { ++n; }).ok());
  EXPECT_EQ(n.load(), 2);
}

// A handler that holds the loop (a stand-in for a blocking call) shows up in the stall counters;
// quick ones do not. (The sleep only bounds the iteration from below: no timing assertion.)
TEST(EventLoop, ALongIterationIsCounted) {
  EventLoop loop;
  loop.start();
  std::atomic<bool> ran{false};
  loop.post([&ran] {
    std::this_thread::sleep_for(std::chrono::microseconds(kLongIterationUs + 5'000));
    ran = true;
  });
  ASSERT_TRUE(waitUntil([&] { return ran.load() && loop.stats().longIterations >= 1; }));
  EXPECT_GE(loop.stats().maxIterationUs, kLongIterationUs);
  loop.resetStats();
  EXPECT_EQ(loop.stats().longIterations, 0);
  loop.stop();
}

TEST(EventLoop, FileEventsAndBatchedUdp) {
  EventLoop loop;
  loop.start();
  UdpSocket a(loop), b(loop);
  std::atomic<int> got{0};
  SockAddr bAddr;
  ASSERT_TRUE(loop.runSync([&] {
                    auto ra = a.open(*SockAddr::numeric("127.0.0.1", 0),
                                     [](const std::uint8_t*, std::size_t, const SockAddr&) {});
                    ASSERT_TRUE(ra.ok());
                    auto rb = b.open(*SockAddr::numeric("127.0.0.1", 0),
                                     [&](const std::uint8_t* d, std::size_t n, const SockAddr&) {
                                       if (n == 3 && d[0] == 'x') ++got;
                                     });
                    ASSERT_TRUE(rb.ok());
                    bAddr = *rb;
                    const std::uint8_t msg[3] = {'x', 'y', 'z'};
                    for (int i = 0; i < 100; ++i) a.send(bAddr, msg, 3);
                  })
                  .ok());
  ASSERT_TRUE(waitUntil([&] { return got.load() == 100; }));
  // 100 datagrams in a handful of sendmmsg calls (batches of 32), flushed at iteration end.
  std::uint64_t sendCalls = 0, recvCalls = 0;
  ASSERT_TRUE(loop.runSync([&] {
                    sendCalls = a.stats().sendCalls;
                    recvCalls = b.stats().recvCalls;
                    a.close();
                    b.close();
                  })
                  .ok());
  EXPECT_LE(sendCalls, 4u);
  EXPECT_LT(recvCalls, 100u);
  loop.stop();
}

// sendNow() goes out at once; an unwatched socket keeps what arrives until drain(); a socket
// closed, with datagrams queued, by another socket's receive handler in the same iteration is
// neither flushed after its close nor touched after it is gone.
TEST(EventLoop, SendNowDrainAndCloseWithQueuedDatagrams) {
  EventLoop loop;
  loop.start();
  UdpSocket a(loop), b(loop);
  auto c = std::make_unique<UdpSocket>(loop);
  int got = 0;
  SockAddr bAddr, aAddr;
  ASSERT_TRUE(loop.runSync([&] {
                    auto ra = a.open(*SockAddr::numeric("127.0.0.1", 0),
                                     [&](const std::uint8_t*, std::size_t, const SockAddr&) {
                                       // Queued by c in this iteration, then c goes away.
                                       const std::uint8_t m[1] = {'q'};
                                       if (c) c->send(bAddr, m, 1);
                                       c.reset();
                                     });
                    ASSERT_TRUE(ra.ok());
                    aAddr = *ra;
                    auto rb = b.open(*SockAddr::numeric("127.0.0.1", 0),
                                     [&](const std::uint8_t* d, std::size_t n, const SockAddr&) {
                                       if (n == 3 && d[0] == 'x') ++got;
                                     });
                    ASSERT_TRUE(rb.ok());
                    bAddr = *rb;
                    ASSERT_TRUE(c->open(
                                     *SockAddr::numeric("127.0.0.1", 0),
                                     [](const std::uint8_t*, std::size_t, const SockAddr&) {},
                                     64 << 10)
                                    .ok());
                    b.setWatching(false);
                    const std::uint8_t msg[3] = {'x', 'y', 'z'};
                    for (int i = 0; i < 5; ++i) a.sendNow(bAddr, msg, 3);
                    EXPECT_EQ(a.stats().sendCalls, 5u);
                  })
                  .ok());
  // Not watched: nothing is read until the owner drains.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int before = -1;
  ASSERT_TRUE(loop.runSync([&] {
                    before = got;
                    b.drain();
                  })
                  .ok());
  EXPECT_EQ(before, 0);
  ASSERT_TRUE(waitUntil([&] {
    int n = 0;
    EXPECT_TRUE(loop.runSync([&] { n = got; }).ok());
    return n == 5;
  }));
  // a's handler queues on c and destroys it; the loop must not flush the dead socket.
  ASSERT_TRUE(loop.runSync([&] {
                    const std::uint8_t m[1] = {'p'};
                    b.sendNow(aAddr, m, 1);
                  })
                  .ok());
  ASSERT_TRUE(waitUntil([&] {
    bool gone = false;
    EXPECT_TRUE(loop.runSync([&] { gone = !c; }).ok());
    return gone;
  }));
  ASSERT_TRUE(loop.runSync([&] {
                    a.close();
                    b.close();
                  })
                  .ok());
  loop.stop();
}

TEST(EventLoop, ReadHintsSkipEmptyReadsAndSeeEveryArrival) {
  EventLoop loop;
  loop.start();
  UdpSocket rx(loop), tx(loop);
  int got = 0;
  SockAddr rxAddr;
  // A media-like owner: a 20 ms timer that reads only when the hint says so.
  ASSERT_TRUE(loop.runSync([&] {
                    auto r =
                        rx.open(*SockAddr::numeric("127.0.0.1", 0),
                                [&](const std::uint8_t*, std::size_t, const SockAddr&) { ++got; });
                    ASSERT_TRUE(r.ok());
                    rxAddr = *r;
                    ASSERT_TRUE(tx.open(*SockAddr::numeric("127.0.0.1", 0), [](const std::uint8_t*,
                                                                               std::size_t,
                                                                               const SockAddr&) {
                                  }).ok());
                    rx.setWatching(false);
                    rx.useReadHint();
                    loop.every(20'000, loop.nowUs(), [&] { rx.drainIfReadable(); });
                  })
                  .ok());
  auto recvCalls = [&] {
    std::uint64_t n = 0;
    EXPECT_TRUE(loop.runSync([&] { n = rx.stats().recvCalls; }).ok());
    return n;
  };
  // Quiet: after the first read (the hint starts set), 10 ticks cost no read at all.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const std::uint64_t quiet = recvCalls();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(recvCalls(), quiet);
  // Every datagram is still read, one burst and then one at a time, each at the next tick.
  const std::uint8_t m[1] = {'x'};
  ASSERT_TRUE(loop.runSync([&] {
                    for (int i = 0; i < 40; ++i) tx.sendNow(rxAddr, m, 1);
                  })
                  .ok());
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(loop.runSync([&] { tx.sendNow(rxAddr, m, 1); }).ok());
  }
  ASSERT_TRUE(waitUntil([&] {
    int n = 0;
    EXPECT_TRUE(loop.runSync([&] { n = got; }).ok());
    return n == 45;
  }));
  EXPECT_GT(recvCalls(), quiet);
  // Closed: the hint goes with the socket (no flag written to a socket that is gone).
  ASSERT_TRUE(loop.runSync([&] {
                    rx.close();
                    tx.close();
                  })
                  .ok());
  loop.stop();
}

TEST(Resolver, NeverBlocksTheLoopAndCachesAnswers) {
  EventLoop loop;
  loop.start();
  // A DNS server that answers only when the test lets it: if the loop waited for it, runSync
  // below would time out. Shared: a worker may outlive this test's frame.
  struct Dns {
    std::atomic<int> calls{0};
    std::atomic<bool> answer{false};
  };
  auto dns = std::make_shared<Dns>();
  std::atomic<int>& calls = dns->calls;
  std::atomic<bool>& answer = dns->answer;
  ResolverOptions o;
  o.lookupFn = [dns](const std::string& host, std::string* error) -> std::vector<SockAddr> {
    ++dns->calls;
    while (!dns->answer) std::this_thread::sleep_for(1ms);
    if (host == "bad.test") {
      *error = "Name or service not known";
      return {};
    }
    return {*SockAddr::numeric("::7", 1), *SockAddr::numeric("127.0.0.7", 1)};
  };
  auto resolver = std::make_unique<Resolver>(loop, o);
  std::optional<SockAddr> first;
  ASSERT_TRUE(loop.runSync(
                      [&] {
                        first = resolver->lookup("pbx.test", 4569);
                        EXPECT_FALSE(resolver->lookup("bad.test", 1).has_value());
                        EXPECT_NE(resolver->error("pbx.test").find("resolving"), std::string::npos);
                        // Numeric addresses never wait.
                        auto n = resolver->lookup("127.0.0.1", 5);
                        ASSERT_TRUE(n.has_value());
                        EXPECT_EQ(n->toString(), "127.0.0.1:5");
                      },
                      2000ms)
                  .ok());
  EXPECT_FALSE(first.has_value());
  answer = true;
  ASSERT_TRUE(waitUntil([&] {
    std::optional<SockAddr> a;
    (void)loop.runSync([&] { a = resolver->lookup("pbx.test", 4569, AF_INET); });
    return a && a->toString() == "127.0.0.7:4569";  // the family our socket can reach
  }));
  std::optional<SockAddr> any;
  ASSERT_TRUE(loop.runSync([&] { any = resolver->lookup("pbx.test", 1); }).ok());
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->toString(), "[::7]:1");
  std::string err;
  ASSERT_TRUE(waitUntil([&] {
    (void)loop.runSync([&] { err = resolver->error("bad.test"); });
    return err.find("Name or service not known") != std::string::npos;
  }));
  EXPECT_EQ(calls.load(), 2);  // one lookup per name, then the cache
  // Destroying the resolver while a lookup hangs in the DNS server does not wait for it.
  answer = false;
  ASSERT_TRUE(loop.runSync([&] { (void)resolver->lookup("other.test", 1); }).ok());
  ASSERT_TRUE(waitUntil([&] { return calls.load() == 3; }));
  ASSERT_TRUE(loop.runSync([&] { resolver.reset(); }, 2000ms).ok());
  answer = true;  // the stuck worker finishes and finds its resolver gone
  loop.stop();
}

TEST(SockAddr, HostValidation) {
  EXPECT_TRUE(validHost("127.0.0.1"));
  EXPECT_TRUE(validHost("::1"));
  EXPECT_TRUE(validHost("pbx-1.example.com"));
  EXPECT_FALSE(validHost(""));
  EXPECT_FALSE(validHost("-pbx.example"));
  EXPECT_FALSE(validHost("pbx..example"));
  EXPECT_FALSE(validHost("pbx example"));
  EXPECT_FALSE(validHost(std::string(64, 'a') + ".com"));
}

}  // namespace
}  // namespace vfax::reactor
