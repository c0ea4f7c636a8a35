#include "api/event_hub.h"

#include <algorithm>

#include "api/json.h"

namespace vfax::api {

bool Visibility::sees(std::optional<std::int64_t> device) const {
  if (all) return true;
  if (!device) return false;
  return std::find(devices.begin(), devices.end(), *device) != devices.end();
}

// --- EventSubscription

EventSubscription::EventSubscription(EventHub& hub, std::int64_t userId, Visibility v,
                                     std::size_t maxQueued)
    : hub_(hub), userId_(userId), maxQueued_(maxQueued), visibility_(std::move(v)) {}

EventSubscription::~EventSubscription() { hub_.remove(this); }

std::vector<StreamEvent> EventSubscription::wait(std::chrono::milliseconds timeout) {
  std::deque<Pending> taken;
  bool lines = false;
  Visibility v;
  {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout,
                 [this] { return !closeReason_.empty() || !queue_.empty() || linesPending_; });
    if (!closeReason_.empty()) return {};
    taken.swap(queue_);
    lines = linesPending_;
    linesPending_ = false;
    if (lines) v = visibility_;
  }
  std::vector<StreamEvent> out;
  out.reserve(taken.size() + 1);
  for (auto& p : taken) {
    out.push_back(StreamEvent{p.deleted ? "fax_deleted" : "fax", *p.data});
  }
  if (lines) {
    // Rendered here, on the stream's own thread: the filtering costs the publisher nothing.
    if (auto l = hub_.linesFor(v)) out.push_back(StreamEvent{"lines", std::move(*l)});
  }
  return out;
}

bool EventSubscription::closed() const {
  std::lock_guard lock(mutex_);
  return !closeReason_.empty();
}

std::string EventSubscription::closeReason() const {
  std::lock_guard lock(mutex_);
  return closeReason_;
}

void EventSubscription::close() { closeWith("closed"); }

void EventSubscription::closeWith(const char* reason) {
  {
    std::lock_guard lock(mutex_);
    if (!closeReason_.empty()) return;
    closeReason_ = reason;
    queue_.clear();
    linesPending_ = false;
  }
  cv_.notify_all();
}

void EventSubscription::setVisibility(Visibility v) {
  std::lock_guard lock(mutex_);
  visibility_ = std::move(v);
}

void EventSubscription::pushFax(std::int64_t faxId, std::optional<std::int64_t> device,
                                const std::shared_ptr<const std::string>& data, bool deleted) {
  {
    std::lock_guard lock(mutex_);
    if (!closeReason_.empty() || !visibility_.sees(device)) return;
    if (deleted) {
      // Nothing that is pending for the fax matters any more.
      std::erase_if(queue_, [faxId](const Pending& p) { return p.faxId == faxId; });
    } else {
      // Coalesce: a fax already waiting to be written gets its newest state, in its place.
      for (auto& p : queue_) {
        if (p.faxId == faxId && !p.deleted) {
          p.data = data;
          return;  // nothing new to wake up for
        }
      }
    }
    if (queue_.size() >= maxQueued_) {
      // A client this far behind (thousands of faxes changed since it last read) is ended: its
      // EventSource reconnects and the page loads the lists again.
      closeReason_ = "too_slow";
      queue_.clear();
      linesPending_ = false;
    } else {
      queue_.push_back(Pending{faxId, deleted, data});
    }
  }
  cv_.notify_all();
}

void EventSubscription::linesChanged() {
  {
    std::lock_guard lock(mutex_);
    if (!closeReason_.empty()) return;
    linesPending_ = true;
  }
  cv_.notify_all();
}

// --- EventHub

EventHub::EventHub(EventHubOptions options) : options_(options) {}

EventHub::~EventHub() { close(); }

core::Result<std::shared_ptr<EventSubscription>> EventHub::subscribe(std::int64_t userId,
                                                                     Visibility v) {
  std::lock_guard lock(mutex_);
  if (closed_) return core::makeError("unavailable", "vfaxd is stopping");
  if (static_cast<int>(subs_.size()) >= options_.maxStreams) {
    return core::makeError("too_many_streams",
                           "the server has " + std::to_string(subs_.size()) +
                               " event streams open, its limit ([api] max_event_streams); "
                               "try again later");
  }
  int& mine = perUser_[userId];
  if (mine >= options_.maxStreamsPerUser) {
    return core::makeError("too_many_streams",
                           "this user has " + std::to_string(mine) +
                               " event streams open, the limit per user; close a page first");
  }
  ++mine;
  std::shared_ptr<EventSubscription> s(
      new EventSubscription(*this, userId, std::move(v), options_.maxQueued));
  subs_.push_back(s.get());
  return s;
}

void EventHub::remove(EventSubscription* s) {
  std::lock_guard lock(mutex_);
  auto it = std::find(subs_.begin(), subs_.end(), s);
  if (it == subs_.end()) return;
  subs_.erase(it);
  auto u = perUser_.find(s->userId());
  if (u != perUser_.end() && --u->second <= 0) perUser_.erase(u);
}

void EventHub::onFaxStateChanged(const core::Fax& fax, core::FaxState) { publishFax(fax); }
void EventHub::onFaxProgress(const core::Fax& fax) { publishFax(fax); }
void EventHub::onFaxDeleted(const core::Fax& fax) { publishFaxDeleted(fax); }

void EventHub::publishFax(const core::Fax& fax) {
  std::lock_guard lock(mutex_);
  ++faxChanges_;
  if (subs_.empty()) return;
  // Serialized once for every stream. Text from outside (a remote TSI) may not be UTF-8.
  auto data = std::make_shared<const std::string>(
      toJson(fax).dump(-1, ' ', false, Json::error_handler_t::replace));
  for (auto* s : subs_) s->pushFax(fax.id, fax.deviceId, data, false);
}

void EventHub::publishFaxDeleted(const core::Fax& fax) {
  std::lock_guard lock(mutex_);
  ++faxChanges_;
  if (subs_.empty()) return;
  auto data = std::make_shared<const std::string>(Json{{"id", fax.id}}.dump());
  for (auto* s : subs_) s->pushFax(fax.id, fax.deviceId, data, true);
}

void EventHub::publishLines(nlohmann::json lines) {
  auto l = std::make_shared<const nlohmann::json>(std::move(lines));
  std::lock_guard lock(mutex_);
  lines_ = std::move(l);
  for (auto* s : subs_) s->linesChanged();
}

std::optional<std::string> EventHub::linesFor(const Visibility& v) const {
  std::shared_ptr<const nlohmann::json> l;
  {
    std::lock_guard lock(mutex_);
    l = lines_;
  }
  if (!l) return std::nullopt;
  if (v.all || !l->contains("calls")) {
    return l->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  Json mine = *l;
  Json calls = Json::array();
  for (const auto& c : (*l)["calls"]) {
    std::optional<std::int64_t> device;
    if (c.contains("device") && c["device"].is_number_integer()) {
      device = c["device"].get<std::int64_t>();
    }
    if (v.sees(device)) calls.push_back(c);
  }
  mine["calls"] = std::move(calls);
  return mine.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::uint64_t EventHub::faxChanges() const {
  std::lock_guard lock(mutex_);
  return faxChanges_;
}

int EventHub::streams() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(subs_.size());
}

void EventHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto* s : subs_) s->closeWith("stopping");
}

void EventHub::reopen() {
  std::lock_guard lock(mutex_);
  closed_ = false;
}

}  // namespace vfax::api
