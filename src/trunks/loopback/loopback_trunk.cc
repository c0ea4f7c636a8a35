#include "trunks/loopback/loopback_trunk.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace vfax::trunks {

using reactor::kSamplesPerTick;
using reactor::kTickMs;

/// The two legs of one loopback call and their shared media clock.
struct LoopbackPair {
  std::weak_ptr<LoopbackLeg> a;  // the caller
  std::weak_ptr<LoopbackLeg> b;
  reactor::TimerId timer = 0;
  bool running = false;
  std::optional<MediaKind> switchTo;  // applied at the start of the next tick
};

/// One side of a loopback call. The other side is its peer; each holds its own inbox.
class LoopbackLeg final : public Call, public std::enable_shared_from_this<LoopbackLeg> {
 public:
  LoopbackLeg(LoopbackTrunk& trunk, CallInfo info) : trunk_(trunk), info_(std::move(info)) {}

  const CallInfo& info() const override { return info_; }
  MediaKind media() const override { return info_.media; }
  void setHandler(CallHandler* handler) override { handler_ = handler; }
  bool ended() const override { return ended_; }
  bool mediaFlowing() const { return (answered_ && !ended_) || !inbox_.empty(); }

  void answer() override {
    if (ended_ || answered_) return;
    answered_ = true;
    auto peer = peer_.lock();
    if (!peer || peer->ended_) return;
    peer->answered_ = true;
    if (pair_) trunk_.startMedia(pair_);
    trunk_.loop().post([weak = peer_] {
      if (auto p = weak.lock(); p && !p->ended_ && p->handler_) p->handler_->onAnswered();
    });
  }

  bool requestT38() override {
    if (!trunk_.options().switchToT38 || ended_ || !answered_ || !pair_) return false;
    if (info_.media == MediaKind::T38) return false;
    pair_->switchTo = MediaKind::T38;
    return true;
  }

  /// Both legs switch together (LoopbackTrunk::tick): frames of the old media still in flight
  /// are dropped, as a re-INVITE's new media stream starts empty.
  void setMedia(MediaKind media) {
    info_.media = media;
    if (media == MediaKind::Audio && info_.codec.empty()) {
      info_.codec = trunk_.options().law == codec::G711Law::Alaw ? "PCMA" : "PCMU";
    }
    inbox_.clear();
  }
  void mediaChanged() {
    if (answered_ && !ended_ && handler_) handler_->onMediaChanged(info_.media);
  }
  bool answered() const { return answered_; }
  void requestSwitch(MediaKind media) {
    if (pair_) pair_->switchTo = media;
  }

  void reject(const HangupCause& cause) override { end(cause); }
  void hangup(const HangupCause& cause) override { end(cause); }

  void sendAudio(const std::int16_t* samples, std::size_t n) override {
    if (ended_ || !answered_) return;
    auto peer = peer_.lock();
    if (!peer || peer->ended_) return;
    Frame& f = peer->inbox_.emplace_back();
    f.len = std::min(n, f.data.size());
    codec::g711Encode(trunk_.options().law, samples, f.len, f.data.data());
  }

  void sendT38(const std::uint8_t* ifp, std::size_t len) override {
    if (ended_ || !answered_) return;
    auto peer = peer_.lock();
    if (!peer || peer->ended_) return;
    Frame& f = peer->inbox_.emplace_back();
    f.seq = txSeq_++;
    if (len <= f.data.size()) {
      std::memcpy(f.data.data(), ifp, len);
      f.len = len;
    } else {
      f.big.assign(ifp, ifp + len);
    }
  }

  /// Hands the frames of the previous tick to the handler.
  void deliver() {
    std::int16_t pcm[kSamplesPerTick * 4];
    while (!inbox_.empty() && !ended_ && handler_) {
      // Copied out first: the handler may queue to us again (or end the call) meanwhile.
      Frame f = std::move(inbox_.front());
      inbox_.pop_front();
      if (info_.media == MediaKind::Audio) {
        std::size_t n = std::min(f.len, sizeof(pcm) / sizeof(pcm[0]));
        codec::g711Decode(trunk_.options().law, f.data.data(), n, pcm);
        handler_->onAudio(pcm, n);
      } else if (f.big.empty()) {
        handler_->onT38(f.data.data(), f.len, f.seq);
      } else {
        handler_->onT38(f.big.data(), f.big.size(), f.seq);
      }
    }
  }

  /// Asks the handler for this tick's frame.
  void mediaTick() {
    if (answered_ && !ended_ && handler_) handler_->onMediaTick();
  }

  void setPeer(const std::shared_ptr<LoopbackLeg>& peer) { peer_ = peer; }
  void setPair(const std::shared_ptr<LoopbackPair>& pair) { pair_ = pair; }

 private:
  // Fixed-size, so that the per-frame path does not allocate (the deque reuses its blocks).
  struct Frame {
    std::array<std::uint8_t, 400> data;
    std::size_t len = 0;
    std::uint16_t seq = 0;
    std::vector<std::uint8_t> big;  // rare IFP packets larger than `data`
  };

