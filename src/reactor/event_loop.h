#pragma once
// The telephony event loop: one thread that owns calls, their fax sessions and (later) trunk
// sockets. Other threads hand it work with post(). Media runs on a 20 ms tick: in real time on
// the wall-clock grid, or, in non-realtime mode (tests), as fast as the CPU allows while any
// tick listener is busy.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vfax::trunks {

inline constexpr int kTickMs = 20;
inline constexpr int kSamplesPerTick = 160;  // 20 ms at 8 kHz

struct EventLoopOptions {
  bool realtime = true;
};

/// Called once per tick on the loop thread, in registration order.
class TickListener {
 public:
  virtual ~TickListener() = default;
  virtual void onTick() = 0;
  /// Non-realtime mode ticks back to back only while some listener is busy (has calls);
  /// otherwise the loop sleeps until work is posted.
  virtual bool busy() const = 0;
};

struct EventLoopStats {
  std::int64_t ticks = 0;
  std::int64_t lateTicks = 0;  // realtime: ticks that started a whole tick or more late
  std::int64_t maxLagUs = 0;   // realtime: worst start delay behind the grid
  std::int64_t busyUs = 0;     // time spent in tick listeners and posted tasks
};

class EventLoop {
 public:
  explicit EventLoop(EventLoopOptions options = {});
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void start();
  /// Runs the tasks already posted, then ends the thread. Posts after stop() are dropped.
  void stop();
  /// Thread-safe. Runs `task` on the loop thread, in order.
  void post(std::function<void()> task);
  /// Runs `task` on the loop thread and waits for it (not from the loop thread itself).
  void runSync(const std::function<void()>& task);
  bool inLoopThread() const { return std::this_thread::get_id() == threadId_.load(); }
  bool realtime() const { return options_.realtime; }

  /// Loop thread (or before start()).
  void addTickListener(TickListener* listener);
  void removeTickListener(TickListener* listener);
  /// Ticks since start, as the calls' clock (loop thread).
  std::int64_t tickCount() const { return ticks_.load(std::memory_order_relaxed); }

  /// Thread-safe snapshot.
  EventLoopStats stats() const;
  void resetStats();

 private:
  void run();
  bool runPosted();
  void tick();

  EventLoopOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> posted_;
  bool stopping_ = false;
  bool accepting_ = true;
  std::thread thread_;
  std::atomic<std::thread::id> threadId_{};
  std::vector<TickListener*> listeners_;

  std::atomic<std::int64_t> ticks_{0};
  std::atomic<std::int64_t> lateTicks_{0};
  std::atomic<std::int64_t> maxLagUs_{0};
  std::atomic<std::int64_t> busyUs_{0};
};

}  // namespace vfax::trunks
