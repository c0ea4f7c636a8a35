#pragma once
// Inside Signalling (sip_signalling.h): the state of the SIP half and its parts, one file each.
// Only the trunk's own signalling files include this. Everything here runs on the SIP thread.
#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "trunks/sip/libre.h"
#include "trunks/sip/sip_gate.h"
#include "trunks/sip/sip_signalling.h"
#include "trunks/sip/sip_text.h"

namespace vfax::trunks::sip {

inline constexpr const char* kAllow = "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n";

struct Signalling::Call {
  Impl* impl = nullptr;
  std::uint64_t id = 0;
  bool inbound = false;
  sipsess* sess = nullptr;
  sdp_session* sdp = nullptr;
  sdp_media* audio = nullptr;
  sdp_media* image = nullptr;
  std::string callId;
  std::string sigHost;      // the address the far end's signalling comes from
  std::string name;         // "sip:NAME" of the peer/registration
  std::string destination;  // T.38 memory key: peer/registration name + number
  bool t38Allowed = true;   // settings of the peer/registration and [sip] t38
  MediaKind media = MediaKind::Audio;
  bool answered = false;    // 2xx sent (inbound) or received (outbound)
  bool offerless = false;   // inbound INVITE without SDP: our 200 carries the offer
  bool t38Pending = false;  // our T.38 re-INVITE awaits its final answer
  std::int64_t t38SwitchedAtMs = 0;
  T38Params t38Offer;  // what we offered (or answered) last
  LocalMedia local;
  RemoteMedia remote;
  // Session timer (RFC 4028).
  int sessionExpires = 0;
  bool weRefresh = false;
  tmr refreshTimer{};
  tmr watchdogTimer{};
  std::int64_t lastRefreshMs = 0;
  bool ended = false;
  bool tls = false;            // outbound over TLS
  std::int64_t startedMs = 0;  // monotonic, when dialled
};

struct Signalling::Registration {
  Impl* impl = nullptr;
  SipRegistrationConfig config;
  sipreg* reg = nullptr;
  bool usingBackup = false;
  bool registered = false;
  int failures = 0;
  std::string lastError;
  std::int64_t expiresAtMs = 0;
  std::string registrarHost;  // of the registrar in use (numeric once resolved)
  tmr failoverTimer{};
};

struct Signalling::Peer {
  Impl* impl = nullptr;
  SipPeerConfig config;
  bool reachable = true;
  std::string lastError;
  struct sip_request* options = nullptr;
  tmr keepaliveTimer{};
};

struct Signalling::Impl {
  SignallingEvents& events;
  SipConfig config;
  ::sip* stack = nullptr;
  ::sipsess_sock* sessSock = nullptr;
  ::sip_lsnr* lsnr = nullptr;
  ::dnsc* dns = nullptr;
  ::tls* tlsCtx = nullptr;
  std::vector<std::string> listening;
  std::string listenError;
  tmr listenRetry{};
  int listenRetryMs = 1000;
  std::map<std::uint64_t, std::unique_ptr<Call>> calls;
  std::map<std::string, Call*> byCallId;
  std::vector<std::unique_ptr<Registration>> registrations;
  std::vector<std::unique_ptr<Peer>> peers;
  /// Destinations where T.38 failed (refused or dropped right after the switch): next
  /// attempts stay in G.711. Key -> until (monotonic ms).
  std::map<std::string, std::int64_t> noT38;
  SourceGate gate;
  SipStats stats;
  // Digest answers already accepted (nonce/nc/cnonce), oldest first; bounded.
  std::unordered_set<std::string> usedDigests;
  std::deque<std::string> usedOrder;
  std::array<std::uint8_t, 16> nonceKey{};
  std::uint64_t nextInboundId = 1ULL << 62;  // inbound ids apart from the media half's
  bool stopping = false;
  bool closing = false;  // sip_close(stack, false) called: our reference is handed over
  bool exited = false;   // libre called onExit: the stack is done
  int stopBudgetMs = 800;
  std::function<void()> stopDone;
  tmr stopTimer{};
  tmr finishTimer{};
  /// The last far-end certificate our TLS client refused, and when (monotonic ms). The verify
  /// callback cannot name the far end (libre runs TLS over its own BIO, without a socket), so a
  /// TLS call or registration that fails after it names this reason.
  std::string tlsRefusal;
  std::int64_t tlsRefusalAtMs = -1;

  Impl(SignallingEvents& e, SipConfig c);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // --- the stack: listeners, TLS, start, stop, settings, status (sip_stack.cc) ------------------

