#include "app/printer_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <thread>

namespace vfax::app {
namespace {

using namespace std::chrono_literals;

// The supervisor logs through spdlog's default logger: the test reads what it wrote.
class PrinterSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    old_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", sink_);
    logger->set_level(spdlog::level::debug);
    logger->set_pattern("[%l] %v");
    spdlog::set_default_logger(logger);
  }
  void TearDown() override { spdlog::set_default_logger(old_); }

  std::string log() const {
    std::string out;
    for (const auto& l : sink_->last_formatted()) out += l;
    return out;
  }
  static bool eventually(const std::function<bool()>& f) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  static PrinterChildOptions shell(const std::string& script) {
    PrinterChildOptions o;
    o.program = "/bin/sh";
    o.args = {"-c", script};
    o.secret = "0123456789abcdef0123456789abcdef";
    o.firstBackoff = 10ms;
    o.maxBackoff = 40ms;
    return o;
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> old_;
};

TEST_F(PrinterSupervisorTest, LogsStderrAtPapplsLevelsAndPassesTheSecretInTheEnvironment) {
  PrinterSupervisor s(shell(
      "echo 'E [2026-12-02T06:31:03.491Z] [Printer vfax] broken' >&2; "
      "echo 'I [2026-12-02T06:31:03.491Z] Starting system.' >&2; "
      "echo \"secret=$VFAX_PRINTER_SECRET args=$*\" >&2; echo 'not on stderr'; exec sleep 60"));
  ASSERT_TRUE(s.start()) << s.why();
  ASSERT_TRUE(eventually([&] { return log().find("secret=") != std::string::npos; })) << log();
  EXPECT_NE(log().find("[error] printer: [Printer vfax] broken"), std::string::npos) << log();
  EXPECT_NE(log().find("[info] printer: Starting system."), std::string::npos) << log();
  EXPECT_NE(log().find("secret=0123456789abcdef0123456789abcdef args="), std::string::npos);
  EXPECT_EQ(log().find("not on stderr"), std::string::npos);
  EXPECT_TRUE(s.running());
  s.stop();
  EXPECT_FALSE(s.running());
  EXPECT_EQ(s.starts(), 1);
}

TEST_F(PrinterSupervisorTest, ADeadChildIsRestartedWithBackoff) {
  PrinterSupervisor s(shell("echo 'vfax-printer: cannot listen' >&2; exit 3"));
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(eventually([&] { return s.starts() >= 3; })) << log();
  EXPECT_NE(log().find("vfax-printer exited with status 3; restarting it in"), std::string::npos);
  EXPECT_NE(log().find("[warning] printer: vfax-printer: cannot listen"), std::string::npos);
  s.stop();
  EXPECT_FALSE(s.running());
}

TEST_F(PrinterSupervisorTest, AChildIgnoringSigtermIsKilled) {
  PrinterSupervisor s(shell("trap '' TERM; echo ready >&2; while :; do sleep 1; done"));
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(eventually([&] { return log().find("ready") != std::string::npos; }));
  s.stop(100ms);
  EXPECT_FALSE(s.running());
  EXPECT_NE(log().find("did not stop within 100 ms; killing it"), std::string::npos) << log();
  EXPECT_EQ(s.starts(), 1);  // no restart after a stop
}

TEST_F(PrinterSupervisorTest, AStopRightAfterTheStartStillEndsAStubbornChild) {
  for (int i = 0; i < 5; ++i) {
    PrinterSupervisor s(shell("trap '' TERM; while :; do sleep 1; done"));
    ASSERT_TRUE(s.start());
    s.stop(50ms);
    EXPECT_FALSE(s.running());
  }
}

TEST_F(PrinterSupervisorTest, AMissingProgramIsAStartError) {
  PrinterChildOptions o;
  o.program = "/nonexistent/vfax-printer";
  PrinterSupervisor s(o);
  EXPECT_FALSE(s.start());
  EXPECT_EQ(s.why(), "/nonexistent/vfax-printer is missing or not executable");
  s.stop();
}

TEST_F(PrinterSupervisorTest, OddLinesAreLoggedAsWarningsAndBounded) {
  logPrinterLine("");
  logPrinterLine("X [");
  logPrinterLine("E [no closing bracket");
  logPrinterLine(std::string(10000, 'x'));
  EXPECT_NE(log().find("[warning] printer: E [no closing bracket"), std::string::npos);
  // Bounded by the log escaping (core::logSafe), which says how much it cut.
  EXPECT_EQ(log().find(std::string(1001, 'x')), std::string::npos);
  EXPECT_NE(log().find(std::string(1000, 'x') + "...(+"), std::string::npos);
}

}  // namespace
}  // namespace vfax::app
