#pragma once
// The port between the scheduler (core) and the calls (trunks + fax engine). app/ implements
// Telephony over the trunks and spandsp; core implements CallEvents. Telephony methods may be
// called from any thread and never block; CallEvents methods are called from the telephony
// thread and must not block either (the scheduler posts them to its own thread).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/model.h"

namespace vfax::core {

struct OutboundCall {
  std::int64_t faxId = 0;
  std::string dialString;  // what the trunk dials
  bool internal = false;   // true: an own extension, the loopback trunk connects it
  std::string extension;   // set when internal: the called extension
  std::string tiffPath;    // G4 fax TIFF to send
  std::string tsi;         // our station id (T.30 TSI)
  std::string headerInfo;  // sender name in the page header line
  std::string callerId;    // number presented to the called side
};

/// What the call produced, reported once at the end.
struct CallResult {
  CallOutcome outcome;
  int pages = 0;  // confirmed (sent) or received
  int bitRate = 0;
  bool ecm = false;
  std::string compression;
  std::string remoteId;
  Millis startedAt = 0;
  Millis endedAt = 0;
  /// What the fax data went over in the end (a call may switch from audio to T.38 mid-call).
  FaxMedia media = FaxMedia::Audio;
  /// The audio codec the trunk negotiated ("PCMA", "PCMU", "slinear"); empty when none.
  std::string codec;
};

struct InboundOffer {
  std::string calledNumber;  // DNID / extension
  std::string callerNumber;
  std::string callerName;
  std::string trunk;  // "loopback", "iax2:peer", ...
};

struct InboundDecision {
  bool accept = false;
  CallOutcome rejectReason;  // when not accepted (busy: no line free)
  std::int64_t faxId = 0;
  std::string rxTiffPath;  // where the received pages go
  std::string csid;        // our station id to announce
};

class CallEvents {
 public:
  virtual ~CallEvents() = default;
  /// Outbound: the far end answered / the first page started.
  virtual void onOutboundAnswered(std::int64_t faxId) = 0;
  /// Pages confirmed so far (outbound) and the remote id once known.
  virtual void onOutboundProgress(std::int64_t faxId, int pagesConfirmed,
                                  const std::string& remoteId) = 0;
  virtual void onOutboundFinished(std::int64_t faxId, const CallResult& result) = 0;

  /// Inbound call offered. `decide` must be called exactly once, from any thread.
  virtual void onInboundOffered(const InboundOffer& offer,
                                std::function<void(InboundDecision)> decide) = 0;
  virtual void onInboundProgress(std::int64_t faxId, int pagesReceived,
                                 const std::string& remoteId) = 0;
  virtual void onInboundFinished(std::int64_t faxId, const CallResult& result) = 0;
};

/// One trunk as /healthz and /lines show it.
struct TrunkStatus {
  std::string name;    // "loopback", "iax2", ...
  bool up = true;      // false: it cannot place or take calls now (not bound, ...)
  std::string reason;  // why not, for the admin ("cannot listen on 127.0.0.1:4569: ...")
  int calls = 0;       // calls in progress on it
};

/// Media pacing health: every call's 20 ms media tick, and how late they fired. A late tick is one
/// a whole tick (20 ms) or more behind its grid: the far end hears a gap.
struct MediaStats {
  std::int64_t ticks = 0;
  std::int64_t lateTicks = 0;
  std::int64_t maxLagUs = 0;
  std::int64_t longIterations = 0;  // telephony loop iterations of 15 ms or more
};

/// Where a call stands, as /lines shows it (telephony maps the fax engine's T.30 phases).
enum class CallPhase {
  Dialing,    // outbound: dialled, not answered yet
  Training,   // answered: T.30 negotiation and modem training (phase A/B), until CFR
  Sending,    // page data or the post-page handshake (phase C/D), we send
  Receiving,  // the same, we receive
  Ending,     // the fax part is over (phase E): final frames, hangup
};

/// One fax call in progress (a call offered but not yet accepted has no fax and is not shown).
struct CallStatus {
  std::int64_t faxId = 0;
  Direction direction = Direction::Out;
  std::string number;  // outbound: the dial string; inbound: the caller's number
  std::string trunk;   // "loopback", "iax2:peer", ...
  CallPhase phase = CallPhase::Dialing;
  int pages = 0;    // pages done (confirmed / received) so far
  int bitRate = 0;  // 0 until negotiated
  bool ecm = false;
  Millis startedAt = 0;
  FaxMedia media = FaxMedia::Audio;  // what the call carries now
  std::string codec;                 // the trunk's audio codec, empty when none
  bool operator==(const CallStatus&) const = default;
};

class Telephony {
 public:
  virtual ~Telephony() = default;
  virtual void setEvents(CallEvents* events) = 0;  // before start()
  virtual void start() = 0;
  virtual void stop() = 0;  // hangs up every call (each is reported finished)
  /// Places a call; the result always arrives through onOutboundFinished, even on failure. A call
  /// that could not be placed at all (temporary trunk trouble) ends with OutcomeClass::Unavailable
  /// and a reason that says what it waits for.
  virtual void placeCall(const OutboundCall& call) = 0;
  /// Hangs up the call of this fax (cancel). Reported through the matching *Finished event.
  virtual void hangup(std::int64_t faxId) = 0;
  /// Calls in progress (inbound + outbound), for /lines.
  virtual int activeCalls() const = 0;
  /// Thread-safe and never blocks (a snapshot the telephony loop keeps current).
  virtual std::vector<TrunkStatus> trunkStatus() const = 0;
  /// Thread-safe and never blocks.
  virtual MediaStats mediaStats() const { return {}; }
  /// The fax calls in progress: thread-safe and never blocks (a snapshot the telephony loop
  /// replaces on each call start, end, phase and page).
  virtual std::vector<CallStatus> callStatus() const { return {}; }
  /// Grows with each change of callStatus(): a reader polls it to learn of changes.
  virtual std::uint64_t callStatusVersion() const { return 0; }
};

}  // namespace vfax::core
