#include "reactor/event_loop.h"

#include <cxxabi.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <stdexcept>
#include <typeinfo>

namespace vfax::reactor {
namespace {

std::int64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A handler that throws must not take the loop (and every call on it) down.
template <typename F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("telephony loop: {} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("telephony loop: {} failed", what);
  }
}

// The lambda's type names the function it was written in: enough to find what stalled the loop.
std::string typeName(const std::type_info* t) {
  if (!t) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
  std::string out = status == 0 && d ? d : t->name();
  std::free(d);
  return out;
}

}  // namespace

template <typename F>
void EventLoop::timed(const char* what, const std::type_info& type, F&& f) {
  const std::int64_t t0 = steadyUs();
  guarded(what, std::forward<F>(f));
  const std::int64_t took = steadyUs() - t0;
  ++handlersRun_;
  if (took > slowestUs_) {
    slowestUs_ = took;
    slowestWhat_ = what;
    slowestType_ = &type;
  }
}

std::int64_t SteadyClock::nowUs() const { return steadyUs(); }

const SteadyClock& SteadyClock::instance() {
  static const SteadyClock clock;
  return clock;
}

EventLoop::EventLoop(const MonoClock* clock) : clock_(clock ? *clock : SteadyClock::instance()) {
  epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epollFd_ < 0 || wakeFd_ < 0) {
    throw std::runtime_error(std::string("telephony loop: epoll/eventfd: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint32_t>(wakeFd_);
  ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev);
}

EventLoop::~EventLoop() {
  stop();
  if (wakeFd_ >= 0) ::close(wakeFd_);
  if (epollFd_ >= 0) ::close(epollFd_);
  if (hintFd_ >= 0) ::close(hintFd_);
}

core::Result<void> EventLoop::addReadHint(int fd, bool* flag) {
  if (hintFd_ < 0) {
    hintFd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (hintFd_ < 0) return core::makeError("epoll", std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = flag;
  if (::epoll_ctl(hintFd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return core::makeError("epoll", std::strerror(errno));
  }
  ++hints_;
  return {};
}

void EventLoop::removeReadHint(int fd) {
  if (hintFd_ < 0) return;
  if (::epoll_ctl(hintFd_, EPOLL_CTL_DEL, fd, nullptr) == 0 && hints_ > 0) --hints_;
}

void EventLoop::pollReadHints() {
  constexpr int kMax = 256;
  epoll_event events[kMax];
  // Bounded like every other drain; what is left is reported by the next iteration's poll.
  for (int round = 0; round < 64; ++round) {
    const int n = ::epoll_wait(hintFd_, events, kMax, 0);
    for (int i = 0; i < n; ++i) *static_cast<bool*>(events[i].data.ptr) = true;
    if (n < kMax) return;
  }
}

void EventLoop::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  accepting_ = true;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    accepting_ = false;
  }
  wake();
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
  running_ = false;
}

void EventLoop::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof(one));
}

bool EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return false;
    posted_.push_back(std::move(task));
  }
  // The loop sets `sleeping_` before it looks at the queue one last time, so either it sees
  // this task or we see it sleeping and wake it.
  if (sleeping_.load()) wake();
  return true;
}

core::Result<void> EventLoop::runSync(std::function<void()> task,
                                      std::chrono::milliseconds timeout) {
  auto runHere = [&task]() -> core::Result<void> {
    try {
      task();
      return {};
    } catch (const std::exception& e) {
      return core::makeError("internal_error", std::string("telephony task failed: ") + e.what());
    } catch (...) {
      return core::makeError("internal_error", "telephony task failed");
    }
  };
  if (inLoopThread() || !running_) return runHere();

  struct State {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    core::Result<void> result;
  };
  auto state = std::make_shared<State>();
  bool queued = post([state, task = std::move(task)]() mutable {
    core::Result<void> r;
    try {
      task();
    } catch (const std::exception& e) {
      r = core::makeError("internal_error", std::string("telephony task failed: ") + e.what());
    } catch (...) {
      r = core::makeError("internal_error", "telephony task failed");
    }
    std::lock_guard l(state->m);
    state->result = std::move(r);
    state->done = true;
    state->cv.notify_all();
  });
  if (!queued) return core::makeError("unavailable", "the telephony loop is stopping");
  std::unique_lock l(state->m);
  if (!state->cv.wait_for(l, timeout, [&] { return state->done; })) {
    return core::makeError("timeout", "the telephony loop did not answer in time");
  }
  return state->result;
}

// ---------------------------------------------------------------- timers

void EventLoop::pushHeap(HeapEntry e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
}

