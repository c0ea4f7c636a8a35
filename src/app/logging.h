#pragma once
// vfaxd's log: spdlog's default logger made asynchronous, so that a log line from the telephony
// loop never waits for the terminal, a pipe or a full disk. The queue is bounded and drops the
// oldest lines rather than block; output format and destinations stay those of the default logger.
#include <chrono>
#include <cstddef>

namespace vfax::app {

/// Replaces the default logger by an asynchronous one over the same sinks, level and format,
/// with a queue of `queueLines` lines on one logging thread. Once, before any other thread logs.
void useAsyncLogging(std::size_t queueLines = 8192);

/// Waits (at most `timeout`) until the queued lines are written. For a hard exit (_exit).
void flushLogs(std::chrono::milliseconds timeout);

/// Reports lines dropped on overflow, writes what is queued (at most 0.5 s), and logs
/// synchronously from then on.
void stopLogging();

}  // namespace vfax::app
