#pragma once
// The IAX2 protocol engine (RFC 5456): registrations in both roles, calls in both directions,
// reliable full frames (ACK, retransmission, VNAK), PING/LAGRQ, mini voice frames and a jitter
// buffer per call. It owns no socket and no clock: the owner feeds datagrams and the time in
// milliseconds and sends what it hands to Transport. It knows nothing of faxes or jobs.
// Single-threaded: every method on the owner's thread.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "trunks/iax2/frame.h"
#include "trunks/iax2/jitter_buffer.h"

namespace vfax::trunks::iax2 {

/// An IPv4 or IPv6 UDP address.
struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool operator==(const Address& o) const;
  bool sameHost(const Address& o) const;
  std::string toString() const;
  static std::optional<Address> parse(const std::string& host, int port);
};

/// A device or PBX allowed to talk to us (by name, with its own secret).
struct PeerConfig {
  std::string name;
  std::string secret;
  /// Static address ("127.0.0.1"); empty: the peer must register (dynamic).
  std::string host;
  int port = 4569;
  /// The username we present when we call this peer (empty: none).
  std::string username;
};

/// A registration of ours to a PBX (as iaxmodem registers to Asterisk).
struct RegistrationConfig {
  std::string server;
  int port = 4569;
  std::string username;
  std::string secret;
  int refreshSeconds = 60;
};

struct EngineConfig {
  std::vector<PeerConfig> peers;
  std::vector<RegistrationConfig> registrations;
  /// Where outbound calls go: a peer name, or "reg:USERNAME@SERVER" / a registration username.
  /// Empty: the first registration, else the only (or first registered) peer.
  std::string outboundRoute;
  /// Formats we offer and accept, most preferred first (kFormatUlaw, kFormatAlaw,
  /// kFormatSlinear).
  std::vector<std::uint32_t> codecs{kFormatAlaw, kFormatUlaw, kFormatSlinear};
  int maxRefreshSeconds = 300;
  int minRefreshSeconds = 20;
  std::size_t jitterPrefillFrames = 3;
  int pingIntervalMs = 10'000;
  int maxSessions = 1024;
  bool logFrames = false;
};

enum class EndKind { Hangup, Reject, Busy, Congestion, Timeout };

struct InboundCallInfo {
  std::string peer;
  std::string calledNumber;  // DNID, else CALLED NUMBER
  std::string callerNumber;
  std::string callerName;
  std::uint32_t format = 0;
};

/// Protocol events for the owner (the trunk adapter). Called from inside onDatagram()/poll().
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  /// An authenticated peer's new call, accepted on the protocol level and ringing.
  virtual void onInboundCall(std::uint16_t call, const InboundCallInfo& info) = 0;
  virtual void onAnswered(std::uint16_t call) = 0;
  virtual void onEnded(std::uint16_t call, EndKind kind, int causeCode,
                       const std::string& text) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void sendTo(const Address& to, const std::uint8_t* data, std::size_t len) = 0;
};

struct RegistrationStatus {
  std::string name;  // username@server or peer name
  bool ours = false;  // true: we register to a PBX; false: a peer registered to us
  bool registered = false;
  std::string address;
  std::int64_t expiresAtMs = 0;
  std::string lastError;
};

struct EngineStats {
  std::uint64_t framesIn = 0;
  std::uint64_t framesOut = 0;
  std::uint64_t dropped = 0;      // malformed, unknown call, wrong source
  std::uint64_t retransmits = 0;
  std::uint64_t authFailures = 0;
};

class Engine {
 public:
  Engine(EngineConfig config, Transport& transport, EngineListener& listener);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Replaces the configuration (API changes). Registrations are restarted, calls stay up.
  void reconfigure(EngineConfig config, std::int64_t nowMs);
  const EngineConfig& config() const { return config_; }

  void onDatagram(const std::uint8_t* data, std::size_t len, const Address& from,
                  std::int64_t nowMs);
  /// Timers: retransmissions, registration refresh, pings, cleanup. Call every tick.
  void poll(std::int64_t nowMs);
  /// Hangs up every call and releases our registrations (REGREL).
  void shutdown(std::int64_t nowMs);

  core::Result<std::uint16_t> dial(const std::string& number, const std::string& callerNumber,
                                   const std::string& callerName, std::int64_t nowMs);
  void answer(std::uint16_t call, std::int64_t nowMs);
  /// Refuses a ringing inbound call: BUSY when `causeCode` is 17, else a plain HANGUP.
  void reject(std::uint16_t call, int causeCode, const std::string& text, std::int64_t nowMs);
  void hangup(std::uint16_t call, int causeCode, const std::string& text, std::int64_t nowMs);