  void end(const HangupCause& cause) {
    if (ended_) return;
    ended_ = true;
    inbox_.clear();
    auto peer = peer_.lock();
    if (!peer || peer->ended_) return;
    peer->ended_ = true;
    peer->inbox_.clear();
    // Deferred, so that the far side never runs inside our own caller's stack.
    trunk_.loop().post([peer, cause] {
      if (peer->handler_) peer->handler_->onHangup(cause);
    });
  }

  LoopbackTrunk& trunk_;
  CallInfo info_;
  CallHandler* handler_ = nullptr;
  std::weak_ptr<LoopbackLeg> peer_;
  std::shared_ptr<LoopbackPair> pair_;  // the pair holds the legs weakly: no cycle
  std::deque<Frame> inbox_;
  bool answered_ = false;
  bool ended_ = false;
  std::uint16_t txSeq_ = 0;
};

LoopbackTrunk::LoopbackTrunk(reactor::EventLoop& loop, LoopbackOptions options)
    : loop_(loop), options_(options) {}

LoopbackTrunk::~LoopbackTrunk() = default;

core::Result<void> LoopbackTrunk::start(TrunkEvents& events) {
  events_ = &events;
  events.onTrunkState(name(), true, {});
  return {};
}

void LoopbackTrunk::stop(std::function<void()> done) {
  for (auto& weak : legs_) {
    if (auto leg = weak.lock()) leg->hangup(normalCause("trunk stopped"));
  }
  legs_.clear();
  events_ = nullptr;
  if (done) done();
}

core::Result<std::shared_ptr<Call>> LoopbackTrunk::dial(const DialRequest& request,
                                                        CallHandler& handler) {
  if (!events_) {
    return core::makeError("trunk_stopped", "The loopback trunk is not running.");
  }
  if (request.number.empty()) {
    return core::makeError("invalid_number", "No extension was given to call.");
  }
  const bool audio = options_.media == MediaKind::Audio;
  CallInfo out{"loopback",
               CallDirection::Outbound,
               request.number,
               request.callerNumber,
               request.callerName,
               options_.media,
               audio ? (options_.law == codec::G711Law::Alaw ? "PCMA" : "PCMU") : ""};
  CallInfo in = out;
  in.direction = CallDirection::Inbound;
  auto a = std::make_shared<LoopbackLeg>(*this, out);
  auto b = std::make_shared<LoopbackLeg>(*this, in);
  auto pair = std::make_shared<LoopbackPair>();
  pair->a = a;
  pair->b = b;
  a->setPeer(b);
  b->setPeer(a);
  a->setPair(pair);
  b->setPair(pair);
  a->setHandler(&handler);
  std::erase_if(legs_, [](const std::weak_ptr<LoopbackLeg>& w) {
    auto leg = w.lock();
    return !leg || leg->ended();
  });
  legs_.push_back(a);
  legs_.push_back(b);
  // The inbound side only exists for the owner once this call returned (as on a real trunk).
  loop_.post([this, weakA = std::weak_ptr<LoopbackLeg>(a), b] {
    auto caller = weakA.lock();
    if (!caller || caller->ended() || !events_) {
      b->hangup(normalCause("caller hung up"));
      return;
    }
    events_->onInboundCall(b);
  });
  return std::shared_ptr<Call>(a);
}

void LoopbackTrunk::startMedia(const std::shared_ptr<LoopbackPair>& pair) {
  if (pair->running) return;
  pair->running = true;
  if (options_.realtime) {
    const std::int64_t period = kTickMs * 1000;
    const std::int64_t first = (loop_.nowUs() / period + 1) * period;
    pair->timer = loop_.every(
        period, first, [this, pair] { tick(pair); }, true);
  } else {
    loop_.defer([this, pair] { tick(pair); });
  }
}

void LoopbackTrunk::switchCalls(MediaKind media) {
  for (auto& weak : legs_) {
    auto leg = weak.lock();
    if (!leg || leg->ended() || !leg->answered()) continue;
    leg->requestSwitch(media);
  }
}

void LoopbackTrunk::tick(const std::shared_ptr<LoopbackPair>& pair) {
  auto a = pair->a.lock();
  auto b = pair->b.lock();
  const bool flowing = (a && a->mediaFlowing()) || (b && b->mediaFlowing());
  if (!flowing) {
    pair->running = false;
    if (pair->timer) loop_.cancel(pair->timer);  // drops the timer's reference to the pair
    return;
  }
  if (pair->switchTo) {
    const MediaKind m = *pair->switchTo;
    pair->switchTo.reset();
    if (a && b && a->media() != m) {
      a->setMedia(m);
      b->setMedia(m);
      a->mediaChanged();
      if (b) b->mediaChanged();
    }
  }
  // Both legs hear the previous tick first, then both speak: as on a wire.
  if (a) a->deliver();
  if (b) b->deliver();
  if (a) a->mediaTick();
  if (b) b->mediaTick();
  if (!options_.realtime) loop_.defer([this, pair] { tick(pair); });
}

}  // namespace vfax::trunks
