#pragma once
// EventHub: the live events behind GET /api/v1/events. It observes every fax (core::FaxObserver,
// called on the scheduler thread) and fans each change out to the open streams that may see the
// fax. Publishing never blocks on a stream: each stream has a bounded queue of its own, a fax's
// pending events are coalesced into its latest state, and a stream that falls too far behind is
// ended (its browser reconnects and reloads). The `lines` snapshot is kept once and coalesced
// per stream (only the newest is delivered).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model.h"
#include "core/observer.h"
#include "core/result.h"

namespace vfax::api {

/// Which faxes a stream may see: every fax (admins), or those of these devices (the rule of
/// Accounts::visibleDevices). A fax of no device is for admins only.
struct Visibility {
  bool all = false;
  std::vector<std::int64_t> devices;
  bool sees(std::optional<std::int64_t> device) const;
};

/// One event as the stream writes it: `event: name` / `data: data`.
struct StreamEvent {
  std::string name;
  std::string data;
};

struct EventHubOptions {
  int maxStreams = 64;          // open streams in all ([api] max_event_streams)
  int maxStreamsPerUser = 8;    // per user
  std::size_t maxQueued = 512;  // pending fax events of one stream before it is ended as too slow
};

class EventHub;

/// One open stream. Created by EventHub::subscribe(); unregisters itself when destroyed.
class EventSubscription {
 public:
  ~EventSubscription();
  EventSubscription(const EventSubscription&) = delete;
  EventSubscription& operator=(const EventSubscription&) = delete;

  /// Waits up to `timeout` for events and returns all that are pending (fax events in the order
  /// of their first change; a `lines` event last). Returns at once when the stream is closed.
  std::vector<StreamEvent> wait(std::chrono::milliseconds timeout);
  /// True once the stream must end: the hub closed (vfaxd stops), the stream fell too far behind,
  /// or close() was called. Pending events are dropped then.
  bool closed() const;
  /// Why it closed ("" while open): "stopping", "too_slow" or "closed".
  std::string closeReason() const;
  void close();
  /// The caller's devices changed (checked again while the stream lives).
  void setVisibility(Visibility v);
  std::int64_t userId() const { return userId_; }

 private:
  friend class EventHub;
  EventSubscription(EventHub& hub, std::int64_t userId, Visibility v, std::size_t maxQueued);

  struct Pending {
    std::int64_t faxId = 0;
    bool deleted = false;
    std::shared_ptr<const std::string> data;
  };
  // Hub side (under the hub's lock, then this one's).
  void pushFax(std::int64_t faxId, std::optional<std::int64_t> device,
               const std::shared_ptr<const std::string>& data, bool deleted);
  void linesChanged();
  void closeWith(const char* reason);

  EventHub& hub_;
  const std::int64_t userId_;
  const std::size_t maxQueued_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  Visibility visibility_;
  std::deque<Pending> queue_;
  bool linesPending_ = false;
  std::string closeReason_;
};

class EventHub final : public core::FaxObserver {
 public:
  explicit EventHub(EventHubOptions options = {});
  ~EventHub() override;
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// Opens a stream for user `userId`. Errors: `too_many_streams` (the limit in all or per user),
  /// `unavailable` (closed: vfaxd stops).
  core::Result<std::shared_ptr<EventSubscription>> subscribe(std::int64_t userId, Visibility v);

  // core::FaxObserver (scheduler thread; never blocks on a stream).
  void onFaxStateChanged(const core::Fax& fax, core::FaxState previous) override;
  void onFaxProgress(const core::Fax& fax) override;
  void onFaxDeleted(const core::Fax& fax) override;

  /// A fax changed (`event: fax`, data: the fax JSON) or was deleted (`event: fax_deleted`).
  void publishFax(const core::Fax& fax);
  void publishFaxDeleted(const core::Fax& fax);
  /// The newest GET /lines JSON with every call (each with its `device`); each stream gets it
  /// filtered to the calls it may see.
  void publishLines(nlohmann::json lines);
  /// The `lines` JSON for `v`: the calls of faxes it may not see removed. Null before the first
  /// publishLines().
  std::optional<std::string> linesFor(const Visibility& v) const;

  /// Grows with every fax change published: the lines poller uses it to learn that the queue
  /// counts may have changed.
  std::uint64_t faxChanges() const;
  int streams() const;
  const EventHubOptions& options() const { return options_; }
  /// Ends every stream now and refuses new ones (vfaxd stops). Idempotent.
  void close();
  /// Opens again after close() (a restarted HTTP server).
  void reopen();

 private:
  friend class EventSubscription;
  void remove(EventSubscription* s);

  const EventHubOptions options_;
  mutable std::mutex mutex_;
  std::vector<EventSubscription*> subs_;
  std::map<std::int64_t, int> perUser_;
  bool closed_ = false;
  std::uint64_t faxChanges_ = 0;
  std::shared_ptr<const nlohmann::json> lines_;
};

}  // namespace vfax::api
