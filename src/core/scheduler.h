#pragma once
// Internal to core: the scheduler thread behind core::Service. It is the only code that changes
// the state of a fax once created. Everything that changes state runs on its thread (post()).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/cron.h"
#include "core/documents.h"
#include "core/model.h"
#include "core/number_plan.h"
#include "core/observer.h"
#include "core/run_queue.h"
#include "core/service.h"
#include "core/store.h"
#include "core/telephony.h"
#include "core/worker_pool.h"

namespace vfax::core {

class Scheduler final : public CallEvents {
 public:
  Scheduler(Store& store, Documents& documents, Telephony& telephony, const Clock& clock,
            ServiceOptions options);
  ~Scheduler() override;

  Result<void> start();
  void beginShutdown() { shuttingDown_ = true; }
  void addObserver(FaxObserver* o) { observers_.push_back(o); }
  /// Before start(): run on the scheduler thread every few minutes (e.g. expired previews).
  void setHousekeeping(std::function<void()> fn) { housekeeping_ = std::move(fn); }
  void notifyCreated(std::int64_t id);  // scheduler thread
  /// Scheduler thread: tells the observers that `fax` (as it was before) is deleted.
  void notifyDeleted(const Fax& fax);
  /// Scheduler thread: keeps the index of runnable jobs current for `fax` as stored (a new job,
  /// and every state change through setState()).
  void track(const Fax& fax);
  void stop();

  /// Runs `fn` on the scheduler thread and waits for its result. If the scheduler stops before
  /// running it (or never started), the answer is error `unavailable` ("vfaxd is stopping"),
  /// never a wait without end.
  template <typename T>
  Result<T> call(std::function<Result<T>()> fn) {
    auto reply = std::make_shared<Reply<T>>();
    auto future = reply->promise.get_future();
    // The task holds the only reference, so dropping it unrun answers at once.
    post([reply = std::move(reply), fn = std::move(fn)] {
      reply->promise.set_value(fn());
      reply->answered = true;
    });
    return future.get();
  }
  /// False once stop() has begun: new work is refused.
  bool accepting() {
    std::lock_guard lock(queueMutex_);
    return !stopping_;
  }
  /// Runs `fn` on the scheduler thread. After stop() it is dropped without running.
  void post(std::function<void()> fn);

  // Called on the scheduler thread.
  Result<Fax> cancelJob(std::int64_t id);
  /// A final fax: its record, attempts and folder go (empty answer). An active job is canceled
  /// (its record). A fax still being received: conflict.
  Result<std::optional<Fax>> removeFax(std::int64_t id);
  void kick();  // new work may be there: dispatch soon
  void settingsChanged(const Settings& s);
  LineStatus lineStatus();
  Result<int> cleanupNow(std::optional<int> olderThanDays);
  /// A held print job gets its destination and options from `drafted` (checked by the caller)
  /// and is queued; with a cover page its pages are converted again behind one. `conflict` when
  /// it is no longer held. scheduler_held.cc.
  Result<Fax> releaseHeld(std::int64_t id, const Fax& drafted);
  /// Fails the held jobs older than print_hold_hours; returns how many.
  int expireHeld();

  // Shared, read-mostly state (guarded by settingsMutex_).
  Settings currentSettings();
  NumberPlan numberPlan();
  std::string faxDir(std::int64_t id) const;

  Store& store() { return store_; }
  Documents& documents() { return documents_; }
  const Clock& clock() const { return clock_; }
  const ServiceOptions& options() const { return options_; }

  // CallEvents (telephony thread): each posts to the scheduler thread.
  void onOutboundAnswered(std::int64_t faxId) override;
  void onOutboundProgress(std::int64_t faxId, int pagesConfirmed,
                          const std::string& remoteId) override;
  void onOutboundFinished(std::int64_t faxId, const CallResult& result) override;
  void onInboundOffered(const InboundOffer& offer,
                        std::function<void(InboundDecision)> decide) override;
  void onInboundProgress(std::int64_t faxId, int pagesReceived,
                         const std::string& remoteId) override;
  void onInboundFinished(std::int64_t faxId, const CallResult& result) override;

