#pragma once
// What the two halves of the SIP trunk tell each other. The signalling half (sip_signalling.h)
// lives on the SIP thread (libre); the media half (sip_trunk.h: SipTrunk, SipCall) on the
// telephony reactor. They share no objects: every message names a call by its id and carries
// plain values, so a message about a call the other side already forgot is simply ignored.
#include <cstdint>
#include <string>

#include "reactor/sock_addr.h"
#include "trunks/sip/sip_config.h"
#include "trunks/sip/t38_params.h"
#include "trunks/trunk.h"

namespace vfax::trunks::sip {

/// Static RTP payload types of G.711 (RFC 3551).
inline constexpr int kPtPcmu = 0;
inline constexpr int kPtPcma = 8;

/// The far end's media as the last SDP exchange left it.
struct RemoteMedia {
  MediaKind kind = MediaKind::Audio;
  reactor::SockAddr audio;  // RTP destination (kind Audio)
  int payloadType = kPtPcma;
  reactor::SockAddr image;  // UDPTL destination (kind T38)
  T38Params t38;            // what we send with (effectiveT38 of the exchange)
};

/// Our media ports for a call (opened by the media half before it asks for an SDP).
struct LocalMedia {
  int rtpPort = 0;
  int udptlPort = 0;
};

/// The media half's side of the conversation (called on the SIP thread; implementations post
/// to the reactor).
class SignallingEvents {
 public:
  virtual ~SignallingEvents() = default;
  /// A new inbound call passed the source and digest checks and its offer is usable.
  virtual void sigInbound(std::uint64_t id, CallInfo info, RemoteMedia media) = 0;
  /// Outbound: the far end answered (2xx with an SDP answer).
  virtual void sigAnswered(std::uint64_t id, RemoteMedia media) = 0;
  /// Media renegotiated (T.38 switch either way, or a new address/port).
  virtual void sigMedia(std::uint64_t id, RemoteMedia media) = 0;
  /// The call ended (far end, failure, or refused before an answer). No event follows.
  virtual void sigEnded(std::uint64_t id, HangupCause cause) = 0;
  /// The trunk's listeners: all open (true) or why not.
  virtual void sigState(bool up, std::string reason) = 0;
};

}  // namespace vfax::trunks::sip
