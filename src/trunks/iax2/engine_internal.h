#pragma once
// Internals of the IAX2 engine shared by its .cc files (engine.cc: frames, calls, timers;
// registration.cc: registrations in both roles). Not for use outside src/trunks/iax2/.
#include <cctype>
#include <cstdint>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "codec/g711.h"
#include "trunks/iax2/engine.h"

namespace vfax::trunks::iax2::detail {

/// Silence in a voice frame of `format` (for the jitter buffer's drift trimming).
inline bool voiceQuiet(std::uint32_t format, const std::uint8_t* data, std::size_t len) {
  switch (format) {
    case kFormatUlaw:
      return codec::g711Quiet(codec::G711Law::Ulaw, data, len);
    case kFormatAlaw:
      return codec::g711Quiet(codec::G711Law::Alaw, data, len);
    case kFormatSlinear: {
      // Big-endian 16-bit samples on the wire.
      for (std::size_t i = 0; i + 1 < len; i += 2) {
        const auto v = static_cast<std::int16_t>(data[i] << 8 | data[i + 1]);
        if (v >= codec::kQuietAmplitude || v <= -codec::kQuietAmplitude) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

inline constexpr int kFirstRetryMs = 250;
inline constexpr int kMaxRetryMs = 4000;
inline constexpr int kMaxTries = 8;
inline constexpr int kLingerMs = 3000;  // an ended call still answers retransmissions this long
// The stateless answers' source call number: never allocated to a session.
inline constexpr std::uint16_t kStatelessCallNo = 0x7fff;
// CALLTOKEN: valid in the epoch it was made and the next one (10-20 s, as Asterisk's 10 s).
inline constexpr std::int64_t kTokenEpochMs = 10'000;
inline constexpr std::size_t kTokenMacBytes = 6;  // 48 bits, 8 base64 characters
inline constexpr std::size_t kMinTokenChars = 6;  // 36 bits: a 20-byte request gets an answer
// What the MD5 response of an unknown name is computed with: the same work as for a known one.
inline constexpr const char* kDecoySecret = "no-such-peer-secret";
inline constexpr int kRetryRegistrationMs = 10'000;
// How far our voice timestamps may fall behind the wall clock before they rejoin it: the
// reactor's media catch-up after a stall (reactor::kMediaCatchUpTicks), plus a tick.
inline constexpr int kMediaCatchUpMs = 520;

enum Kind { kCallIn, kCallOut, kRegServer, kRegClient, kOneShot };
enum class State { Idle, WaitAuth, Dialing, Accepted, Ringing, Up, Ended };

inline std::uint32_t datetimeIe() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return static_cast<std::uint32_t>((tm.tm_sec / 2) | (tm.tm_min << 5) | (tm.tm_hour << 11) |
                                    (tm.tm_mday << 16) | ((tm.tm_mon + 1) << 21) |
                                    ((tm.tm_year - 100) << 25));
}

// The Q.850 cause of a HANGUP or REJECT. Peers without the CAUSECODE IE (libiax2, as in
// iaxmodem) only send text, such as "Busy".
inline int causeOf(const IeList& ies, int fallback) {
  if (auto code = ies.u8(Ie::CauseCode); code && *code != 0) return *code;
  std::string text = ies.str(Ie::Cause).value_or("");
  for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (text.find("busy") != std::string::npos) return 17;
  if (text.find("congest") != std::string::npos) return 34;
  if (text.find("no answer") != std::string::npos) return 19;
  return fallback;
}

inline bool seqBefore(std::uint8_t a, std::uint8_t b) {  // a precedes b (mod 256, window 128)
  std::uint8_t d = static_cast<std::uint8_t>(b - a);
  return d >= 1 && d <= 128;
}

}  // namespace vfax::trunks::iax2::detail

namespace vfax::trunks::iax2 {

struct Engine::Session {
  struct Pending {
    std::vector<std::uint8_t> bytes;
    std::uint8_t oseq = 0;
    std::int64_t nextMs = 0;
    int tries = 0;
    int delayMs = detail::kFirstRetryMs;
  };

  Session(int k, std::uint16_t l, const Address& a, std::int64_t now, std::size_t prefill)
      : kind(k),
        local(l),
        addr(a),
        startMs(now),
        createdMs(now),
        jb(prefill, &detail::voiceQuiet) {}

  int kind;
  std::uint16_t local;
  std::uint16_t remote = 0;
  Address addr;
  std::int64_t startMs;
  std::int64_t createdMs;
  std::uint32_t lastTxTs = 0;
  std::uint8_t oseq = 0;
  std::uint8_t iseq = 0;
  std::deque<Pending> pending;
  detail::State state = detail::State::Idle;
  std::int64_t reapAtMs = 0;  // Ended: removed after this once nothing is pending

  std::string peer;
  std::string username;
  std::string secret;
  std::string challenge;
  bool sentResponse = false;  // client side: we already answered a challenge
  bool pbx = false;           // the far end is a PBX we register to
  int regIndex = -1;
  bool releasing = false;  // REGREL instead of REGREQ
  Cmd firstCmd = Cmd::New;
  IeList firstIes;
  InboundCallInfo info;
  std::uint32_t wantedFormat = 0;
  std::uint32_t peerCapability = 0;

  std::uint32_t format = 0;
  JitterBuffer jb;
  bool haveRxTs = false;
  std::uint32_t lastRxTs = 0;

  // Trunk frames: ours (the peer's or registration's setting at call set-up) and, for received
  // entries without their own timestamp, the trunk timestamp that anchors the call's.
  bool trunk = false;
  bool trunkTimestamps = true;
  TrunkOut* trunkOut = nullptr;
  bool trunkRxAnchored = false;
  std::uint32_t trunkRxBase = 0;
  std::uint32_t trunkRxAnchor = 0;

  bool txVoice = false;
  std::uint32_t txTs = 0;
  std::uint32_t txFormat = 0;
  std::int64_t lastPingMs = 0;

  // Not authenticated yet: counted in Engine::unprovenBySource_ under this key.
  bool unproven = false;
  std::string sourceKey;
  bool unknownPeer = false;  // the name given is no peer of ours: challenged all the same
};

}  // namespace vfax::trunks::iax2
