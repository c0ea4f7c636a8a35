#pragma once
// The loopback trunk connects two of vfax's own lines in-process: dialling an own extension
// makes an inbound call on the same installation. Audio passes through G.711 (as on a real
// trunk), or T.38 IFP packets pass unchanged. Each call's two legs share one media pacer: a tick
// delivers what each leg sent in the previous tick, then asks both for their next frame. In real
// time the pacer is a 20 ms timer on the wall clock; with `realtime = false` (tests, benchmarks)
// it runs as fast as the CPU allows, as deferred work that leaves the loop responsive. That is a
// property of loopback calls only: network trunks always run on the wall clock.
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
  bool realtime = true;
  /// Calls start in audio; a leg's requestT38() switches both legs to T.38 (each handler gets
  /// onMediaChanged(T38) on the next tick), as a SIP trunk does on a T.38 re-INVITE. Only with
  /// media = Audio.
  bool switchToT38 = false;
};

class LoopbackLeg;
struct LoopbackPair;

class LoopbackTrunk final : public Trunk {
 public:
  LoopbackTrunk(reactor::EventLoop& loop, LoopbackOptions options);
  ~LoopbackTrunk() override;

  std::string name() const override { return "loopback"; }
  core::Result<void> start(TrunkEvents& events) override;
  void stop(std::function<void()> done) override;
  core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                           CallHandler& handler) override;

  const LoopbackOptions& options() const { return options_; }
  reactor::EventLoop& loop() { return loop_; }
  /// Starts the media pacer of an answered call.
  void startMedia(const std::shared_ptr<LoopbackPair>& pair);
  /// The far end re-negotiates: every answered call switches to `media` on its next tick (a
  /// no-op for calls that carry it already). Whatever the options say; for tests of late
  /// switches in both directions.
  void switchCalls(MediaKind media);

 private:
  void tick(const std::shared_ptr<LoopbackPair>& pair);

  reactor::EventLoop& loop_;
  LoopbackOptions options_;
  TrunkEvents* events_ = nullptr;
  std::vector<std::weak_ptr<LoopbackLeg>> legs_;
};

}  // namespace vfax::trunks
