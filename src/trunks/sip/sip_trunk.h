#pragma once
// SipTrunk: SIP (RFC 3261) with G.711 over RTP and T.38 over UDPTL as a trunks::Trunk.
//
// Two halves on two threads. Signalling (sip_signalling.h) runs libre on the trunk's own SIP
// thread (sip_thread.h). Media runs here, on the telephony reactor like every other trunk: each
// call has two UDP sockets from the `rtp_ports` range (RTP, and UDPTL for T.38, opened before
// the first SDP so that a switch never waits for a port), a jitter buffer for received audio, a
// UDPTL sender/receiver with redundancy or FEC, and a 20 ms media timer on the loop's grid.
// RTP and UDPTL are symmetric: we send to the address the far end actually sends from once we
// hear it. The halves exchange plain messages by call id (sip_internal.h); no lock is taken per
// media frame.
//
// Trunk methods run on the loop thread; reconfigure() and status() on any thread.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "reactor/event_loop.h"
#include "trunks/sip/sip_config.h"
#include "trunks/sip/sip_internal.h"
#include "trunks/sip/sip_thread.h"
#include "trunks/trunk.h"

namespace vfax::trunks::sip {

class Signalling;
class SipCall;

class SipTrunk final : public Trunk, public SipTrunkControl, public SignallingEvents {
 public:
  SipTrunk(reactor::EventLoop& loop, SipConfig config);
  ~SipTrunk() override;

  std::string name() const override { return "sip"; }
  core::Result<void> start(TrunkEvents& events) override;
  void stop(std::function<void()> done) override;
  core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                           CallHandler& handler) override;

  // SipTrunkControl (any thread)
  void reconfigure(SipConfig config) override;
  SipStatus status() override;

  /// The port of the first listener of `transport` (after start(); tests listen on port 0).
  int boundPort(SipTransport transport);

  // For SipCall (loop thread).
  reactor::EventLoop& loop() { return loop_; }
  void callAnswer(SipCall& call);
  void callReject(SipCall& call, const HangupCause& cause);
  void callHangup(SipCall& call, const HangupCause& cause);
  void callRequestT38(SipCall& call);
  void callEnded(SipCall& call);
  /// Adds an ended call's media counters to the totals status() reports.
  void addMediaStats(const SipMediaStats& media);

 private:
  // SignallingEvents (SIP thread): each posts to the loop.
  void sigInbound(std::uint64_t id, CallInfo info, RemoteMedia media) override;
  void sigAnswered(std::uint64_t id, RemoteMedia media) override;
  void sigMedia(std::uint64_t id, RemoteMedia media) override;
  void sigEnded(std::uint64_t id, HangupCause cause) override;
  void sigState(bool up, std::string reason) override;

  /// Runs `fn` on the loop unless the trunk is gone by then.
  void toLoop(std::function<void()> fn);
  /// Runs `fn(signalling)` on the SIP thread while signalling exists.
  void toSip(std::function<void(Signalling&)> fn);
  std::shared_ptr<SipCall> find(std::uint64_t id);
  core::Result<std::shared_ptr<SipCall>> makeCall(std::uint64_t id, CallInfo info);

  reactor::EventLoop& loop_;
  SipConfig config_;
  SipThread thread_;
  std::unique_ptr<Signalling> signalling_;  // made, used and destroyed on the SIP thread
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  TrunkEvents* events_ = nullptr;
  bool stopping_ = false;

  // Media counters of ended calls: written on the loop thread, read by status() on any thread.
  std::mutex mediaMutex_;
  SipMediaStats media_;

  // Loop thread.
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::shared_ptr<SipCall>> calls_;
  int nextPort_ = 0;
  std::string mediaBind_;  // address media sockets bind to
};

}  // namespace vfax::trunks::sip
