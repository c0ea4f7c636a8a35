#pragma once
// UDPTL, the UDP transport of T.38 fax (ITU-T T.38 Annex D): one IFP packet per datagram with a
// sequence number, plus redundancy (copies of the previous IFPs) or forward error correction
// (XOR parity over interleaved earlier IFPs) so that a lost datagram costs no fax data.
//
// The wire format is the ASN.1 type UDPTLPacket in aligned PER (X.691):
//
//   UDPTLPacket ::= SEQUENCE {
//     seq-number          INTEGER (0..65535),                      -- 2 octets, big-endian
//     primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket),        -- open type: length + octets
//     error-recovery      CHOICE {                                 -- 1 bit, padded to an octet
//       secondary-ifp-packets  SEQUENCE OF UDPTLPacket.primary-ifp-packet,  -- count + open types
//       fec-info               SEQUENCE {
//         fec-npackets  INTEGER,                                   -- length + two's complement
//         fec-data      SEQUENCE OF OCTET STRING } } }             -- count + (length + octets)
//
// Pure code: no sockets, no threads, no clock. The SIP trunk feeds datagrams in and sends what
// UdptlSender makes; spandsp's T.38 terminal produces and consumes the IFPs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "trunks/sip/sip_config.h"

namespace vfax::trunks::sip {

/// Largest IFP kept for redundancy, FEC and reordering (bytes). Real T.38 IFPs are far smaller
/// (an HDLC frame of 260 bytes is the largest spandsp makes); the limit bounds memory per call.
inline constexpr std::size_t kUdptlMaxIfp = 1400;
/// Secondary IFPs / FEC words kept from one parsed datagram (older ones are beyond any window).
inline constexpr std::size_t kUdptlMaxViews = 32;

/// Error correction and size limits of the sending side (after SDP negotiation).
struct UdptlOptions {
  UdptlEc ec = UdptlEc::Redundancy;
  /// Previous IFPs repeated in each datagram (redundancy); clamped to 0..kMaxRedundancy.
  int redundancyDepth = 3;
  /// FEC: each parity word covers `fecSpan` IFPs, `fecEntries` words interleaved per datagram;
  /// clamped to span*entries <= kMaxFecWindow.
  int fecSpan = 3;
  int fecEntries = 3;
  /// Largest datagram the far end accepts (its T38FaxMaxDatagram).
  std::size_t maxDatagram = 400;

  static constexpr int kMaxRedundancy = 16;
  static constexpr int kMaxFecWindow = 30;
};

/// A view of one IFP (or FEC word) inside a parsed datagram; valid while the datagram is.
struct UdptlView {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
};

/// One parsed UDPTL datagram. Views point into the caller's buffer.
struct UdptlPacket {
  std::uint16_t seq = 0;
  UdptlView primary;
  /// Which error-recovery alternative the datagram carries.
  bool fec = false;
  /// Redundancy: secondaries[i] is the IFP of seq - 1 - i (most recent first), as T.38 D.2.2
  /// senders write them. Only the first kUdptlMaxViews are kept; `secondaryCount` is the total.
  std::array<UdptlView, kUdptlMaxViews> secondaries{};
  std::size_t secondaryCount = 0;
  /// FEC: fec-npackets (the span) and the parity words; word m covers the IFPs
  /// seq + m - k * fecEntries for k = 1..fecSpan, where fecEntries is `fecCount`.
  std::uint32_t fecSpan = 0;
  std::array<UdptlView, kUdptlMaxViews> fecWords{};
  std::size_t fecCount = 0;

  std::size_t keptSecondaries() const {
    return secondaryCount < kUdptlMaxViews ? secondaryCount : kUdptlMaxViews;
  }
  std::size_t keptFecWords() const { return fecCount < kUdptlMaxViews ? fecCount : kUdptlMaxViews; }
};

/// Parses one datagram. Every length determinant is checked against the buffer; the 16K
/// fragment form (X.691 10.9.3.8), an empty primary IFP and trailing bytes are refused.
/// Error codes: "udptl_truncated", "udptl_fragmented", "udptl_empty_ifp", "udptl_trailing",
/// "udptl_bad_integer".
core::Result<UdptlPacket> parseUdptl(const std::uint8_t* data, std::size_t len);

/// The largest IFP that fits a datagram of `maxDatagram` bytes with no error-recovery payload.
std::size_t udptlMaxIfp(std::size_t maxDatagram);

/// The IFP size to give the T.38 terminal (spandsp's t38_set_max_datagram_size): small enough
/// that each datagram still carries the full redundancy (depth + 1 IFPs) or FEC (entries + 1)
/// within `maxDatagram`, but not below 80 bytes (a 14400 bit/s image chunk plus headers), where
/// the sender gives up error recovery on the largest IFPs rather than splitting data finer.
/// Never more than udptlMaxIfp(maxDatagram).
std::size_t udptlIfpBudget(const UdptlOptions& options);

/// Builds outgoing datagrams. Keeps a fixed ring of the last IFPs (allocated once) for
/// redundancy and FEC; encode() never allocates.
class UdptlSender {
 public:
  explicit UdptlSender(UdptlOptions options = {});

