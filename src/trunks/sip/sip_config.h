#pragma once
// The SIP trunk's settings and status as plain data: what the config file's [sip] section, the
// API (GET|PUT /api/v1/trunks/sip) and the CLI (vfax trunk sip) read and write, and what the
// trunk (sip_trunk.h) runs on. Checks and text forms live in sip_settings.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vfax::trunks::sip {

enum class SipTransport { Udp, Tcp, Tls };
/// "udp" | "tcp" | "tls" (here, not in sip_settings.h: the SIP stack names transports too).
inline std::string transportName(SipTransport t) {
  switch (t) {
    case SipTransport::Tcp:
      return "tcp";
    case SipTransport::Tls:
      return "tls";
    case SipTransport::Udp:
      break;
  }
  return "udp";
}

/// Where the trunk listens for SIP: one socket per entry.
struct SipListen {
  SipTransport transport = SipTransport::Udp;
  std::string address = "127.0.0.1";  // numeric; listening beyond loopback is the admin's choice
  int port = 5060;                    // 0: any free port (tests)
};

/// Where our caller id goes in outbound INVITEs: the From user, a P-Asserted-Identity header,
/// or both.
enum class CallerIdMode { From, Pai, Both };

/// A PBX or gateway we exchange calls with directly (no registration).
struct SipPeerConfig {
  std::string name;
  /// Addresses or networks ("10.0.0.5", "10.1.0.0/16", "::1") calls from this peer come from.
  /// An INVITE is accepted only from a source matching a peer (and, when `secret` is set,
  /// after a digest challenge). Empty: only by digest (username + secret required then).
  std::vector<std::string> match;
  /// Where calls to this peer go: "pbx.example.com", "10.0.0.5"; empty: inbound only.
  std::string host;
  int port = 5060;
  SipTransport transport = SipTransport::Udp;
  /// Inbound: with a secret, the peer's INVITEs must answer our digest challenge with these.
  /// Outbound: the credentials we answer the peer's challenge with.
  std::string username;
  std::string secret;
  /// Domain of our From/To URIs toward this peer (default: host).
  std::string domain;
  CallerIdMode callerId = CallerIdMode::From;
  /// Per-peer T.38 switch (the [sip] t38 mode applies when true).
  bool t38 = true;
  /// OPTIONS keep-alive toward `host` every this many seconds (0: off).
  int keepaliveSeconds = 60;
};

/// A registration of ours to a PBX or SIP provider; calls arriving through it are accepted
/// (they come from the registrar's address, or carry our contact), and it can carry outbound
/// calls.
struct SipRegistrationConfig {
  std::string name;
  std::string registrar;  // host or host:port
  /// A second registrar used while the first does not answer (failover); empty: none.
  std::string backupRegistrar;
  SipTransport transport = SipTransport::Udp;
  std::string username;      // user part of the address of record
  std::string authUsername;  // digest user name (default: username)
  std::string secret;
  std::string domain;  // domain of the address of record (default: the registrar's host)
  int expires = 300;   // seconds asked for; refreshed before it runs out
  CallerIdMode callerId = CallerIdMode::From;
  bool t38 = true;
};

/// When vfax asks for T.38: never (audio only, T.38 offers refused with 488), only when the far
/// end asks (accept), after answering when fax tones are heard (detect, the default), or right
/// after the call is answered (immediate).
enum class T38Mode { Off, Accept, Detect, Immediate };
/// T38FaxUdpEC: error correction we offer/accept on UDPTL.
enum class UdptlEc { None, Redundancy, Fec };

struct SipT38Config {
  T38Mode mode = T38Mode::Detect;
  int maxBitRate = 14400;  // T38MaxBitRate
  int maxDatagram = 400;   // T38FaxMaxDatagram we can receive
  UdptlEc ec = UdptlEc::Redundancy;
  int redundancyDepth = 3;  // secondary IFPs carried per UDPTL packet (redundancy)
};

