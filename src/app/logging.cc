#include "app/logging.h"

#include <spdlog/async.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace vfax::app {

void useAsyncLogging(std::size_t queueLines) {
  spdlog::init_thread_pool(queueLines, 1);
  auto current = spdlog::default_logger();
  // The sinks carry the formatter: reusing them keeps every line exactly as before.
  auto logger = std::make_shared<spdlog::async_logger>(
      current->name(), current->sinks().begin(), current->sinks().end(), spdlog::thread_pool(),
      spdlog::async_overflow_policy::overrun_oldest);
  logger->set_level(current->level());
  logger->flush_on(current->flush_level());
  spdlog::set_default_logger(logger);
}

void flushLogs(std::chrono::milliseconds timeout) {
  auto pool = spdlog::thread_pool();
  spdlog::default_logger()->flush();
  if (!pool) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pool->queue_size() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The last line may be taken from the queue but not yet written.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void stopLogging() {
  if (auto pool = spdlog::thread_pool()) {
    if (const auto dropped = pool->overrun_counter(); dropped > 0) {
      spdlog::warn("log: {} line(s) dropped because the log could not keep up", dropped);
    }
  }
  flushLogs(std::chrono::milliseconds(500));
  // Back to a synchronous logger on the same sinks rather than spdlog::shutdown(): a line logged
  // after this (a late signal) is still written instead of meeting a logger that is gone.
  auto current = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(current->name(), current->sinks().begin(),
                                                 current->sinks().end());
  logger->set_level(current->level());
  spdlog::set_default_logger(logger);
}

}  // namespace vfax::app