  /// Changes error correction or limits (e.g. after the SDP answer); history is kept.
  void setOptions(const UdptlOptions& options);
  const UdptlOptions& options() const { return options_; }

  /// Makes the next datagram from `ifp` into `out` (capacity `cap`) and returns its length.
  /// Redundancy or FEC is reduced until the datagram fits min(cap, maxDatagram). Returns 0
  /// (and uses no sequence number) when even the bare primary does not fit, or len is 0.
  std::size_t encode(const std::uint8_t* ifp, std::size_t len, std::uint8_t* out, std::size_t cap);

  /// Sequence number the next datagram gets.
  std::uint16_t nextSeq() const { return seq_; }
  /// Tests: start numbering elsewhere (e.g. just before the 65535 -> 0 wrap).
  void setNextSeq(std::uint16_t seq) { seq_ = seq; }

 private:
  struct Slot {
    std::uint16_t seq = 0;
    std::uint16_t len = 0;  // 0: nothing stored (unused, or the IFP was too large to keep)
    std::array<std::uint8_t, kUdptlMaxIfp> data{};
  };
  static constexpr std::size_t kRing = 32;

  /// The IFP sent with `seq`, or nullptr when the ring does not hold it.
  const Slot* history(std::uint16_t seq) const;
  std::size_t encodeRedundancy(std::uint16_t seq, std::uint8_t* out, std::size_t pos,
                               std::size_t limit) const;
  std::size_t encodeFec(std::uint16_t seq, std::uint8_t* out, std::size_t pos,
                        std::size_t limit) const;

  UdptlOptions options_;
  std::vector<Slot> ring_;
  std::uint16_t seq_ = 0;
};

/// Counters of one receiving stream.
struct UdptlStats {
  std::uint64_t received = 0;    // datagrams that parsed
  std::uint64_t delivered = 0;   // IFPs handed on
  std::uint64_t recovered = 0;   // ... of which rebuilt from redundancy or FEC
  std::uint64_t duplicates = 0;  // datagrams whose primary was already delivered (or too late)
  std::uint64_t malformed = 0;   // datagrams refused
  std::uint64_t lost = 0;        // sequence numbers skipped for good
  std::uint64_t resyncs = 0;     // jumps of the far end's numbering followed
  std::uint64_t strays = 0;      // lone datagrams far outside the window, dropped
};

/// Turns received datagrams back into the far end's IFP stream, in sequence order: gaps are
/// filled from redundancy or FEC of later datagrams, duplicates dropped. With FEC, IFPs after a
/// gap are held back until the gap is repaired or can no longer be (span x entries datagrams
/// later); call flush() when the stream goes quiet while holding() so nothing waits for long.
/// A datagram far outside the window starts a resync once a second datagram confirms the new
/// numbering (a far end restarting its sequence numbers); a lone one is a stray.
class UdptlReceiver {
 public:
  using Deliver = void (*)(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq);

  UdptlReceiver();

  /// Parses one datagram and delivers every IFP that became deliverable. False (counted in
  /// `malformed`, nothing delivered, lastError() says why) when the datagram is malformed.
  bool receive(const std::uint8_t* data, std::size_t len, Deliver deliver, void* ctx);

  /// Delivers everything held back, counting unrepaired gaps as lost.
  void flush(Deliver deliver, void* ctx);
  /// True while IFPs are held back behind a gap.
  bool holding() const;
  /// Forgets the stream (a new T.38 session); counters are kept.
  void reset();

  const UdptlStats& stats() const { return stats_; }
  const std::string& lastError() const { return lastError_; }

  /// How far behind the next expected number a datagram is still a duplicate (else a stray or
  /// a restart), and how far ahead it is still the same stream after a loss.
  static constexpr int kBehindWindow = 32;
  static constexpr int kAheadWindow = 256;

 private:
  struct Slot {
    std::uint16_t seq = 0;
    bool present = false;
    bool fromRecovery = false;
    std::uint16_t len = 0;
    std::array<std::uint8_t, kUdptlMaxIfp> data{};
  };
  static constexpr int kRing = 32;

  Slot& slot(std::uint16_t seq) { return ring_[seq % kRing]; }
  const Slot* stored(std::uint16_t seq) const;
  void start(std::uint16_t first);
  void accept(const UdptlPacket& p, Deliver deliver, void* ctx);
  void store(std::uint16_t seq, const std::uint8_t* data, std::size_t len, bool recovered);
  void advanceTo(std::uint16_t seq, Deliver deliver, void* ctx);
  void giveUpOne(Deliver deliver, void* ctx);
  void repairFec(const UdptlPacket& p);
  void drain(Deliver deliver, void* ctx);

  std::vector<Slot> ring_;
  bool started_ = false;
  std::uint16_t next_ = 0;    // next sequence number to deliver
  std::uint16_t newest_ = 0;  // highest sequence number known (next_ - 1 when nothing waits)
  int holdWindow_ = 1;        // a gap waits until newest_ - gap reaches this
  // A datagram far outside the window, kept until the next one shows whether it is a restart.
  bool candidate_ = false;
  std::uint16_t candidateSeq_ = 0;
  Slot candidateIfp_;
  UdptlStats stats_;
  std::string lastError_;
};

}  // namespace vfax::trunks::sip
