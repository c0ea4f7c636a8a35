#pragma once
// TelephonyImpl: core::Telephony over the trunks and the fax engine. One reactor thread
// (reactor/event_loop.h) owns every trunk, call and FaxSession; the public methods only post
// work to it. Each call's media is paced by its trunk (CallHandler::onMediaTick).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/g711.h"
#include "core/clock.h"
#include "core/telephony.h"
#include "reactor/event_loop.h"
#include "trunks/loopback/loopback_trunk.h"
#include "trunks/trunk.h"

namespace vfax::telephony {

struct TelephonyOptions {
  /// Loopback calls only: false runs them as fast as the CPU allows (tests); true on the 20 ms
  /// wall-clock grid. Network trunks always run in real time.
  bool realtime = true;
  trunks::MediaKind loopbackMedia = trunks::MediaKind::Audio;
  codec::G711Law loopbackLaw = codec::G711Law::Alaw;
  /// Loopback calls start in audio and switch to T.38 once a side hears fax tones.
  bool loopbackSwitchToT38 = false;
  /// A fax session with no T.30 progress for this long is ended (far end silent).
  int noProgressTimeoutMs = 60'000;
  int maxCallDurationMs = 30 * 60'000;
  /// An outbound call not answered within this time ends with NoAnswer.
  int ringTimeoutMs = 60'000;
  /// After our fax session ends, the call stays up this long (in media ticks) so our last
  /// frames reach the far end before we hang up.
  int lingerMs = 1'000;
  /// How long stop() waits for the trunks to release calls and registrations.
  int stopBudgetMs = 1'500;
  bool protocolLog = false;
  /// The reactor's clock (tests); null: the steady clock.
  const reactor::MonoClock* loopClock = nullptr;
};

class CallContext;

/// An outbound route: dial strings starting with `prefix` ("" matches all) go to `trunk`:
/// "iax2", "sip", or "sip:NAME" (a SIP peer or registration).
struct OutboundRoute {
  std::string prefix;
  std::string trunk;
};

class TelephonyImpl final : public core::Telephony, private trunks::TrunkEvents {
 public:
  explicit TelephonyImpl(TelephonyOptions options, const core::Clock* clock = nullptr);
  ~TelephonyImpl() override;
  TelephonyImpl(const TelephonyImpl&) = delete;
  TelephonyImpl& operator=(const TelephonyImpl&) = delete;

  /// A trunk for external numbers (IAX2, SIP). Before start(); several may be added (each with
  /// its own name()). Without one, external calls fail with LocalError (a configuration without
  /// a trunk cannot reach them).
  void setExternalTrunk(std::unique_ptr<trunks::Trunk> trunk);
  /// Outbound routes across the external trunks. Before start().
  void setRoutes(std::vector<OutboundRoute> routes) { routes_ = std::move(routes); }
  /// Which trunk (and which of its ways out) a dial string goes to: the longest matching route
  /// prefix; without routes, the first trunk added. Null trunk: no route matches (`why`).
  struct RouteChoice {
    trunks::Trunk* trunk = nullptr;
    std::string way;  // DialRequest::route
    std::string why;
  };
  RouteChoice route(const std::string& dialString) const;

  // core::Telephony
  void setEvents(core::CallEvents* events) override;
  /// Starts the loop and the trunks; returns once they tried to bind.
  void start() override;
  /// Hangs up every call (each reported finished), stops the trunks (bounded) and the loop.
  void stop() override;
  void placeCall(const core::OutboundCall& call) override;
  void hangup(std::int64_t faxId) override;
  int activeCalls() const override { return active_.load(); }
  std::vector<core::TrunkStatus> trunkStatus() const override;
  core::MediaStats mediaStats() const override;
  std::vector<core::CallStatus> callStatus() const override;
  std::uint64_t callStatusVersion() const override { return callsVersion_.load(); }

  /// The loop's media tick statistics (lateness on the 20 ms grid), for metrics and benchmarks.
  reactor::EventLoopStats loopStats() const { return loop_->stats(); }
  reactor::EventLoop& loop() { return *loop_; }
  /// The in-process trunk (loop thread only), e.g. for tests that switch calls' media.
  trunks::LoopbackTrunk& loopback() { return *loopback_; }

 private:
  friend class CallContext;

  // trunks::TrunkEvents
  void onInboundCall(std::shared_ptr<trunks::Call> call) override;
  void onTrunkState(const std::string& trunk, bool up, const std::string& reason) override;

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
  std::shared_ptr<reactor::EventLoop> loop_;  // shared: decide() callbacks may outlive us
  std::unique_ptr<trunks::LoopbackTrunk> loopback_;
  std::vector<std::unique_ptr<trunks::Trunk>> externals_;
  std::vector<OutboundRoute> routes_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};  // read by placeCall on other threads
  bool sweepPending_ = false;

  // Loop thread only.
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::unique_ptr<CallContext>> calls_;
  std::map<std::int64_t, CallContext*> byFax_;
  std::atomic<int> active_{0};

  // Published by the loop for other threads.
  mutable std::mutex statusMutex_;
  std::vector<core::TrunkStatus> status_;
  std::vector<core::CallStatus> callSnapshot_;
  std::atomic<std::uint64_t> callsVersion_{0};
};

}  // namespace vfax::telephony