 private:
  // A call()'s answer. Every task that is dropped unrun (posted after stop(), or left in the queue
  // of a scheduler that never started) is destroyed, and with it the last reference to this, so
  // the destructor answers for it.
  template <typename T>
  struct Reply {
    std::promise<Result<T>> promise;
    bool answered = false;
    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() {
      if (!answered) promise.set_value(makeError("unavailable", "vfaxd is stopping"));
    }
  };

  struct ActiveCall {
    Direction direction;
    std::string destination;  // outbound: dial string
    std::int64_t attemptId = 0;
    bool cancelRequested = false;
  };

  // Upper bound on sleeping, so that cron and clocks stay honest.
  static constexpr Millis kIdleWake = 30'000;
  static constexpr Millis kStoreRetry = 1'000;  // after a store error in dispatch
  static void logIfError(const Result<void>& r, const char* what);

  void run();
  Result<void> recover();  // scheduler_recovery.cc
  void dispatch();         // scheduler_dispatch.cc, with the conversion and call starts
  Result<std::optional<Fax>> loadIndexed(std::int64_t id, FaxState expected);
  void startConversion(Fax fax);
  void conversionDone(std::int64_t id, Result<int> pages);
  void maybeRunHousekeeping();
  void placeCall(Fax fax);
  void finishOutbound(std::int64_t faxId, const CallResult& result);
  void waitForTrunk(std::int64_t faxId, const ActiveCall& call, const CallResult& result);
  void acceptInbound(const InboundOffer& offer, const std::function<void(InboundDecision)>& decide);
  void finishInbound(std::int64_t faxId, const CallResult& result);
  void makeInboundDocuments(std::int64_t faxId, FaxState finalState, std::string error);
  void maybeRunScheduledCleanup();  // scheduler_retention.cc
  void maybeExpireHeld();           // scheduler_held.cc
  Millis retryDelay(OutcomeClass cls) const;
  // `report` false: the observers are not told (a try that placed no call).
  void setState(Fax& fax, FaxState state, const std::string& error = {}, bool report = true);
  void notify(std::int64_t id, FaxState previous);
  void notifyProgress(std::int64_t id);
  std::optional<Fax> loadFax(std::int64_t id);
  void closeAttempt(std::int64_t attemptId, std::int64_t faxId, const CallResult& result);
  std::string csidFor(const std::optional<Device>& device);
  int outboundCalls() const;
  int inboundCalls() const;

  Store& store_;
  Documents& documents_;
  Telephony& telephony_;
  const Clock& clock_;
  ServiceOptions options_;

  std::mutex settingsMutex_;
  Settings settings_;

  std::mutex queueMutex_;
  std::condition_variable queueCv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool kicked_ = true;
  Millis nextWake_ = 0;
  std::thread thread_;

  // Scheduler-thread state.
  std::map<std::int64_t, ActiveCall> calls_;
  std::set<std::int64_t> converting_;
  RunQueue runQueue_;  // queued and waiting jobs; loaded by recover(), then kept by track()
  std::map<std::int64_t, Millis> trunkBackoff_;  // jobs waiting for a trunk: their current delay
  std::optional<CronSchedule> cleanupCron_;
  Millis nextCleanupAt_ = 0;
  std::atomic<int> inboundCount_{0};
  std::atomic<bool> shuttingDown_{false};
  std::vector<FaxObserver*> observers_;  // fixed before start()
  std::function<void()> housekeeping_;   // fixed before start()
  Millis nextHousekeepingAt_ = 0;
  Millis nextHeldCheckAt_ = 0;  // when a held job may expire next (checked at least each minute)
  static constexpr Millis kHousekeepingEvery = 5 * 60'000;
  std::atomic<int> outboundCount_{0};

  std::unique_ptr<WorkerPool> workers_;  // last: joined first on destruction
};

}  // namespace vfax::core
