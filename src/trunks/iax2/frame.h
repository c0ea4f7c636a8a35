#pragma once
// IAX2 wire format (RFC 5456): full frames, mini voice frames and information elements.
// Parsing never trusts its input: every length is checked, and anything malformed is refused
// with std::nullopt (the engine then drops the datagram).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfax::trunks::iax2 {

inline constexpr std::size_t kFullHeader = 12;
inline constexpr std::size_t kMiniHeader = 4;
inline constexpr std::size_t kMaxDatagram = 1500;

enum class FrameType : std::uint8_t {
  Dtmf = 1,
  Voice = 2,
  Video = 3,
  Control = 4,
  Null = 5,
  Iax = 6,
  Text = 7,
  Image = 8,
  Html = 9,
  Cng = 10,
  Modem = 11,
  DtmfBegin = 12,
};

// IAX frame subclasses (RFC 5456 section 8.4).
enum class Cmd : std::uint32_t {
  New = 1,
  Ping = 2,
  Pong = 3,
  Ack = 4,
  Hangup = 5,
  Reject = 6,
  Accept = 7,
  AuthReq = 8,
  AuthRep = 9,
  Inval = 10,
  LagRq = 11,
  LagRp = 12,
  RegReq = 13,
  RegAuth = 14,
  RegAck = 15,
  RegRej = 16,
  RegRel = 17,
  Vnak = 18,
  DpReq = 19,
  DpRep = 20,
  Dial = 21,
  TxReq = 22,
  TxCnt = 23,
  TxAcc = 24,
  TxReady = 25,
  TxRel = 26,
  TxRej = 27,
  Quelch = 28,
  Unquelch = 29,
  Poke = 30,
  Mwi = 32,
  Unsupport = 33,
  Transfer = 34,
  CallToken = 40,
};

// Control frame subclasses (section 8.3).
enum class Ctrl : std::uint32_t {
  Hangup = 1,
  Ring = 2,
  Ringing = 3,
  Answer = 4,
  Busy = 5,
  Congestion = 8,
  Progress = 14,
  Proceeding = 15,
  Hold = 16,
  Unhold = 17,
  SrcUpdate = 20,
};

// Media formats (section 8.7), as bits of the FORMAT / CAPABILITY IEs and voice subclasses.
inline constexpr std::uint32_t kFormatUlaw = 0x04;
inline constexpr std::uint32_t kFormatAlaw = 0x08;
inline constexpr std::uint32_t kFormatSlinear = 0x40;

// Information elements (section 8.6).
enum class Ie : std::uint8_t {
  CalledNumber = 1,
  CallingNumber = 2,
  CallingAni = 3,
  CallingName = 4,
  CalledContext = 5,
  Username = 6,
  Password = 7,
  Capability = 8,
  Format = 9,
  Language = 10,
  Version = 11,
  Dnid = 13,
  AuthMethods = 14,
  Challenge = 15,
  Md5Result = 16,
  RsaResult = 17,
  ApparentAddr = 18,
  Refresh = 19,
  CallNo = 21,
  Cause = 22,
  MsgCount = 24,
  DateTime = 31,
  CallingPres = 38,
  CallingTon = 39,
  SamplingRate = 41,
  CauseCode = 42,
  CodecPrefs = 45,
  CallToken = 54,
};
inline constexpr std::uint16_t kAuthMd5 = 0x02;

/// One IE as found on the wire: the value still undecoded.
struct InfoElement {
  std::uint8_t id = 0;
  std::string value;
};

/// Decoded information elements of one frame, in order. Lookup helpers return the first.
class IeList {
 public:
  const std::vector<InfoElement>& all() const { return items_; }
  bool has(Ie id) const;
  std::optional<std::string> str(Ie id) const;
  std::optional<std::uint32_t> u32(Ie id) const;  // exactly 4 bytes, big-endian
  std::optional<std::uint16_t> u16(Ie id) const;  // exactly 2 bytes
  std::optional<std::uint8_t> u8(Ie id) const;    // exactly 1 byte

  IeList& add(Ie id, std::string_view value);
  IeList& addU32(Ie id, std::uint32_t v);
  IeList& addU16(Ie id, std::uint16_t v);
  IeList& addU8(Ie id, std::uint8_t v);
  IeList& addEmpty(Ie id) { return add(id, {}); }

  /// Appends the wire form; false if an IE is longer than 255 bytes.
  bool encode(std::vector<std::uint8_t>& out) const;
  /// Whole buffer as IEs; nullopt on a truncated element.
  static std::optional<IeList> decode(const std::uint8_t* p, std::size_t n);

 private:
  std::vector<InfoElement> items_;
};

struct FullFrame {
  std::uint16_t srcCall = 0;  // 15 bits
  std::uint16_t dstCall = 0;  // 15 bits
  bool retransmit = false;    // the R bit
  std::uint32_t timestamp = 0;
  std::uint8_t oseq = 0;
  std::uint8_t iseq = 0;
  FrameType type = FrameType::Iax;
  std::uint32_t subclass = 0;         // decoded (the C bit expanded)
  std::vector<std::uint8_t> payload;  // IEs for IAX frames, samples for voice