  /// One 20 ms frame of encoded voice in the call's format (mini frames on an exact 20 ms
  /// timestamp grid; a full frame first, on 16-bit wrap and after a format change).
  void sendVoice(std::uint16_t call, const std::uint8_t* data, std::size_t len,
                 std::int64_t nowMs);
  /// The next received frame to play this tick (jitter buffer), or nullptr.
  const VoiceFrame* popVoice(std::uint16_t call);
  std::uint32_t format(std::uint16_t call) const;
  bool up(std::uint16_t call) const;
  std::string peerOf(std::uint16_t call) const;

  std::vector<RegistrationStatus> registrations(std::int64_t nowMs) const;
  const EngineStats& stats() const { return stats_; }
  std::size_t sessionCount() const { return sessions_.size(); }

 private:
  struct Session;
  struct PeerState {
    std::optional<Address> registered;
    std::int64_t expiresAtMs = 0;
  };
  struct OurRegistration {
    RegistrationConfig cfg;
    std::uint16_t session = 0;
    bool registered = false;
    std::int64_t nextAttemptMs = 0;
    std::int64_t expiresAtMs = 0;
    std::string lastError;
    std::optional<Address> address;
  };

  Session* find(std::uint16_t local);
  const Session* find(std::uint16_t local) const;
  Session* findByRemote(const Address& from, std::uint16_t remote);
  Session* newSession(int kind, const Address& to, std::int64_t nowMs);
  void destroyLater(Session& s, std::int64_t nowMs);
  std::uint16_t allocateCallNo();

  void sendFull(Session& s, FrameType type, std::uint32_t subclass, const IeList& ies,
                std::int64_t nowMs, std::optional<std::uint32_t> ts = std::nullopt);
  void sendFullPayload(Session& s, FrameType type, std::uint32_t subclass,
                       std::vector<std::uint8_t> payload, std::int64_t nowMs,
                       std::optional<std::uint32_t> ts);
  void sendAck(Session& s, std::uint32_t ts);
  void sendVnak(Session& s, std::int64_t nowMs);
  void sendInvalUnknown(const FullFrame& f, const Address& from);
  void sendRaw(const Address& to, const std::vector<std::uint8_t>& bytes);
  std::uint32_t timestampFor(Session& s, std::int64_t nowMs);
  void handleAcks(Session& s, std::uint8_t iseq);

  void onFull(FullFrame& f, const Address& from, std::int64_t nowMs);
  void onMini(const MiniFrame& m, const Address& from);
  void onNewSessionFrame(FullFrame& f, const Address& from, std::int64_t nowMs);
  void handleFrame(Session& s, FullFrame& f, std::int64_t nowMs);
  void handleIax(Session& s, FullFrame& f, const IeList& ies, std::int64_t nowMs);
  void handleControl(Session& s, const FullFrame& f, std::int64_t nowMs);
  void handleVoice(Session& s, const FullFrame& f);

  void onNew(Session& s, const IeList& ies, std::int64_t nowMs);
  void onAuthRep(Session& s, const IeList& ies, std::int64_t nowMs);
  void acceptInbound(Session& s, std::int64_t nowMs);
  void onRegReq(Session& s, const IeList& ies, std::int64_t nowMs);
  void onRegRel(Session& s, const IeList& ies, std::int64_t nowMs);
  void challengeRegistration(Session& s, const std::string& user, std::int64_t nowMs);
  bool registrationProven(Session& s, const std::string& user, const std::string& result);
  void onAuthReqForCall(Session& s, const IeList& ies, std::int64_t nowMs);
  void onRegClientReply(Session& s, const FullFrame& f, const IeList& ies, std::int64_t nowMs);
  void endCall(Session& s, EndKind kind, int cause, const std::string& text, bool notify,
               std::int64_t nowMs);
  void startRegistration(OurRegistration& r, std::int64_t nowMs);
  void sendRegReq(Session& s, OurRegistration& r, const std::string& challenge,
                  std::int64_t nowMs);

  const PeerConfig* peerByName(const std::string& name) const;
  const PeerConfig* peerByAddress(const Address& a) const;
  std::optional<std::uint32_t> chooseFormat(std::uint32_t wanted, std::uint32_t capability) const;
  std::uint32_t capability() const;
  std::string newChallenge();

  EngineConfig config_;
  Transport& transport_;
  EngineListener& listener_;
  std::map<std::uint16_t, std::unique_ptr<Session>> sessions_;
  std::map<std::string, PeerState> peerState_;
  std::vector<OurRegistration> ours_;
  std::uint16_t nextCallNo_ = 1;
  EngineStats stats_;
  std::uint64_t rng_;
};

}  // namespace vfax::trunks::iax2
