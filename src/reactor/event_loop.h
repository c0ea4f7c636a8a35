#pragma once
// The reactor: one thread that owns sockets, timers and the work posted to it. Trunks register
// their sockets (epoll readiness) and timers (a heap on an injected monotonic clock); other
// threads hand it work with post(). Nothing on this thread may block: DNS goes through the
// Resolver, files and databases through worker pools that post their results back.
//
// One loop iteration: wait for file events or the next timer (not at all while work is
// pending), dispatch ready sockets, fire due timers, run posted work, run deferred work, then the
// end-of-iteration hooks (trunks flush their batched datagrams there).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace vfax::reactor {

inline constexpr int kTickMs = 20;           // media frames: 20 ms of audio
inline constexpr int kSamplesPerTick = 160;  // 20 ms at 8 kHz

/// Monotonic time in microseconds. Injected so that tests can drive timers by hand.
class MonoClock {
 public:
  virtual ~MonoClock() = default;
  virtual std::int64_t nowUs() const = 0;
};

class SteadyClock final : public MonoClock {
 public:
  std::int64_t nowUs() const override;
  static const SteadyClock& instance();
};

/// A clock that only moves when told (tests). After advance(), wake the loop (post anything).
class ManualClock final : public MonoClock {
 public:
  explicit ManualClock(std::int64_t startUs = 1'000'000) : now_(startUs) {}
  std::int64_t nowUs() const override { return now_.load(); }
  void advance(std::int64_t us) { now_ += us; }

 private:
  std::atomic<std::int64_t> now_;
};

using TimerId = std::uint64_t;

struct EventLoopStats {
  std::int64_t ticks = 0;           // media timer firings
  std::int64_t lateTicks = 0;       // media timer firings a whole tick (20 ms) or more late
  std::int64_t maxLagUs = 0;        // worst lateness of a media timer
  std::int64_t busyUs = 0;          // time spent running handlers, timers and posted work
  std::int64_t longIterations = 0;  // iterations that ran kLongIterationUs or longer
  std::int64_t maxIterationUs = 0;  // the longest iteration
};

/// An iteration this long delays every call's next media frame noticeably: it is counted and,
/// at debug level, logged with the handler that took longest.
inline constexpr std::int64_t kLongIterationUs = 15'000;

/// A media timer stalled for up to this many ticks (2 s) runs every missed tick when the loop is
/// back, so no audio is dropped; the jitter buffer (2.56 s) and the socket hold what arrived
/// meanwhile. Longer stalls skip ahead. Fax modems bear delay, not gaps: with 400 calls in one
/// loop, a moment when hundreds of them end a page at once (each writes its page) stalls the
/// loop for up to a second, and before this was 2 s, such stalls cost faxes.
inline constexpr std::int64_t kMediaCatchUpTicks = 100;

