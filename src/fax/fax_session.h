#pragma once
// FaxSession: one T.30 fax transfer over 8 kHz audio or as a T.38 terminal. It is fed received
// media and time, produces media to send, and reports progress through FaxSessionEvents.
// Not thread-safe: a session lives on the telephony loop thread of its call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/model.h"
#include "core/result.h"

namespace vfax::fax {

inline constexpr int kSampleRate = 8000;

enum class FaxTransport { Audio, T38 };
enum class FaxDirection { Send, Receive };
/// T.30 phases as the session reports them: B (negotiation and training began), C (the far end
/// confirmed the training, CFR: page data flows), D (a page ended), E (the call's fax part ended).
enum class FaxPhase { B, C, D, E };

/// What the session knows of the transfer so far (spandsp's statistics).
struct FaxTransferStats {
  int bitRate = 0;  // negotiated image data rate, 0 before phase B
  bool ecm = false;
  int pages = 0;  // confirmed (send) or received (receive) so far
};

struct FaxSessionOptions {
  FaxTransport transport = FaxTransport::Audio;
  bool calling = true;  // the calling side (sends CNG, waits for the answerer's DIS)
  FaxDirection direction = FaxDirection::Send;
  std::string tiffPath;  // Send: the G4/G3 TIFF to send; Receive: the TIFF to write
  /// Send: the first page to send (0-based). A session that replaces an earlier one of the same
  /// call (T.38 switch) starts after the pages the receiver already confirmed.
  int startPage = 0;
  std::string localIdent;  // our TSI (sending) or CSID (receiving), at most 20 characters
  std::string headerInfo;  // sender name in the header line of every page we send
  bool ecm = true;
  /// No T.30 progress (no frame from the far end, no phase change) for this long ends the call.
  int noProgressTimeoutMs = 60'000;
  /// Hard limit on the length of a session.
  int maxDurationMs = 30 * 60'000;
  /// Forward spandsp's protocol log to spdlog (debug level).
  bool protocolLog = false;
};

struct FaxResult {
  core::CallOutcome outcome;
  int pages = 0;  // confirmed by the receiver (send) or received (receive)
  int bitRate = 0;
  bool ecm = false;
  std::string compression;  // "T.4 1D", "T.4 2D", "T.6" or empty
  std::string remoteId;     // far end's CSID (we send) or TSI (we receive)
  std::int64_t durationMs = 0;
};

/// Typed callbacks of a session, called synchronously from inside the FaxSession call that
/// caused them (rxAudio, txAudio, rxT38, tick, hangup). A handler must not destroy the session.
class FaxSessionEvents {
 public:
  virtual ~FaxSessionEvents() = default;
  virtual void onFaxPhase(FaxPhase phase) { (void)phase; }
  /// Audio sessions only, at most once: the far end is a fax. Answering (we receive): its CNG
  /// (1100 Hz) or a V.21 preamble; calling (we send): CED/ANSam (2100 Hz) or V.21 HDLC flags
  /// (its DIS). The owner may ask the trunk to switch to T.38 now.
  virtual void onFaxTonesHeard() {}
  /// After each page: pages confirmed (send) or received (receive) so far.
  virtual void onFaxPage(int pages, const std::string& remoteId) = 0;
  /// Exactly once per session.
  virtual void onFaxFinished(const FaxResult& result) = 0;
  /// T.38 only: one IFP packet to send to the far end (the transport adds sequence numbers and
  /// any redundancy).
  virtual void onT38Packet(const std::uint8_t* ifp, std::size_t len) {
    (void)ifp;
    (void)len;
  }
};

class FaxSession {
 public:
  /// Validates the options (a file to send must be readable) and sets up spandsp.
  static core::Result<std::unique_ptr<FaxSession>> create(const FaxSessionOptions& options,
                                                          FaxSessionEvents& events);
  virtual ~FaxSession() = default;

  // Audio transport. rxAudio also advances the session's clock by `n` samples.
  virtual void rxAudio(const std::int16_t* samples, std::size_t n) = 0;
  /// Fills `n` samples to send (silence when idle); returns n.
  virtual std::size_t txAudio(std::int16_t* samples, std::size_t n) = 0;

  // T.38 transport.
  virtual void rxT38(const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) = 0;
  /// T.38: advances the clock by `samples` and lets the terminal send what is due.
  /// Audio: no-op (time advances with rxAudio).
  virtual void tick(int samples) = 0;

  /// The call ended under the session (far end hung up, or we cancel): ends the T.30 session
  /// and reports the result. `cause` overrides the outcome unless the fax already completed.
  virtual void hangup(const core::CallOutcome& cause) = 0;

  virtual bool finished() const = 0;
  virtual FaxTransport transport() const = 0;
  /// Call time seen by the session, in milliseconds.
  virtual std::int64_t elapsedMs() const = 0;
  /// The transfer so far (may be called from an event handler).
  virtual FaxTransferStats stats() const = 0;
};

/// The number of pages (directories) of a TIFF file.
core::Result<int> tiffPageCount(const std::string& path);

/// Appends the pages of the fax TIFF `src` to the fax TIFF `dst` (created when missing), image
/// data copied as it is, page numbers rewritten. Replaces `dst` atomically (a temp file renamed
/// over it): on an error `dst` is unchanged.
core::Result<void> appendTiffPages(const std::string& dst, const std::string& src);

/// Maps a spandsp T30_ERR_* completion code to an outcome (class, code, readable text).
core::CallOutcome outcomeFromT30(int t30Error);

}  // namespace vfax::fax
