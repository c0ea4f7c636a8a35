#pragma once
// SipThread: the thread that runs libre (re_main) for one SIP trunk. libre's objects (the SIP
// stack, sessions, registrations, SDP, timers) belong to the thread that made them and are used
// only there; other threads hand work to it with post() (libre's mqueue, a pipe watched by
// re_main). Each SipThread has its own libre context (re_thread_init), so several trunks can
// run in one process (tests, benchmarks).
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "core/result.h"

struct mqueue;

namespace vfax::trunks::sip {

class SipThread {
 public:
  SipThread() = default;
  ~SipThread();
  SipThread(const SipThread&) = delete;
  SipThread& operator=(const SipThread&) = delete;

  /// Starts the thread; returns once libre runs on it (or why it could not start).
  core::Result<void> start();
  /// Runs what was posted, then ends re_main and joins. `beforeExit` runs on the thread first
  /// (closing the SIP stack). Idempotent.
  void stop();
  /// Any thread: runs `task` on the SIP thread. False once stopped.
  bool post(std::function<void()> task);
  /// Any thread but the SIP thread: runs `task` there and waits (bounded).
  core::Result<void> runSync(std::function<void()> task,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2));
  bool inThread() const { return std::this_thread::get_id() == threadId_.load(); }
  bool running() const { return running_.load(); }

 private:
  static void onMessage(int id, void* data, void* arg);
  void run();

  std::thread thread_;
  std::atomic<std::thread::id> threadId_{};
  std::atomic<bool> running_{false};
  ::mqueue* queue_ = nullptr;
};

}  // namespace vfax::trunks::sip
