#pragma once
// A jitter buffer for one call's received voice: frames are kept in timestamp order (reordering
// and duplicates absorbed), playout starts after `prefill` frames and takes one frame per 20 ms
// tick. Fax modems survive delay but not gaps, so a burst (a stalled sender catching up, or our
// own loop stalled while frames queued) is kept whole, up to `kCapacity` frames (2.56 s: the
// reactor's media catch-up, kMediaCatchUpTicks, plus prefill). Only drift (the far end's clock
// running faster than ours, a level that stays high for a whole window) drops frames, and only
// quiet ones (as the classifier given at construction says): a modem signal is never cut; the
// extra delay waits for the next pause between two T.30 signals. When the far clock runs
// slower, playout pauses (underrun) and refills.
// Storage grows with the level (most calls never hold more than a few frames) and is reused;
// no allocation and no frame copy per frame once grown.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vfax::trunks::iax2 {

struct VoiceFrame {
  std::uint32_t timestamp = 0;
  std::uint32_t format = 0;
  std::size_t len = 0;
  bool quiet = false;                    // silence: may be dropped to cut drift
  std::array<std::uint8_t, 960> data{};  // 60 ms of slinear at most
};

struct JitterStats {
  std::uint64_t received = 0;
  std::uint64_t played = 0;
  std::uint64_t late = 0;  // arrived after their slot was played
  std::uint64_t duplicates = 0;
  std::uint64_t overflows = 0;  // dropped because the buffer was full or drift trimmed it
  std::uint64_t underruns = 0;
};

class JitterBuffer {
 public:
  static constexpr std::size_t kCapacity = 128;  // 2.56 s; a power of two
  static_assert((kCapacity & (kCapacity - 1)) == 0);
  static constexpr int kDriftWindow = 250;       // pops (5 s)
  static constexpr std::size_t kDriftSlack = 8;  // frames above the target before a trim
  /// Says whether a frame is silence (format and payload as given to put()). Without one, every
  /// frame may be dropped to cut drift.
  using QuietFn = bool (*)(std::uint32_t format, const std::uint8_t* data, std::size_t len);
  explicit JitterBuffer(std::size_t prefill = 3, QuietFn quiet = nullptr)
      : prefill_(prefill < 1 ? 1 : prefill), quiet_(quiet) {}

  /// Adds a frame; `timestamp` is the call's 32-bit ms timestamp (already unwrapped).
  void put(std::uint32_t timestamp, std::uint32_t format, const std::uint8_t* data,
           std::size_t len);
  /// The next frame to play this tick, or nullptr (prefilling or underrun). The pointer is
  /// valid until the next put()/pop().
  const VoiceFrame* pop();
  std::size_t size() const { return count_; }
  /// Frames of storage held (grows with the level, kept until the buffer is destroyed).
  std::size_t slots() const { return slots_.size(); }
  const JitterStats& stats() const { return stats_; }
  void reset();

 private:
  static bool before(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(a - b) < 0;
  }
  // Sizes are powers of two: the ring index is a mask, not a division, once per frame.
  VoiceFrame& at(std::size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  void grow();
  void dropHead();

  std::size_t prefill_;
  QuietFn quiet_;
  std::vector<VoiceFrame> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool playing_ = false;
  bool havePlayed_ = false;
  std::uint32_t lastPlayed_ = 0;
  std::size_t minLevel_ = kCapacity;  // lowest level seen in the current drift window
  int windowPops_ = 0;
  std::size_t trimDebt_ = 0;  // frames of drift still to drop, at the next quiet frames
  JitterStats stats_;
};

}  // namespace vfax::trunks::iax2
