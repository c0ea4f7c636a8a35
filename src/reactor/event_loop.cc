#include "reactor/event_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

namespace vfax::trunks {
namespace {
using Clock = std::chrono::steady_clock;

std::int64_t usSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}
}  // namespace

EventLoop::EventLoop(EventLoopOptions options) : options_(options) {}

EventLoop::~EventLoop() { stop(); }

void EventLoop::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  accepting_ = true;
  thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    accepting_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return;
    posted_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void EventLoop::runSync(const std::function<void()>& task) {
  if (inLoopThread()) {
    task();
    return;
  }
  std::promise<void> done;
  auto future = done.get_future();
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (accepting_ && thread_.joinable()) {
      posted_.push_back([&] {
        task();
        done.set_value();
      });
      queued = true;
    }
  }
  if (!queued) {
    task();  // no loop thread (not started or stopped): nobody else runs loop work now
    return;
  }
  cv_.notify_one();
  future.wait();
}

void EventLoop::addTickListener(TickListener* listener) { listeners_.push_back(listener); }

void EventLoop::removeTickListener(TickListener* listener) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

EventLoopStats EventLoop::stats() const {
  return EventLoopStats{ticks_.load(), lateTicks_.load(), maxLagUs_.load(), busyUs_.load()};
}

void EventLoop::resetStats() {
  lateTicks_ = 0;
  maxLagUs_ = 0;
  busyUs_ = 0;
}

bool EventLoop::runPosted() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(posted_);
  }
  if (batch.empty()) return false;
  auto start = Clock::now();
  for (auto& task : batch) {
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("telephony loop: task failed: {}", e.what());
    } catch (...) {
      spdlog::error("telephony loop: task failed");
    }
  }
  busyUs_ += usSince(start);
  return true;
}

void EventLoop::tick() {
  auto start = Clock::now();
  ++ticks_;
  // Index loop: a listener may register another one while we iterate.
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    try {
      listeners_[i]->onTick();
    } catch (const std::exception& e) {
      spdlog::error("telephony loop: tick failed: {}", e.what());
    }
  }
  busyUs_ += usSince(start);
}

void EventLoop::run() {
  threadId_ = std::this_thread::get_id();
  const auto period = std::chrono::milliseconds(kTickMs);
  auto next = Clock::now() + period;
  for (;;) {
    runPosted();
    {
      std::unique_lock lock(mutex_);
      if (stopping_ && posted_.empty()) break;
    }
    if (options_.realtime) {
      auto now = Clock::now();
      if (now >= next) {
        auto lagUs = std::chrono::duration_cast<std::chrono::microseconds>(now - next).count();
        if (lagUs >= kTickMs * 1000) ++lateTicks_;
        if (lagUs > maxLagUs_) maxLagUs_ = lagUs;
        tick();
        next += period;
        // After a long stall, skip ahead instead of firing a burst of catch-up ticks.
        if (Clock::now() - next > 10 * period) next = Clock::now() + period;
      } else {
        std::unique_lock lock(mutex_);
        cv_.wait_until(lock, next, [this] { return stopping_ || !posted_.empty(); });
      }
    } else {
      bool anyBusy = std::any_of(listeners_.begin(), listeners_.end(),
                                 [](const TickListener* l) { return l->busy(); });
      if (anyBusy) {
        tick();
      } else {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !posted_.empty(); });
      }
    }
  }
  threadId_ = std::thread::id{};
}

}  // namespace vfax::trunks
