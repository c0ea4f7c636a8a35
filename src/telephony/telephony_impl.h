#pragma once
// TelephonyImpl: core::Telephony over the trunks and the fax engine. One telephony event loop
// thread owns every call and its FaxSession; the public methods only post work to it.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include "core/clock.h"
#include "core/telephony.h"
#include "codec/g711.h"
#include "reactor/event_loop.h"
#include "trunks/loopback/loopback_trunk.h"
#include "trunks/trunk.h"

namespace vfax::telephony {

struct TelephonyOptions {
  /// false: calls run as fast as the CPU allows (tests); true: on the 20 ms wall-clock grid.
  bool realtime = true;
  trunks::MediaKind loopbackMedia = trunks::MediaKind::Audio;
  codec::G711Law loopbackLaw = codec::G711Law::Alaw;
  /// A fax session with no T.30 progress for this long is ended (far end silent).
  int noProgressTimeoutMs = 60'000;
  int maxCallDurationMs = 30 * 60'000;
  /// An outbound call not answered within this time ends with NoAnswer.
  int ringTimeoutMs = 60'000;
  /// After our fax session ends, the call stays up this long so our last frames reach the far
  /// end before we hang up.
  int lingerMs = 1'000;
  bool protocolLog = false;
};

class CallContext;

class TelephonyImpl final : public core::Telephony,
                            private trunks::TickListener,
                            private trunks::TrunkEvents {
 public:
  explicit TelephonyImpl(TelephonyOptions options, const core::Clock* clock = nullptr);
  ~TelephonyImpl() override;
  TelephonyImpl(const TelephonyImpl&) = delete;
  TelephonyImpl& operator=(const TelephonyImpl&) = delete;

  /// The trunk for external numbers (IAX2 or SIP). Before start(). Without one, external calls
  /// fail with LocalError.
  void setExternalTrunk(std::unique_ptr<trunks::Trunk> trunk);

  // core::Telephony
  void setEvents(core::CallEvents* events) override;
  void start() override;
  void stop() override;
  void placeCall(const core::OutboundCall& call) override;
  void hangup(std::int64_t faxId) override;
  int activeCalls() const override { return active_.load(); }
  std::vector<core::TrunkStatus> trunkStatus() const override;

  /// The loop's tick statistics (lateness on the 20 ms grid), for metrics and benchmarks.
  trunks::EventLoopStats loopStats() const { return loop_->stats(); }
  trunks::EventLoop& loop() { return *loop_; }

 private:
  friend class CallContext;

  // trunks::TickListener
  void onTick() override;
  bool busy() const override;
  // trunks::TrunkEvents
  void onInboundCall(std::shared_ptr<trunks::Call> call) override;

  void doPlaceCall(const core::OutboundCall& call);
  void doHangup(std::int64_t faxId);
  void onDecision(std::uint64_t id, core::InboundDecision decision);
  CallContext* findByFax(std::int64_t faxId);
  void scheduleSweep();
  void sweep();
  void updateActive();

  TelephonyOptions options_;
  core::SystemClock systemClock_;
  const core::Clock& clock_;
  core::CallEvents* events_ = nullptr;
  std::shared_ptr<trunks::EventLoop> loop_;  // shared: decide() callbacks may outlive us
  std::unique_ptr<trunks::LoopbackTrunk> loopback_;
  std::unique_ptr<trunks::Trunk> external_;
  bool started_ = false;
  std::atomic<bool> stopped_{false};  // read by placeCall on other threads
  bool sweepPending_ = false;

  // Loop thread only.
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::unique_ptr<CallContext>> calls_;
  std::atomic<int> active_{0};
};

}  // namespace vfax::telephony
