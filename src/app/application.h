#pragma once
// vfaxd as one object. Components start in dependency order (store, document converter, telephony
// with its trunks, service with the scheduler, mail gateway, HTTP API) and stop in reverse, every
// stop bounded in time; a start that fails half way is torn down by the same stop().
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config.h"
#include "core/result.h"

namespace vfax::app {

/// How long each step of the stop may take before vfaxd logs the overrun and goes on. Together
/// (4.5 s) they stay under the 5 s in which SIGTERM must end vfaxd.
struct StopBudgets {
  /// The HTTP API and Mail-to-Fax intake, stopped side by side. The API waits for requests in
  /// progress and for idle keep-alive connections (closed after 1 s); intake finishes the mail
  /// it is submitting (about 0.2 s per job in a debug build).
  std::chrono::milliseconds intake{1200};
  /// TelephonyImpl::stop() bounds itself at about 2 s; the rest is margin.
  std::chrono::milliseconds telephony{2400};
  std::chrono::milliseconds scheduler{400};
  std::chrono::milliseconds mailOutbox{500};
  /// vfax-printer: SIGTERM at the start of the stop, SIGKILL after 2 s; it runs beside the
  /// other steps and is waited for at their end.
  std::chrono::milliseconds printerKill{2000};
  std::chrono::milliseconds printer{2300};
};
/// From a stop signal to the forced exit: the last resort when a step hangs outside its budget
/// (a destructor, the start). Longer than the budgets together, shorter than 5 s.
inline constexpr std::chrono::milliseconds kStopDeadline{4800};

class Application {
 public:
  explicit Application(Config config, StopBudgets budgets = {});
  /// Destroys the components in reverse order. Only after stop() returned true.
  ~Application();
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  /// Starts every component in order. `stopRequested` is asked between the steps, so that a
  /// signal during a long start is honoured; it ends the start with error `stopping`. Any error
  /// stops what already runs (stop()) before it is returned.
  core::Result<void> start(const std::function<bool()>& stopRequested = {});

  /// Stops what runs in reverse order, each step within its budget. Returns false when a step
  /// overran: that component may still be running, so the caller must leave the process without
  /// destroying this object. Idempotent.
  bool stop();

  /// http://ADDR:PORT of the API once started.
  const std::string& url() const { return url_; }

  /// The secret vfax-printer sends in X-Vfax-Printer on vfaxd's internal print routes: fresh
  /// random at each start of vfaxd (64 hex digits), made before the API starts.
  const std::string& printerSecret() const { return printerSecret_; }

  /// [print] enabled: whether vfax-printer runs now, and why not when it does not.
  struct PrinterHealth {
    bool enabled = false;
    bool running = false;
    std::string why;
  };
  PrinterHealth printerHealth() const;

 private:
  struct Parts;

  core::Result<void> startAll(const std::function<bool()>& stopRequested);
  core::Result<void> startPrinter(int apiPort);

  Config config_;
  StopBudgets budgets_;
  std::unique_ptr<Parts> parts_;
  std::string url_;
  std::string printerSecret_;
  bool stopped_ = false;
  bool clean_ = true;
};

/// One step of the stop: runs `fn` on a thread of its own from construction on; wait() waits
/// until `budget` after the start. Steps that do not depend on each other run side by side.
class BoundedStop {
 public:
  BoundedStop(std::string what, std::chrono::milliseconds budget, std::function<void()> fn);
  ~BoundedStop();  // waits, if wait() was not called
  BoundedStop(const BoundedStop&) = delete;
  BoundedStop& operator=(const BoundedStop&) = delete;

  /// True when `fn` finished within the budget; false (logged, naming `what`) when it overran:
  /// its thread is left running, detached.
  bool wait();

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  std::string what_;
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point begin_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  bool finished_ = false;
};

/// BoundedStop(what, budget, fn).wait().
bool runBounded(const std::string& what, std::chrono::milliseconds budget,
                std::function<void()> fn);

}  // namespace vfax::app