EventLoop::Timer* EventLoop::timer(TimerId id) {
  const auto slot = static_cast<std::uint32_t>(id >> 32);
  if (slot >= timers_.size()) return nullptr;
  Timer& t = timers_[slot];
  return t.live && t.generation == static_cast<std::uint32_t>(id) ? &t : nullptr;
}

TimerId EventLoop::addTimer(Timer t) {
  std::uint32_t slot;
  if (!freeTimers_.empty()) {
    slot = freeTimers_.back();
    freeTimers_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  Timer& dst = timers_[slot];
  t.generation = dst.generation + 1;  // 0 never names a live timer: ids are never 0
  t.live = true;
  dst = std::move(t);
  const TimerId id = (static_cast<TimerId>(slot) << 32) | dst.generation;
  pushHeap({dst.deadlineUs, id});
  return id;
}

void EventLoop::freeTimer(std::uint32_t slot) {
  Timer& t = timers_[slot];
  t.live = false;
  t.fn = nullptr;
  freeTimers_.push_back(slot);
}

TimerId EventLoop::at(std::int64_t atUs, std::function<void()> fn) {
  return addTimer(Timer{std::move(fn), 0, atUs, 0, false, false});
}

TimerId EventLoop::every(std::int64_t periodUs, std::int64_t firstUs, std::function<void()> fn,
                         bool media) {
  return addTimer(
      Timer{std::move(fn), std::max<std::int64_t>(periodUs, 1), firstUs, 0, media, false});
}

void EventLoop::cancel(TimerId id) {
  if (timer(id)) freeTimer(static_cast<std::uint32_t>(id >> 32));
}

void EventLoop::runTimers() {
  const std::int64_t now = clock_.nowUs();
  // Only what is due now fires in this pass; a periodic timer that is still due after its
  // firing waits for the next pass, so that file events and posted work get their turn.
  std::size_t budget = heap_.size();
  while (budget-- > 0 && !heap_.empty() && heap_.front().deadlineUs <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    HeapEntry e = heap_.back();
    heap_.pop_back();
    Timer* found = timer(e.id);
    if (!found || found->deadlineUs != e.deadlineUs) continue;  // canceled
    Timer& t = *found;
    if (t.media) {
      const std::int64_t lag = now - e.deadlineUs;
      ++ticks_;
      if (lag >= kTickMs * 1000) ++lateTicks_;
      if (lag > maxLagUs_.load(std::memory_order_relaxed)) maxLagUs_ = lag;
    }
    if (t.periodUs == 0) {
      auto fn = std::move(t.fn);
      freeTimer(static_cast<std::uint32_t>(e.id >> 32));
      timed("timer", fn.target_type(), fn);
      continue;
    }
    std::int64_t next = e.deadlineUs + t.periodUs;
    // After a stall a timer catches up (each missed period fires, one per pass) as long as the
    // stall was short; after a long one it skips ahead instead of bursting. Media timers catch
    // up further: each missed tick is audio the far end sent (waiting in the socket) and audio
    // it expects; up to kMediaCatchUpTicks the jitter buffers hold it, and nothing is lost.
    const std::int64_t catchUp = t.media ? kMediaCatchUpTicks : 10;
    if (now - next > catchUp * t.periodUs) next = now + t.periodUs;
    t.deadlineUs = next;
    pushHeap({next, e.id});
    // Moved out while it runs: the callback may cancel its own timer (or add timers, which may
    // move the slots).
    auto fn = std::move(t.fn);
    timed(t.media ? "media timer" : "timer", fn.target_type(), fn);
    if (Timer* again = timer(e.id)) again->fn = std::move(fn);
  }
}

// ---------------------------------------------------------------- file events

core::Result<void> EventLoop::watch(int fd, std::uint32_t events,
                                    std::function<void(std::uint32_t)> fn) {
  Watch w{std::move(fn), ++watchGeneration_};
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (w.generation << 32) | static_cast<std::uint32_t>(fd);
  const bool known = watches_.contains(fd);
  if (::epoll_ctl(epollFd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    return core::makeError("internal_error", std::string("epoll_ctl: ") + std::strerror(errno));
  }
  watches_[fd] = std::move(w);
  return {};
}

void EventLoop::unwatch(int fd) {
  if (watches_.erase(fd) > 0) ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
}

// ---------------------------------------------------------------- posted and deferred work

bool EventLoop::runPosted() {
  // Two vectors swapped back and forth: no allocation per batch once warmed up.
  {
    std::lock_guard lock(mutex_);
    postedSpare_.swap(posted_);
  }
  const bool any = !postedSpare_.empty();
  for (auto& task : postedSpare_) timed("posted task", task.target_type(), task);
  postedSpare_.clear();
  return any;
}

void EventLoop::defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

void EventLoop::runDeferred() {
  if (deferred_.empty()) return;
  deferredSpare_.swap(deferred_);
  for (auto& fn : deferredSpare_) timed("deferred task", fn.target_type(), fn);
  deferredSpare_.clear();
}

void EventLoop::addIterationHook(void* owner, std::function<void()> fn) {
  hooks_.emplace_back(owner, std::move(fn));
}

void EventLoop::removeIterationHook(void* owner) {
  std::erase_if(hooks_, [owner](const auto& h) { return h.first == owner; });
}

void EventLoop::cancelFlush(Flushable* f) {
  std::erase(flushes_, f);
  // Inside runFlushes(): a flush that closes another socket of the same batch.
  std::replace(flushesSpare_.begin(), flushesSpare_.end(), f, static_cast<Flushable*>(nullptr));
}

void EventLoop::runFlushes() {
  if (flushes_.empty()) return;
  // Timed as one handler: the sends of one iteration together.
  timed("socket flushes", typeid(Flushable), [this] {
    flushesSpare_.swap(flushes_);
    for (std::size_t i = 0; i < flushesSpare_.size(); ++i) {
      if (flushesSpare_[i]) flushesSpare_[i]->flushAtEnd();
    }
    flushesSpare_.clear();
  });
}

int EventLoop::waitTimeoutMs() {
  if (!deferred_.empty() || !flushes_.empty()) return 0;
  {
    std::lock_guard lock(mutex_);
    if (!posted_.empty() || stopping_) return 0;
  }
  // Drop canceled timers at the top so they do not cut the sleep short.
  while (!heap_.empty()) {
    const Timer* t = timer(heap_.front().id);
    if (t && t->deadlineUs == heap_.front().deadlineUs) break;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    heap_.pop_back();
  }
  if (heap_.empty()) return -1;
  const std::int64_t waitUs = heap_.front().deadlineUs - clock_.nowUs();
  if (waitUs <= 0) return 0;
  return static_cast<int>(std::min<std::int64_t>((waitUs + 999) / 1000, 60'000));
}

EventLoopStats EventLoop::stats() const {
  return EventLoopStats{ticks_.load(),  lateTicks_.load(),      maxLagUs_.load(),
                        busyUs_.load(), longIterations_.load(), maxIterationUs_.load()};
}

void EventLoop::resetStats() {
  lateTicks_ = 0;
  maxLagUs_ = 0;
  busyUs_ = 0;
  longIterations_ = 0;
  maxIterationUs_ = 0;
}

void EventLoop::run() {
  threadId_ = std::this_thread::get_id();
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  for (;;) {
    sleeping_ = true;
    const int timeout = waitTimeoutMs();
    int n = ::epoll_wait(epollFd_, events, kMaxEvents, timeout);
    sleeping_ = false;
    const std::int64_t start = steadyUs();
    slowestUs_ = 0;
    slowestWhat_ = nullptr;
    slowestType_ = nullptr;
    handlersRun_ = 0;
    for (int i = 0; i < n; ++i) {
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      const std::uint64_t generation = events[i].data.u64 >> 32;
      if (fd == wakeFd_) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wakeFd_, &count, sizeof(count));
        continue;
      }
      auto it = watches_.find(fd);
      // Unwatched (or the fd number reused) by an earlier handler of this batch.
      if (it == watches_.end() || it->second.generation != generation) continue;
      auto fn = it->second.fn;  // a copy: the handler may unwatch its own fd
      const std::uint32_t mask = events[i].events;
      timed("socket handler", fn.target_type(), [&] { fn(mask); });
    }
    if (hints_ > 0) pollReadHints();
    runTimers();
    runPosted();
    runDeferred();
    for (std::size_t i = 0; i < hooks_.size(); ++i) {
      timed("iteration hook", hooks_[i].second.target_type(), hooks_[i].second);
    }
    runFlushes();
    const std::int64_t took = steadyUs() - start;
    busyUs_ += took;
    if (took > maxIterationUs_.load(std::memory_order_relaxed)) maxIterationUs_ = took;
    if (took >= kLongIterationUs) {
      ++longIterations_;
      if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug(
            "telephony loop: an iteration took {:.1f} ms ({} handlers); the slowest, {:.1f} ms: "
            "{} {}",
            took / 1000.0, handlersRun_, slowestUs_ / 1000.0, slowestWhat_ ? slowestWhat_ : "?",
            typeName(slowestType_));
      }
    }
    std::lock_guard lock(mutex_);
    if (stopping_ && posted_.empty()) break;
  }
  threadId_ = std::thread::id{};
}

}  // namespace vfax::reactor