  bool isIax(Cmd c) const {
    return type == FrameType::Iax && subclass == static_cast<std::uint32_t>(c);
  }
  bool isControl(Ctrl c) const {
    return type == FrameType::Control && subclass == static_cast<std::uint32_t>(c);
  }
};

struct MiniFrame {
  std::uint16_t srcCall = 0;
  std::uint16_t timestamp = 0;         // low 16 bits of the call's timestamp
  const std::uint8_t* data = nullptr;  // points into the datagram
  std::size_t len = 0;
};

/// What a datagram is. Meta trunk frames are Trunk; other meta frames (video) are Other.
enum class DatagramKind { Full, Mini, Trunk, Other, Malformed };
DatagramKind classify(const std::uint8_t* p, std::size_t n);

std::optional<FullFrame> parseFull(const std::uint8_t* p, std::size_t n);
std::optional<MiniFrame> parseMini(const std::uint8_t* p, std::size_t n);

/// Subclass encoding: values >= 0x80 must be a power of two and are sent as 0x80 | log2.
/// Returns false if the value cannot be represented.
bool encodeSubclass(std::uint32_t subclass, std::uint8_t& out);

/// Wire form of a full frame (the R bit from `retransmit`). Empty if the subclass cannot be
/// encoded or the frame would exceed kMaxDatagram.
std::vector<std::uint8_t> serializeFull(const FullFrame& f);
/// Wire form of a mini frame into `out` (which must hold kMiniHeader + len bytes); returns size.
std::size_t serializeMini(std::uint16_t srcCall, std::uint16_t ts, const std::uint8_t* data,
                          std::size_t len, std::uint8_t* out);

// ---- Meta trunk frames (RFC 5456 section 8.1.2; Asterisk's `trunk = yes`): the voice of every
// call between two hosts in one datagram. Header: 16 zero bits (the meta indicator), the meta
// command (1 = trunk, V bit clear), the command data (bit 0: entries carry their own timestamps),
// the sender's 32-bit trunk timestamp in ms. Entries without timestamps: call number (16, R bit
// reserved), data length (16), data. With timestamps: data length (16), call number (16), the
// call's 16-bit timestamp, data (a mini frame behind its length).
inline constexpr std::size_t kTrunkHeader = 8;
inline constexpr std::uint8_t kMetaTrunk = 1;
inline constexpr std::uint8_t kTrunkTimestamps = 0x01;
inline constexpr std::size_t kTrunkEntryHeader = 4;    // without timestamps
inline constexpr std::size_t kTrunkEntryHeaderTs = 6;  // with timestamps
/// What one trunk datagram holds at most: below the path MTU of Ethernet with IPv6 and tunnel
/// overheads (Asterisk's default trunkmtu is 1240 too); more entries go in another datagram.
inline constexpr std::size_t kTrunkMtu = 1240;

struct TrunkEntry {
  std::uint16_t srcCall = 0;
  std::uint16_t timestamp = 0;         // only with trunk timestamps
  const std::uint8_t* data = nullptr;  // points into the datagram
  std::size_t len = 0;
};

struct TrunkHeader {
  std::uint32_t timestamp = 0;
  bool timestamps = false;
};

/// A whole meta trunk frame into `entries` (cleared first; its storage is reused, so a warm
/// vector needs no allocation). nullopt, with `entries` empty, when anything is wrong: not a
/// trunk frame, unknown command data bits, an entry header or data running past the end, a call
/// number 0, or no entry at all. Empty entries (length 0) are kept for the caller to count.
std::optional<TrunkHeader> parseTrunk(const std::uint8_t* p, std::size_t n,
                                      std::vector<TrunkEntry>& entries);

/// Builds one meta trunk frame in place, never larger than `kTrunkMtu`.
class TrunkWriter {
 public:
  void begin(std::uint32_t timestamp, bool timestamps);
  /// Would an entry of `len` bytes still fit?
  bool fits(std::size_t len) const {
    return size_ + (timestamps_ ? kTrunkEntryHeaderTs : kTrunkEntryHeader) + len <= kTrunkMtu;
  }
  /// Appends an entry; false (nothing written) if it does not fit.
  bool add(std::uint16_t srcCall, std::uint16_t timestamp, const std::uint8_t* data,
           std::size_t len);
  bool timestamps() const { return timestamps_; }
  std::size_t entries() const { return entries_; }
  bool empty() const { return entries_ == 0; }
  const std::uint8_t* data() const { return buf_; }
  std::size_t size() const { return size_; }
  void clear() {
    size_ = 0;
    entries_ = 0;
  }

 private:
  std::uint8_t buf_[kTrunkMtu] = {};
  std::size_t size_ = 0;
  std::size_t entries_ = 0;
  bool timestamps_ = false;
};

/// Human-readable name of a full frame for logs ("IAX NEW", "CONTROL ANSWER", "VOICE 0x4").
std::string describe(const FullFrame& f);

/// Does this frame take part in sequence numbering (RFC 5456 section 7)? ACK, INVAL, VNAK,
/// TXCNT and TXACC do not.
bool countsInSequence(const FullFrame& f);

}  // namespace vfax::trunks::iax2
