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
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "reactor/sock_addr.h"
#include "trunks/iax2/frame.h"
#include "trunks/iax2/jitter_buffer.h"
#include "trunks/sip/sip_gate.h"

namespace vfax::trunks::iax2 {

/// An IPv4 or IPv6 UDP address.
using Address = reactor::SockAddr;

/// Host names of peers and registrars to addresses, never blocking (the trunk answers from the
/// reactor's Resolver cache). The default takes numeric addresses only.
class HostLookup {
 public:
  virtual ~HostLookup() = default;
  /// The address now, or nullopt while the name is unknown (being resolved, or failed).
  virtual std::optional<Address> lookup(const std::string& host, int port) {
    return Address::numeric(host, port);
  }
  /// Why lookup() gave nothing, for the admin and the job's reason.
  virtual std::string lookupError(const std::string& host) {
    return "'" + host + "' is not a numeric address";
  }
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
  /// Send the voice of all calls with this peer in IAX2 trunk frames (Asterisk's `trunk = yes`):
  /// one datagram per 20 ms for all calls instead of one per call. Trunk frames are always
  /// received, whatever this says. Stock iaxmodem does not understand them: off by default.
  bool trunk = false;
  /// In trunk frames, each call's frame carries its own timestamp (exact playout order at the
  /// far end); off: only the trunk's timestamp (2 bytes less per call and frame).
  bool trunkTimestamps = true;
  /// The peer must prove its address with a CALLTOKEN (RFC 5456's extension, as Asterisk's
  /// `requirecalltoken = yes`) before its NEW, REGREQ or REGREL opens a session. false: requests
  /// naming this peer without a CALLTOKEN IE (stock iaxmodem, libiax2 clients) are still taken,
  /// rate limited per source; from a peer with a static host only from that host.
  bool callTokenRequired = true;
};

/// A registration of ours to a PBX (as iaxmodem registers to Asterisk).
struct RegistrationConfig {
  std::string server;
  int port = 4569;
  std::string username;
  std::string secret;
  int refreshSeconds = 60;
  /// As PeerConfig::trunk / trunkTimestamps, for calls through this registration.
  bool trunk = false;
  bool trunkTimestamps = true;
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
  std::size_t jitterPrefillFrames = 5;  // 100 ms: fax survives delay, not gaps
  int pingIntervalMs = 10'000;
  int maxSessions = 1024;
  /// Sessions whose peer has not authenticated yet (waiting for AUTHREP / the second REGREQ):
  /// at most this many per source address, at most half of maxSessions in all, each for at most
  /// unprovenLifeMs. A flood cannot take the slots of authenticated calls.
  int maxUnprovenPerSource = 32;
  int unprovenLifeMs = 5000;
  bool logFrames = false;
};

/// `Unreachable`: our NEW was never answered at all (no call was placed); `Timeout`: the far end
/// stopped answering during the call.
enum class EndKind { Hangup, Reject, Busy, Congestion, Timeout, Unreachable };

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
  std::string name;   // username@server or peer name
  bool ours = false;  // true: we register to a PBX; false: a peer registered to us
  bool registered = false;
  std::string address;
  std::int64_t expiresAtMs = 0;
  std::string lastError;
};

struct EngineStats {
  std::uint64_t framesIn = 0;
  std::uint64_t framesOut = 0;
  std::uint64_t dropped = 0;  // malformed, unknown call, wrong source
  std::uint64_t retransmits = 0;
  std::uint64_t authFailures = 0;
  std::uint64_t trunkFramesIn = 0;   // meta trunk datagrams accepted
  std::uint64_t trunkFramesOut = 0;  // meta trunk datagrams sent
  std::uint64_t trunkDropped = 0;    // malformed trunk datagrams and entries of unknown calls
  std::uint64_t callTokensSent = 0;  // stateless CALLTOKEN answers to NEW/REGREQ/REGREL
  std::uint64_t pongsSent = 0;       // stateless PONG answers to POKE
  /// NEW/REGREQ/REGREL/POKE that opened nothing and got no answer: no or a stale CALLTOKEN where
  /// one is needed, too short to answer without amplification, a source over its limits or
  /// blocked after failed authentications.
  std::uint64_t unprovenDropped = 0;
};

