#pragma once
// Trunk and Call: what a PBX protocol (IAX2, SIP, the in-process loopback) looks like to vfax.
//
// Threading: every Trunk and Call method is called on the telephony reactor thread
// (reactor/event_loop.h), and every CallHandler / TrunkEvents callback arrives on it. A trunk
// registers its own sockets and timers with that loop and paces each call's media itself: a
// 20 ms timer on the wall clock for network trunks, as fast as the CPU allows for non-realtime
// loopback calls. Each media tick delivers the received frame (onAudio/onT38) and then asks the
// fax side for the next one (onMediaTick). Nothing on the per-frame path takes a lock.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace vfax::trunks {

/// What a call carries: 8 kHz linear audio (after G.711 decode) or T.38 IFP packets.
enum class MediaKind { Audio, T38 };
enum class CallDirection { Inbound, Outbound };

/// Why a call ended or was refused. `code` is the Q.850 cause value, as IAX2 and SIP carry it.
/// `Unavailable`: no call was placed at all (the far end never answered our request, the trunk
/// is not bound, ...): temporary trouble, retried without spending a send attempt.
enum class HangupReason {
  Normal,
  Busy,
  NoAnswer,
  Rejected,
  Unreachable,
  Failure,
  Canceled,
  Unavailable
};
struct HangupCause {
  HangupReason reason = HangupReason::Normal;
  int code = 16;  // Q.850 16: normal clearing
  std::string text;
};
HangupCause busyCause();
HangupCause normalCause(std::string text = "normal clearing");

struct CallInfo {
  std::string trunk;  // "loopback", "iax2:peer", ...
  CallDirection direction = CallDirection::Outbound;
  std::string calledNumber;
  std::string callerNumber;
  std::string callerName;
  MediaKind media = MediaKind::Audio;
  /// The audio codec as the trunk negotiated it ("PCMA", "PCMU", "slinear"); empty: none.
  std::string codec;
};

/// The owner's side of a call (the telephony layer). All on the loop thread.
class CallHandler {
 public:
  virtual ~CallHandler() = default;
  /// Outbound: the far end answered; media flows from now on.
  virtual void onAnswered() = 0;
  /// One frame of received audio, 8 kHz linear.
  virtual void onAudio(const std::int16_t* samples, std::size_t n) = 0;
  /// One received T.38 IFP packet with its transport sequence number.
  virtual void onT38(const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) = 0;
  /// Time to send this call's next 20 ms of media (call sendAudio/sendT38 now). Comes once per
  /// media tick while the call is answered, after that tick's received frame was delivered.
  virtual void onMediaTick() = 0;
  /// The media switched (SIP re-INVITE to T.38, sent by us or by the far end). From the next
  /// media tick on, the call carries `media`. Trunks without switching never call it.
  virtual void onMediaChanged(MediaKind media) { (void)media; }
  /// The far end hung up, rejected, or the call failed. No callback follows.
  virtual void onHangup(const HangupCause& cause) = 0;
};

class Call {
 public:
  virtual ~Call() = default;
  virtual const CallInfo& info() const = 0;
  virtual MediaKind media() const = 0;
  /// Set once by the owner before any callback can arrive (dial() sets it for outbound calls).
  virtual void setHandler(CallHandler* handler) = 0;
  /// Inbound: take the call.
  virtual void answer() = 0;
  /// Inbound: refuse the call (busy, rejected).
  virtual void reject(const HangupCause& cause) = 0;
  /// Either side: end the call. The handler gets no onHangup for our own hangup.
  virtual void hangup(const HangupCause& cause) = 0;
  /// One frame of audio to send, 8 kHz linear (the trunk encodes G.711). Dropped unless
  /// answered.
  virtual void sendAudio(const std::int16_t* samples, std::size_t n) = 0;
  /// One T.38 IFP packet to send (the trunk adds UDPTL sequence numbers and redundancy).
  virtual void sendT38(const std::uint8_t* ifp, std::size_t len) = 0;
  virtual bool ended() const = 0;
  /// Answered audio call: the fax side heard fax tones (or wants T.38 at once); asks the trunk
  /// to switch the call to T.38 (SIP: a re-INVITE). The trunk decides by its settings and its
  /// memory of the destination; a switch is reported through CallHandler::onMediaChanged, a
  /// refusal (488/415) keeps the call in audio with no callback. False: this trunk or call
  /// cannot switch (the default).
  virtual bool requestT38() { return false; }
};

struct DialRequest {
  std::string number;  // dial string / extension
  std::string callerNumber;
  std::string callerName;
  /// Which of the trunk's ways out to take (SIP: a peer or registration name); empty: the
  /// trunk's default. Set by the outbound route that picked this trunk.
  std::string route;
};

class TrunkEvents {
 public:
  virtual ~TrunkEvents() = default;
  /// A new inbound call, not answered yet. The owner sets its handler at once and later
  /// answers or rejects it.
  virtual void onInboundCall(std::shared_ptr<Call> call) = 0;
  /// The trunk became usable or not (a port it cannot bind, ...); `reason` says why not.
  virtual void onTrunkState(const std::string& trunk, bool up, const std::string& reason) {
    (void)trunk;
    (void)up;
    (void)reason;
  }
};

/// dial() error codes that mean temporary trouble (no call was placed; try again later):
/// peer_unreachable, congestion, trunk_stopped, resolving.
bool isTemporaryDialError(const std::string& code);

class Trunk {
 public:
  virtual ~Trunk() = default;
  virtual std::string name() const = 0;
  /// On the loop thread: open sockets, register, start announcing inbound calls. A trunk that
  /// cannot bind yet keeps trying by itself and reports it through TrunkEvents::onTrunkState; an
  /// error here means a configuration that can never work.
  virtual core::Result<void> start(TrunkEvents& events) = 0;
  /// On the loop thread: hang up what is left, release registrations, close sockets; `done`
  /// runs (on the loop thread) once finished. Never sleeps: waits are loop timers, bounded by
  /// the trunk (well under a second).
  virtual void stop(std::function<void()> done) = 0;
  /// Starts an outbound call; progress arrives through `handler` (onAnswered or onHangup).
  virtual core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                                   CallHandler& handler) = 0;
};

}  // namespace vfax::trunks
