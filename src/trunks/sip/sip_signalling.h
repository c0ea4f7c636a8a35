#pragma once
// Signalling: the SIP half of the SIP trunk, on the SIP thread (sip_thread.h), over libre 1.1.0:
// the SIP stack with its UDP/TCP/TLS transports, sessions (sipsess: INVITE, re-INVITE, BYE,
// 491 glare back-off), registrations (sipreg: digest, refresh, retry; a backup registrar),
// OPTIONS keep-alive to peers, SDP offer/answer (sdp) for G.711 and T.38 (m=image udptl t38),
// and the gate in front of it all: INVITEs only from configured peers (by source address,
// and/or digest) or through our registrations; unknown sources get a stateless, throttled 403
// (INVITE) or nothing at all (everything else), so a scanner costs bounded state and never gets
// more bytes back than it sent.
//
// Every method runs on the SIP thread. Media never passes here: the media half (SipTrunk on the
// telephony reactor) opens the RTP/UDPTL sockets and tells us their ports; we tell it where the
// far end's media goes (SignallingEvents).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "trunks/sip/sip_config.h"
#include "trunks/sip/sip_internal.h"

namespace vfax::trunks::sip {

class Signalling {
 public:
  Signalling(SignallingEvents& events, SipConfig config);
  ~Signalling();
  Signalling(const Signalling&) = delete;
  Signalling& operator=(const Signalling&) = delete;

  /// Opens the listeners and starts registrations and keep-alives. A listener that cannot be
  /// opened is reported (sigState) and retried; registrations run anyway.
  void start();
  /// Ends every call (BYE/CANCEL), releases registrations, closes the stack; `done` runs once
  /// the stack finished (at most `budgetMs` later).
  void stop(int budgetMs, std::function<void()> done);
  void reconfigure(SipConfig config);

  /// Outbound call: `route` names a peer or registration ("" = the configured outbound).
  void dial(std::uint64_t id, DialRequest request, std::string route, LocalMedia local);
  void answer(std::uint64_t id, LocalMedia local);
  void reject(std::uint64_t id, HangupCause cause);
  void hangup(std::uint64_t id, HangupCause cause);
  /// Asks for T.38 (a re-INVITE) if the settings and the destination allow it.
  void requestT38(std::uint64_t id);

  SipStatus status() const;
  /// The local port of the first listener of `transport` (after start()); 0 if none.
  int boundPort(SipTransport transport) const;

 private:
  // In sip_signalling_impl.h.
  struct Call;
  struct Registration;
  struct Peer;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vfax::trunks::sip