class Engine {
 public:
  Engine(EngineConfig config, Transport& transport, EngineListener& listener);
  Engine(EngineConfig config, Transport& transport, EngineListener& listener, HostLookup& hosts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Replaces the configuration (API changes). Registrations are restarted, calls stay up.
  void reconfigure(EngineConfig config, std::int64_t nowMs);
  const EngineConfig& config() const { return config_; }

  /// A datagram from the network. NEW, REGREQ and REGREL from an address that has not proven
  /// itself get a stateless CALLTOKEN answer (never longer than the request) and open a session
  /// only when they echo a fresh token; POKE gets a stateless PONG.
  void onDatagram(const std::uint8_t* data, std::size_t len, const Address& from,
                  std::int64_t nowMs);
  /// Timers: retransmissions, registration refresh, pings, cleanup. Call every 20-50 ms.
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
  void sendVoice(std::uint16_t call, const std::uint8_t* data, std::size_t len, std::int64_t nowMs);
  /// Sends the trunk frames filled since the last flush (calls of trunk peers). The owner calls
  /// it once all calls had their media tick (the end of a loop iteration); a trunk frame that
  /// fills up goes out at once.
  void flushTrunks();
  /// The next received frame to play this tick (jitter buffer), or nullptr.
  const VoiceFrame* popVoice(std::uint16_t call);
  /// Host names the configuration uses (peers, registrars), to resolve ahead of need.
  std::vector<std::string> hostNames() const;
  std::uint32_t format(std::uint16_t call) const;
  bool up(std::uint16_t call) const;
  std::string peerOf(std::uint16_t call) const;

  std::vector<RegistrationStatus> registrations(std::int64_t nowMs) const;
  const EngineStats& stats() const { return stats_; }
  std::size_t sessionCount() const { return sessions_.size(); }

 private:
  struct Session;
  // One trunk frame being filled, per far end (address and entry form).
  struct TrunkOut {
    Address addr;
    bool timestamps = true;
    std::int64_t epochMs = 0;
    int users = 0;  // sessions sending through it
    bool dirty = false;
    TrunkWriter writer;
  };
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
  void setRemote(Session& s, std::uint16_t remote);
  void eraseSession(std::uint16_t local);
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
  void onTrunk(const std::uint8_t* data, std::size_t len, const Address& from);
  std::uint32_t unwrapMiniTs(Session& s, std::uint16_t ts);
  std::uint32_t trunkRxTs(Session& s, std::uint32_t trunkTs, std::size_t len);
  void sendTrunked(Session& s, const std::uint8_t* data, std::size_t len, std::int64_t nowMs);
  void releaseTrunk(Session& s);

  void onNew(Session& s, const IeList& ies, std::int64_t nowMs);
  void onAuthRep(Session& s, const IeList& ies, std::int64_t nowMs);
  void acceptInbound(Session& s, std::int64_t nowMs);
  void onRegReq(Session& s, const IeList& ies, std::int64_t nowMs);
  void onRegRel(Session& s, const IeList& ies, std::int64_t nowMs);
  void challengeRegistration(Session& s, const std::string& user, std::int64_t nowMs);
  bool registrationProven(Session& s, const std::string& user, const std::string& result,
                          std::int64_t nowMs);
  void onAuthReqForCall(Session& s, const IeList& ies, std::int64_t nowMs);
  void onRegClientReply(Session& s, const FullFrame& f, const IeList& ies, std::int64_t nowMs);
  void endCall(Session& s, EndKind kind, int cause, const std::string& text, bool notify,
               std::int64_t nowMs);
  void startRegistration(OurRegistration& r, std::int64_t nowMs);
  void sendRegReq(Session& s, OurRegistration& r, const std::string& challenge, std::int64_t nowMs);

  const PeerConfig* peerByName(const std::string& name) const;
  const PeerConfig* peerByAddress(const Address& a) const;
  std::optional<std::uint32_t> chooseFormat(std::uint32_t wanted, std::uint32_t capability) const;
  std::uint32_t capability() const;
  std::string newChallenge();

  // Stateless front door (frontdoor.cc): CALLTOKEN, POKE, per-source limits.
  std::string callToken(const Address& from, std::int64_t epoch) const;
  bool callTokenValid(const std::string& token, const Address& from, std::int64_t nowMs) const;
  /// May a request without a valid token (or a tokenless legacy request) open a session?
  bool admitNewSession(const FullFrame& f, const IeList& ies, const Address& from,
                       std::size_t requestLen, std::int64_t nowMs);
  void sendStateless(const FullFrame& in, const Address& to, Cmd cmd, const IeList& ies,
                     std::size_t requestLen);
  bool legacyAllowed(const IeList& ies, const Address& from) const;
  void markProven(Session& s);
  void forgetUnproven(Session& s);
  void authFailed(const Address& from, std::int64_t nowMs);

  struct RemoteKey {
    Address addr;
    std::uint16_t call = 0;
    bool operator==(const RemoteKey& o) const { return call == o.call && addr == o.addr; }
  };
  struct RemoteKeyHash {
    std::size_t operator()(const RemoteKey& k) const {
      return k.addr.hash() ^ (static_cast<std::size_t>(k.call) * 0x9e3779b97f4a7c15ull);
    }
  };

  EngineConfig config_;
  Transport& transport_;
  EngineListener& listener_;
  HostLookup defaultHosts_;
  HostLookup& hosts_;
  std::map<std::uint16_t, std::unique_ptr<Session>> sessions_;
  // Call number -> session, for the per-frame lookups (15-bit call numbers: 32768 slots).
  std::vector<Session*> byNumber_ = std::vector<Session*>(0x8000, nullptr);
  // (far end address, far end call number) -> our call number: mini frames name only the
  // sender's call number, and hundreds of calls each send 50 a second.
  std::unordered_map<RemoteKey, std::uint16_t, RemoteKeyHash> byRemote_;
  std::map<std::string, PeerState> peerState_;
  std::vector<OurRegistration> ours_;
  std::vector<std::unique_ptr<TrunkOut>> trunkOuts_;  // a few: one per trunk peer host
  std::vector<TrunkOut*> dirtyTrunks_;
  std::vector<TrunkEntry> trunkEntries_;  // parse storage, reused
  std::uint16_t nextCallNo_ = 1;
  // Key of the CALLTOKEN HMAC (random per process: tokens live seconds).
  std::uint8_t tokenKey_[32] = {};
  // Failed authentications and answers to unproven addresses, per source (shared with SIP).
  sip::SourceGate gate_;
  // Sessions not yet authenticated, per source key, and in all.
  std::unordered_map<std::string, int> unprovenBySource_;
  int unproven_ = 0;
  std::int64_t lastTokenlessLogMs_ = INT64_MIN / 2;
  EngineStats stats_;
  std::uint64_t rng_;
};

}  // namespace vfax::trunks::iax2
