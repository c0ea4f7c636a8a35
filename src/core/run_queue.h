#pragma once
// Internal to core: the scheduler's in-memory index of the jobs that may run, so that dispatch
// touches only what can run now instead of reading every queued job from the store each time.
// The scheduler keeps it current (it owns every state change); used on its thread only.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"

namespace vfax::core {

class RunQueue {
 public:
  /// Dispatch order: higher priority first, then the older (smaller id).
  struct Key {
    int priority = 0;
    std::int64_t id = 0;
    bool operator<(const Key& o) const {
      return priority != o.priority ? priority > o.priority : id < o.id;
    }
  };

  /// A job to convert (state `queued`). Replaces what the index held for the id.
  void putQueued(std::int64_t id, int priority);
  /// A job to call (state `waiting`) at `due`, to `destination` (its dial string). Replaces what
  /// the index held for the id.
  void putWaiting(std::int64_t id, int priority, const std::string& destination, Millis due);
  /// Any other state: not in the index any more. Unknown ids are ignored.
  void remove(std::int64_t id);

  bool contains(std::int64_t id) const { return entries_.contains(id); }
  std::size_t size() const { return entries_.size(); }

  /// The best job to convert, if any.
  std::optional<Key> firstQueued() const;

  /// Makes the waiting jobs due by `now` ready; returns when the next one comes due (0: none).
  Millis promoteDue(Millis now);

  /// The ready jobs by destination: each destination's best job, in dispatch order. A job placed
  /// (removed) makes its destination's next job the head; it sorts after the job it follows, so
  /// walk with nextHead(previous) rather than with an iterator.
  std::optional<Key> nextHead(const std::optional<Key>& after) const;
  const std::string& destinationOf(std::int64_t id) const;

  std::size_t readyCount() const;
  std::size_t timedCount() const { return timed_.size(); }

 private:
  enum class Place { Queued, Timed, Ready };
  struct Entry {
    Key key;
    Place place = Place::Queued;
    std::string destination;
    Millis due = 0;
  };
  void makeReady(const Entry& e);
  void dropReady(const Entry& e);

  std::map<std::int64_t, Entry> entries_;
  std::set<Key> queued_;
  std::set<std::pair<Millis, std::int64_t>> timed_;  // waiting, not due yet
  std::map<std::string, std::set<Key>> ready_;       // due, by destination
  std::set<Key> heads_;                              // the first of each ready_ set
};

}  // namespace vfax::core
