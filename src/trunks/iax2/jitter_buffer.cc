#include "trunks/iax2/jitter_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vfax::trunks::iax2 {

void JitterBuffer::grow() {
  // Doubling from a handful: a call that never stalls keeps 8 slots.
  const std::size_t size = std::min(kCapacity, std::max<std::size_t>(8, slots_.size() * 2));
  std::vector<VoiceFrame> bigger(size);
  for (std::size_t i = 0; i < count_; ++i) bigger[i] = at(i);
  slots_ = std::move(bigger);
  head_ = 0;
}

void JitterBuffer::dropHead() {
  head_ = (head_ + 1) & (slots_.size() - 1);
  --count_;
}

void JitterBuffer::put(std::uint32_t timestamp, std::uint32_t format, const std::uint8_t* data,
                       std::size_t len) {
  ++stats_.received;
  if (havePlayed_ && !before(lastPlayed_, timestamp)) {
    ++stats_.late;
    return;
  }
  // Find the insertion point from the back: frames nearly always arrive in order.
  std::size_t pos = count_;
  while (pos > 0) {
    const VoiceFrame& prev = at(pos - 1);
    if (prev.timestamp == timestamp) {
      ++stats_.duplicates;
      return;
    }
    if (before(prev.timestamp, timestamp)) break;
    --pos;
  }
  if (count_ == slots_.size() && slots_.size() < kCapacity) grow();
  if (count_ == kCapacity) {
    ++stats_.overflows;
    if (pos == 0) return;  // older than everything we hold: drop the newcomer
    dropHead();
    --pos;
  }
  for (std::size_t i = count_; i > pos; --i) at(i) = at(i - 1);
  VoiceFrame& f = at(pos);
  f.timestamp = timestamp;
  f.format = format;
  f.len = std::min(len, f.data.size());
  if (f.len) std::memcpy(f.data.data(), data, f.len);
  f.quiet = quiet_ == nullptr || quiet_(format, f.data.data(), f.len);
  ++count_;
}

const VoiceFrame* JitterBuffer::pop() {
  if (!playing_) {
    if (count_ < prefill_) return nullptr;
    playing_ = true;
    minLevel_ = kCapacity;
    windowPops_ = 0;
  }
  if (count_ == 0) {
    ++stats_.underruns;
    playing_ = false;
    return nullptr;
  }
  // A far-end clock running fast fills us up slowly and for good: when even the lowest level of
  // a whole window stayed above the target, the frames that were never needed go. A burst
  // drains by itself and costs nothing.
  minLevel_ = std::min(minLevel_, count_);
  if (++windowPops_ >= kDriftWindow) {
    // 160 ms above the target for a whole window: drift (100 ppm takes half an hour to get
    // there) or a stall that left its delay behind.
    if (minLevel_ > prefill_ + kDriftSlack) trimDebt_ = minLevel_ - (prefill_ + 1);
    minLevel_ = kCapacity;
    windowPops_ = 0;
  }
  // The excess goes where the far end was silent: dropping quiet frames shortens a pause, never
  // a modem signal.
  while (trimDebt_ > 0 && count_ > prefill_ && at(0).quiet) {
    dropHead();
    --trimDebt_;
    ++stats_.overflows;
  }
  // The slot stays untouched until the next put(): no copy of the frame.
  const VoiceFrame* out = &at(0);
  dropHead();
  lastPlayed_ = out->timestamp;
  havePlayed_ = true;
  ++stats_.played;
  return out;
}

void JitterBuffer::reset() {
  head_ = count_ = 0;
  playing_ = havePlayed_ = false;
  minLevel_ = kCapacity;
  windowPops_ = 0;
  trimDebt_ = 0;
  lastPlayed_ = 0;
}

}  // namespace vfax::trunks::iax2