  void start();
  void openListeners();
  static void onListenRetry(void* arg);
  static std::string fmtList(const std::vector<std::string>& v);
  int ensureTls();
  /// Why requests over `t` cannot be sent ("" when they can): libre sends only over the
  /// transports we listen on.
  std::string transportMissing(SipTransport t) const;
  static int onTlsVerify(int ok, X509_STORE_CTX* store);
  void tlsRefused(std::string why);
  /// Why our TLS client last refused a certificate, if it did at or after `sinceMs`; else "".
  std::string tlsRefusedSince(std::int64_t sinceMs) const;
  static bool readFile(const std::string& path, std::string& out);
  void stop(int budgetMs, std::function<void()> done);
  static void onDrained(void* arg);
  void closeStack();
  void releaseSockets();
  static void onStopTimer(void* arg);
  static void onExit(void* arg);
  static void onFinish(void* arg);
  void finish();
  void reconfigure(SipConfig next);
  SipStatus status() const;

  // --- peers (OPTIONS keep-alive) and registrations (sip_registrations.cc) ----------------------

  void applyPeers();
  void dropPeer(Peer& p);
  std::string peerUri(const Peer& p, const std::string& user) const;
  std::string peerDomain(const Peer& p) const;
  static void onKeepalive(void* arg);
  static void onOptionsReply(int err, const sip_msg* msg, void* arg);
  void applyRegistrations();
  static bool sameRegistration(const SipRegistrationConfig& a, const SipRegistrationConfig& b);
  void dropRegistration(Registration& r);
  std::string registrationDomain(const Registration& r) const;
  void startRegistration(Registration& r);
  static void onRegRetry(void* arg);
  static int onRegAuth(char** user, char** pass, const char* realm, void* arg);
  static void onRegReply(int err, const sip_msg* msg, void* arg);

  // --- the gate: who may talk to us (digest, strangers) (sip_access.cc) -------------------------

  struct Source {
    Peer* peer = nullptr;
    Registration* registration = nullptr;
  };
  Source identify(const sip_msg* msg);
  Peer* digestOnlyPeer(const sip_msg* msg);
  std::string makeNonce(const sip_msg* msg);
  std::string nonceFor(std::uint64_t t, const std::string& host);
  bool nonceValid(const std::string& nonce, const sip_msg* msg);
  bool checkDigest(Peer& p, const sip_msg* msg);
  void authFailed(const sip_msg* msg, const std::string& why);
  void replyToSource(const sip_msg* msg, int scode, const char* reason);
  static bool onRequest(const sip_msg* msg, void* arg);
  bool gateRequest(const sip_msg* msg);

  // --- SDP (sip_sdp.cc) -------------------------------------------------------------------------

  /// What the remote SDP (just decoded) says about the far end's media.
  struct Remote {
    bool audio = false;
    bool image = false;
    RemoteMedia media;
    T38Params t38;  // the far end's T.38 parameters as it wrote them
    std::string codec;
  };
  bool makeSdp(Call& c, const sa* laddr);
  void setLocalPorts(Call& c);
  void setT38Attributes(Call& c, const T38Params& p);
  static std::vector<std::pair<std::string, std::string>> remoteAttributes(const sdp_media* m);
  Remote readRemote(Call& c);
  std::unique_ptr<mbuf, void (*)(mbuf*)> encode(Call& c, bool offer);

  // --- calls (sip_signalling.cc) ----------------------------------------------------------------

  static void onConnect(const sip_msg* msg, void* arg);
  void inboundInvite(const sip_msg* msg);
  void answer(std::uint64_t id, LocalMedia local);
  void reject(std::uint64_t id, HangupCause cause);
  void dial(std::uint64_t id, const DialRequest& raw, const std::string& route, LocalMedia local);
  static int onPeerAuth(char** user, char** pass, const char* realm, void* arg);
  static void onProgress(const sip_msg* msg, void* arg);
  static int onOffer(mbuf** descp, const sip_msg* msg, void* arg);
  int farOffer(Call& c, mbuf** descp, const sip_msg* msg);
  static int onAnswer(const sip_msg* msg, void* arg);
  int farAnswer(Call& c, const sip_msg* msg);
  static void onEstablished(const sip_msg* msg, void* arg);
  static void onClose(int err, const sip_msg* msg, void* arg);
  void closed(Call& c, int err, const sip_msg* msg);
  void requestT38(std::uint64_t id);
  void askForT38(Call& c);
  void restoreAudio(Call& c);
  void t38Refused(Call& c, const std::string& why);
  void remember(const std::string& destination, const std::string& why);
  bool rememberedNoT38(const std::string& destination);
  static void onTrace(bool tx, sip_transp tp, const sa* src, const sa* dst, const std::uint8_t* pkt,
                      std::size_t len, void* arg);
  void traceResponse(const std::uint8_t* pkt, std::size_t len, const sa* src);
  void startSessionTimer(Call& c);
  static void onRefresh(void* arg);
  static void onWatchdog(void* arg);
  void refresh(Call& c);
  void hangup(std::uint64_t id, const HangupCause& cause);
  void endCall(Call& c, const HangupCause& cause, bool erase);
  void releaseCall(Call& c);
  void forget(Call& c);
  Call* find(std::uint64_t id);
};

}  // namespace vfax::trunks::sip
