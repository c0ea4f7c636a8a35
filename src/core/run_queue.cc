#include "core/run_queue.h"

namespace vfax::core {

void RunQueue::putQueued(std::int64_t id, int priority) {
  remove(id);
  Entry e{.key = {priority, id}, .place = Place::Queued, .destination = {}, .due = 0};
  queued_.insert(e.key);
  entries_.emplace(id, std::move(e));
}

void RunQueue::putWaiting(std::int64_t id, int priority, const std::string& destination,
                          Millis due) {
  remove(id);
  Entry e{.key = {priority, id}, .place = Place::Timed, .destination = destination, .due = due};
  timed_.emplace(due, id);
  entries_.emplace(id, std::move(e));
}

void RunQueue::remove(std::int64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  switch (e.place) {
    case Place::Queued:
      queued_.erase(e.key);
      break;
    case Place::Timed:
      timed_.erase({e.due, id});
      break;
    case Place::Ready:
      dropReady(e);
      break;
  }
  entries_.erase(it);
}

Millis RunQueue::promoteDue(Millis now) {
  while (!timed_.empty() && timed_.begin()->first <= now) {
    Entry& e = entries_.at(timed_.begin()->second);
    timed_.erase(timed_.begin());
    e.place = Place::Ready;
    makeReady(e);
  }
  return timed_.empty() ? 0 : timed_.begin()->first;
}

void RunQueue::makeReady(const Entry& e) {
  auto& jobs = ready_[e.destination];
  if (!jobs.empty()) {
    if (!(e.key < *jobs.begin())) {
      jobs.insert(e.key);
      return;
    }
    heads_.erase(*jobs.begin());
  }
  jobs.insert(e.key);
  heads_.insert(e.key);
}

void RunQueue::dropReady(const Entry& e) {
  auto dest = ready_.find(e.destination);
  if (dest == ready_.end()) return;
  auto& jobs = dest->second;
  const bool wasHead = !jobs.empty() && jobs.begin()->id == e.key.id;
  jobs.erase(e.key);
  if (!wasHead) return;
  heads_.erase(e.key);
  if (jobs.empty()) {
    ready_.erase(dest);
  } else {
    heads_.insert(*jobs.begin());
  }
}

std::optional<RunQueue::Key> RunQueue::firstQueued() const {
  if (queued_.empty()) return std::nullopt;
  return *queued_.begin();
}

std::optional<RunQueue::Key> RunQueue::nextHead(const std::optional<Key>& after) const {
  auto it = after ? heads_.upper_bound(*after) : heads_.begin();
  if (it == heads_.end()) return std::nullopt;
  return *it;
}

const std::string& RunQueue::destinationOf(std::int64_t id) const {
  return entries_.at(id).destination;
}

std::size_t RunQueue::readyCount() const {
  std::size_t n = 0;
  for (const auto& [dest, jobs] : ready_) n += jobs.size();
  return n;
}

}  // namespace vfax::core
