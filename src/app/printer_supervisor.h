#pragma once
// Runs vfax-printer (src/print/) as a child of vfaxd: starts it, logs its stderr lines into
// vfaxd's log, restarts it with back-off when it dies, and stops it within a bound.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vfax::app {

struct PrinterChildOptions {
  std::string program;            // path of vfax-printer
  std::vector<std::string> args;  // its command line (no secret)
  std::string secret;             // given in VFAX_PRINTER_SECRET
  std::chrono::milliseconds firstBackoff{1000};
  std::chrono::milliseconds maxBackoff{30000};
  /// A child that ran this long resets the back-off: it was not a start-up failure.
  std::chrono::milliseconds stableAfter{60000};
};

class PrinterSupervisor {
 public:
  explicit PrinterSupervisor(PrinterChildOptions options);
  ~PrinterSupervisor();  // stop()
  PrinterSupervisor(const PrinterSupervisor&) = delete;
  PrinterSupervisor& operator=(const PrinterSupervisor&) = delete;

  /// Starts the watching thread, which starts the child (and again and again). False (with
  /// why()) when the program cannot be started at all (missing, not executable).
  bool start();
  /// SIGTERM to the child, SIGKILL after `killAfter`; waits for the watching thread. Idempotent.
  void stop(std::chrono::milliseconds killAfter = std::chrono::milliseconds(2000));

  /// True while a child process runs.
  bool running() const;
  /// Why it does not run (its last exit), empty while it does.
  std::string why() const;
  /// How many times a child was started.
  int starts() const;

 private:
  bool spawn();  // mu_ held
  void watch();
  bool readLines(int fd, std::string& partial);  // false at end of file

  PrinterChildOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  int pid_ = -1;
  int stderrFd_ = -1;
  bool stopping_ = false;
  bool watcherDone_ = false;
  int starts_ = 0;
  std::string why_;
  std::chrono::steady_clock::time_point startedAt_;
};

/// Logs one stderr line of vfax-printer at the level PAPPL's prefix gives ("E [time] text").
void logPrinterLine(const std::string& line);

}  // namespace vfax::app