struct SipConfig {
  std::vector<SipListen> listen{SipListen{}};
  std::vector<SipPeerConfig> peers;
  std::vector<SipRegistrationConfig> registrations;
  /// Where outbound calls go when no route names a SIP trunk: a peer or registration name.
  /// Empty: the first registration, else the first peer with a host.
  std::string outbound;
  /// Audio codecs offered and accepted, most preferred first: "PCMA", "PCMU".
  std::vector<std::string> codecs{"PCMA", "PCMU"};
  SipT38Config t38;
  /// RFC 4028: Session-Expires we ask for and the smallest we accept (Min-SE).
  int sessionExpires = 1800;
  int minSessionExpires = 90;
  /// UDP ports for RTP/UDPTL (one per call, even numbers).
  int rtpPortMin = 10000;
  int rtpPortMax = 20000;
  /// Address put in SDP (c=) when the listen address is a wildcard; empty: the listen address.
  std::string mediaAddress;
  /// TLS: verify the far end's certificate (against `tlsCaFile`, or the system's CAs).
  bool tlsVerify = true;
  std::string tlsCaFile;
  std::string tlsCert;  // our certificate and key (PEM) for TLS listeners
  std::string tlsKey;
  std::string userAgent = "vfax";
};

/// Thread-safe snapshot for the API, /lines and metrics.
struct SipRegistrationStatus {
  std::string name;
  bool registered = false;
  std::string registrar;         // the one in use now ("backup" after a failover)
  std::string lastError;         // empty when fine
  std::int64_t expiresAtMs = 0;  // wall clock, 0 when not registered
};
struct SipPeerStatus {
  std::string name;
  bool reachable = false;  // last OPTIONS answered (always true without keep-alive)
  std::string lastError;
};
/// Media counters of SIP calls (loop thread; a call's are added to the trunk's when it ends).
struct SipMediaStats {
  std::uint64_t foreign = 0;         // RTP/UDPTL datagrams not from the call's far end
  std::uint64_t audioLate = 0;       // RTP frames that came after their slot was played
  std::uint64_t audioOverflows = 0;  // RTP frames dropped: jitter buffer full, or drift trim
  std::uint64_t audioUnderruns = 0;  // ticks with no frame to play once playing had begun
  std::uint64_t t38Lost = 0;         // UDPTL sequence numbers never received nor repaired
  std::uint64_t t38Recovered = 0;    // IFPs rebuilt from redundancy or FEC
  std::uint64_t t38Oversized = 0;    // IFPs too large for the far end's datagram size: not sent
  SipMediaStats& operator+=(const SipMediaStats& o) {
    foreign += o.foreign;
    audioLate += o.audioLate;
    audioOverflows += o.audioOverflows;
    audioUnderruns += o.audioUnderruns;
    t38Lost += o.t38Lost;
    t38Recovered += o.t38Recovered;
    t38Oversized += o.t38Oversized;
    return *this;
  }
};
struct SipStats {
  std::uint64_t invitesIn = 0;
  std::uint64_t invitesRefused = 0;  // unknown source, failed digest, no line, ...
  std::uint64_t authFailures = 0;
  std::uint64_t t38Switches = 0;
  std::uint64_t t38Refused = 0;  // 488/415 to our T.38 re-INVITE
  std::uint64_t sessionRefreshes = 0;
  std::uint64_t droppedPackets = 0;  // from unknown sources, throttled
  SipMediaStats media;               // of the calls that ended since start
};
struct SipStatus {
  bool running = false;
  std::vector<std::string> listening;  // "udp:127.0.0.1:5060"
  std::string error;                   // why it is not running
  std::vector<SipRegistrationStatus> registrations;
  std::vector<SipPeerStatus> peers;
  SipStats stats;
  int calls = 0;
};

}  // namespace vfax::trunks::sip

namespace vfax::trunks::sip {

/// What the admin side (sip_admin.h) needs of a running SIP trunk; SipTrunk implements it.
/// Both methods may be called from any thread.
class SipTrunkControl {
 public:
  virtual ~SipTrunkControl() = default;
  /// Applies new settings without a restart: registrations and peers are added, changed or
  /// dropped; listeners are reopened when `listen` changed (calls in progress on a removed
  /// listener keep their media but cannot be re-INVITEd).
  virtual void reconfigure(SipConfig config) = 0;
  /// A snapshot (waits for the trunk's threads, bounded).
  virtual SipStatus status() = 0;
};

}  // namespace vfax::trunks::sip