class EventLoop {
 public:
  explicit EventLoop(const MonoClock* clock = nullptr);
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void start();
  /// Runs the work already posted, then ends the thread. Posts after stop() are refused.
  void stop();
  /// Thread-safe. Runs `task` on the loop thread, in order. False once the loop stopped.
  bool post(std::function<void()> task);
  /// Runs `task` on the loop thread and waits for it, at most `timeout`. A task that throws, a
  /// loop that stopped or a timeout is an error, never a hang. From the loop thread itself (or
  /// before start()) the task runs at once.
  core::Result<void> runSync(std::function<void()> task,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool inLoopThread() const { return std::this_thread::get_id() == threadId_.load(); }
  bool running() const { return running_.load(); }
  std::int64_t nowUs() const { return clock_.nowUs(); }
  std::int64_t nowMs() const { return clock_.nowUs() / 1000; }
  const MonoClock& clock() const { return clock_; }

  // ---- loop thread only (or before start()) ----

  /// A one-shot timer at `atUs` on the loop's clock.
  TimerId at(std::int64_t atUs, std::function<void()> fn);
  TimerId after(std::int64_t delayUs, std::function<void()> fn) {
    return at(nowUs() + delayUs, std::move(fn));
  }
  /// A periodic timer on a fixed grid starting at `firstUs`: a late firing does not shift the
  /// grid; after a stall of more than 10 periods (media: kMediaCatchUpTicks) it skips ahead
  /// instead of bursting. `media`
  /// timers count in stats() (ticks, lateness).
  TimerId every(std::int64_t periodUs, std::int64_t firstUs, std::function<void()> fn,
                bool media = false);
  /// Safe from inside the timer's own callback and for ids that already fired.
  void cancel(TimerId id);

  /// Watches a file descriptor (EPOLLIN/EPOLLOUT...). The handler gets the epoll event mask.
  core::Result<void> watch(int fd, std::uint32_t events, std::function<void(std::uint32_t)> fn);
  void unwatch(int fd);

  /// Runs `fn` on the loop thread after everything ready now (file events, timers, posted work)
  /// had its turn: a task that re-defers itself runs as fast as the CPU allows while the loop
  /// stays responsive (the loopback trunk's non-realtime calls).
  void defer(std::function<void()> fn);
  /// Called at the end of every iteration.
  void addIterationHook(void* owner, std::function<void()> fn);
  void removeIterationHook(void* owner);
  /// Something with queued output (a UdpSocket's batched datagrams): `flush()` runs once at the
  /// end of this iteration, only for those that asked. With hundreds of per-call sockets, a
  /// hook per socket would run hundreds of times every iteration for nothing.
  class Flushable {
   public:
    virtual void flushAtEnd() = 0;

   protected:
    ~Flushable() = default;
  };
  /// Loop thread. The owner asks again after each flush; `cancelFlush` before it goes away.
  void flushAtIterationEnd(Flushable* f) { flushes_.push_back(f); }
  void cancelFlush(Flushable* f);

  /// Read hints, for sockets read on a timer (a call's media socket, drained each tick) rather
  /// than on readiness: they sit in a second epoll set the loop never sleeps on, edge-triggered;
  /// once per iteration, before the timers, one non-blocking epoll_wait sets `*flag` for each
  /// that received since. The owner reads only when its flag is set (and clears it), so a quiet
  /// socket costs no system call per tick; one poll serves all of them. `flag` must stay valid
  /// until removeReadHint(). Loop thread.
  core::Result<void> addReadHint(int fd, bool* flag);
  void removeReadHint(int fd);

  /// Thread-safe snapshot.
  EventLoopStats stats() const;
  void resetStats();

 private:
  // Timers live in slots reused through a free list; an id is slot index and generation, so
  // that cancel and firing need no hashing (hundreds of media timers fire 50 times a second).
  struct Timer {
    std::function<void()> fn;
    std::int64_t periodUs = 0;
    std::int64_t deadlineUs = 0;
    std::uint32_t generation = 0;
    bool media = false;
    bool live = false;
  };
  struct HeapEntry {
    std::int64_t deadlineUs;
    TimerId id;
    bool operator>(const HeapEntry& o) const {
      return deadlineUs != o.deadlineUs ? deadlineUs > o.deadlineUs : id > o.id;
    }
  };
  struct Watch {
    std::function<void(std::uint32_t)> fn;
    std::uint64_t generation = 0;
  };

  void run();
  void wake();
  int waitTimeoutMs();
  void runTimers();
  bool runPosted();
  void runDeferred();
  void pushHeap(HeapEntry e);

  const MonoClock& clock_;
  int epollFd_ = -1;
  int wakeFd_ = -1;
  int hintFd_ = -1;        // the read hints' epoll set (made on first use)
  std::size_t hints_ = 0;  // sockets in it
  void pollReadHints();

  mutable std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> postedSpare_;  // loop thread
  bool stopping_ = false;
  bool accepting_ = true;
  std::thread thread_;
  std::atomic<std::thread::id> threadId_{};
  std::atomic<bool> running_{false};
  std::atomic<bool> sleeping_{false};

  // Loop thread.
  std::vector<HeapEntry> heap_;
  Timer* timer(TimerId id);
  TimerId addTimer(Timer t);
  void freeTimer(std::uint32_t slot);

  std::vector<Timer> timers_;
  std::vector<std::uint32_t> freeTimers_;
  std::unordered_map<int, Watch> watches_;
  std::uint64_t watchGeneration_ = 0;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> deferredSpare_;
  std::vector<std::pair<void*, std::function<void()>>> hooks_;
  std::vector<Flushable*> flushes_;
  std::vector<Flushable*> flushesSpare_;
  void runFlushes();

  std::atomic<std::int64_t> ticks_{0};
  std::atomic<std::int64_t> lateTicks_{0};
  std::atomic<std::int64_t> maxLagUs_{0};
  std::atomic<std::int64_t> busyUs_{0};
  std::atomic<std::int64_t> longIterations_{0};
  std::atomic<std::int64_t> maxIterationUs_{0};
  // The slowest handler of the current iteration (loop thread), for the long-iteration log.
  template <typename F>
  void timed(const char* what, const std::type_info& type, F&& f);
  std::int64_t slowestUs_ = 0;
  const char* slowestWhat_ = nullptr;
  const std::type_info* slowestType_ = nullptr;
  int handlersRun_ = 0;
};

}  // namespace vfax::reactor
