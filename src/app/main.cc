// vfaxd: the fax server daemon. Loads the configuration and runs app::Application until SIGINT or
// SIGTERM; a watchdog armed by the signal ends the process within 5 s whatever still runs.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "app/application.h"
#include "app/config.h"
#include "app/logging.h"

using namespace vfax;

namespace {

// Waits for SIGINT/SIGTERM on a thread of its own (they are blocked everywhere else), so that a
// signal is seen during the start too. From the first signal on, a watchdog runs: if the process
// is still there after app::kStopDeadline, it leaves at once.
class StopSignal {
 public:
  StopSignal() : state_(std::make_shared<State>()) {
    std::thread([state = state_] { run(*state); }).detach();
  }
  // The thread keeps the state: it may still sit in sigwait() when no signal came (a failed
  // start) and is left there.
  ~StopSignal() {
    {
      std::lock_guard lock(state_->mu);
      state_->finished = true;
    }
    state_->cv.notify_all();
  }
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool requested() const { return state_->requested.load(); }

  void wait() {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [this] { return state_->requested.load(); });
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> requested{false};
    bool finished = false;
  };

  static void run(State& s) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return;
    spdlog::info("vfaxd: {} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::unique_lock lock(s.mu);
    s.requested = true;
    s.cv.notify_all();
    if (s.cv.wait_for(lock, app::kStopDeadline, [&s] { return s.finished; })) return;
    spdlog::critical("vfaxd: the stop did not finish within {} ms; exiting now",
                     app::kStopDeadline.count());
    app::flushLogs(std::chrono::milliseconds(100));
    std::fflush(nullptr);
    _exit(1);
  }

  std::shared_ptr<State> state_;
};

int run(app::Config config) {
  StopSignal signal;
  int status = 0;
  {
    app::Application application(std::move(config));
    if (auto r = application.start([&signal] { return signal.requested(); }); !r) {
      status = r.error().code == "stopping" ? 0 : 1;
    } else {
      signal.wait();
    }
    if (!application.stop()) {
      // A component overran its stop budget and may still run: leave without destroying it.
      spdlog::error("vfaxd: exiting with a component still stopping");
      app::flushLogs(std::chrono::milliseconds(100));
      std::fflush(nullptr);
      _exit(1);
    }
  }
  // Inside the watchdog's time: a log that cannot be written must not hold the exit.
  app::stopLogging();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread; StopSignal's thread waits for them with sigwait().
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App cli{"vfaxd: the vfax fax server"};
  std::string configFile, dataDir, http;
  cli.add_option("--config", configFile, "TOML configuration file (docs/vfaxd.example.toml)")
      ->check(CLI::ExistingFile);
  cli.add_option("--data", dataDir, "data directory (default ./var)");
  cli.add_option("--http", http, "HTTP listen address ADDR:PORT (default 127.0.0.1:8080)");
  CLI11_PARSE(cli, argc, argv);

  app::Config config;
  try {
    if (!configFile.empty()) config = app::loadConfig(configFile);
    if (!dataDir.empty()) config.dataDir = dataDir;
    if (!http.empty()) app::parseHttpAddress(http, config, "--http");
  } catch (const std::exception& e) {
    std::cerr << "vfaxd: " << e.what() << std::endl;
    return 2;
  }
  auto level = spdlog::level::from_str(config.logLevel);
  if (level == spdlog::level::off && config.logLevel != "off") {
    std::cerr << "vfaxd: log_level must be trace, debug, info, warn, error or off" << std::endl;
    return 2;
  }
  spdlog::set_level(level);
  app::useAsyncLogging();
  return run(std::move(config));
}
