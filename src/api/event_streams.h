#pragma once
// Internal to api/: GET /api/v1/events (Server-Sent Events over EventHub) and the poller that
// publishes the `lines` snapshot when a call or the queue changes. Not part of the interface.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>

#include "api/event_hub.h"
#include "api/routes.h"

namespace vfax::api::detail {

/// Server-Sent Events timing (tests may not change them; the contract fixes them).
inline constexpr int kRetryMs = 3000;           // `retry:` the browser waits to reconnect
inline constexpr int kKeepAliveSeconds = 15;    // `: keep-alive` comment when idle
inline constexpr int kRecheckSeconds = 30;      // credentials and devices checked again
inline constexpr int kLinesIntervalMs = 500;    // at most 2 `lines` events per second
inline constexpr int kLinesRefreshSeconds = 5;  // trunk state changes are picked up this often

class EventStreams {
 public:
  EventStreams(Context& ctx, EventHub& hub) : ctx_(ctx), hub_(hub) {}
  ~EventStreams() { stop(); }
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  /// Opens the hub and starts the lines poller.
  void start();
  /// Ends every stream at once (their worker threads return within a moment) and stops the
  /// poller. Idempotent.
  void stop();
  EventHub& hub() { return hub_; }

 private:
  void pollLines();

  Context& ctx_;
  EventHub& hub_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread poller_;
};

/// GET /lines for `caller`: counts, trunks and the calls of faxes they may see.
Json linesJson(Context& ctx, const core::Caller& caller);
/// The same with every call (each names its `device`), for the event hub to filter per stream.
/// `cache` (optional) keeps the faxes of the calls in progress from one call to the next.
Json allLinesJson(Context& ctx, std::map<std::int64_t, core::Fax>* cache);

void addEventRoutes(httplib::Server& server, Context& ctx, EventStreams& streams);

}  // namespace vfax::api::detail
