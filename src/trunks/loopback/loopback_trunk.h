#pragma once
// The loopback trunk connects two of vfax's own lines in-process: dialling an own extension
// makes an inbound call on the same installation. Audio passes through G.711 (as on a real
// trunk), or T.38 IFP packets pass unchanged. Media sent in one tick is delivered to the other
// leg at the start of the next tick.
#include <deque>
#include <memory>
#include <vector>

#include "codec/g711.h"
#include "reactor/event_loop.h"
#include "trunks/trunk.h"

namespace vfax::trunks {

struct LoopbackOptions {
  MediaKind media = MediaKind::Audio;
  codec::G711Law law = codec::G711Law::Alaw;
};

class LoopbackLeg;

class LoopbackTrunk final : public Trunk, public TickListener {
 public:
  LoopbackTrunk(EventLoop& loop, LoopbackOptions options);
  ~LoopbackTrunk() override;

  std::string name() const override { return "loopback"; }
  core::Result<void> start(TrunkEvents& events) override;
  void stop() override;
  core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                           CallHandler& handler) override;

  // TickListener: delivers the media queued in the previous tick.
  void onTick() override;
  /// Busy while media flows; ringing calls wait for a decision without spinning the loop.
  bool busy() const override;

  const LoopbackOptions& options() const { return options_; }
  EventLoop& loop() { return loop_; }

 private:
  EventLoop& loop_;
  LoopbackOptions options_;
  TrunkEvents* events_ = nullptr;
  bool registered_ = false;
  std::vector<std::weak_ptr<LoopbackLeg>> legs_;
};

}  // namespace vfax::trunks
