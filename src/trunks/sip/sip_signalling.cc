#include "trunks/sip/sip_signalling.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <unordered_set>

#include "core/address_match.h"
#include "core/log_safe.h"
#include "trunks/sip/libre.h"
#include "trunks/sip/sip_gate.h"

namespace vfax::trunks::sip {

namespace {

constexpr const char* kAllow = "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n";
constexpr const char* kRealm = "vfax";

int boundedInt(const char* text, int max);

std::string plStr(const pl& p) { return p.p ? std::string(p.p, p.l) : std::string(); }

std::int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::int64_t monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sip_transp toLibre(SipTransport t) {
  switch (t) {
    case SipTransport::Tcp:
      return SIP_TRANSP_TCP;
    case SipTransport::Tls:
      return SIP_TRANSP_TLS;
    case SipTransport::Udp:
      break;
  }
  return SIP_TRANSP_UDP;
}
const char* transportParam(SipTransport t) {
  switch (t) {
    case SipTransport::Tcp:
      return ";transport=tcp";
    case SipTransport::Tls:
      return ";transport=tls";
    case SipTransport::Udp:
      break;
  }
  return "";
}
const char* transportName(SipTransport t) {
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

std::string errText(int err) {
  char buf[128];
  return str_error(err, buf, sizeof buf);
}

/// "host", "host:port", "[v6]:port" into host and port (default `defPort`).
void splitHostPort(const std::string& text, std::string& host, int& port, int defPort) {
  host = text;
  port = defPort;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close != std::string::npos) {
      host = text.substr(1, close - 1);
      if (close + 2 < text.size() && text[close + 1] == ':') {
        port = boundedInt(text.c_str() + close + 2, 65535);
      }
    }
    return;
  }
  auto colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = boundedInt(text.c_str() + colon + 1, 65535);
  }
}

std::string hostForUri(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::optional<reactor::SockAddr> toSockAddr(const sa* a) {
  if (!a || !sa_isset(a, SA_ADDR)) return std::nullopt;
  reactor::SockAddr out;
  std::memcpy(&out.ss, &a->u, std::min(sizeof(out.ss), sizeof(a->u)));
  out.len = a->len;
  return out;
}

std::string saHost(const sa* a) {
  char buf[64] = {};
  if (sa_ntop(a, buf, sizeof buf) != 0) return {};
  return buf;
}

/// The Q.850-based cause for a final SIP status (RFC 3398 mapping).
HangupCause causeForStatus(int scode, const std::string& reason) {
  HangupCause c;
  c.text = std::to_string(scode) + " " + reason;
  switch (scode) {
    case 486:
    case 600:
      c.reason = HangupReason::Busy;
      c.code = 17;
      break;
    case 480:
    case 408:
    case 487:
      c.reason = HangupReason::NoAnswer;
      c.code = scode == 487 ? 16 : 19;
      break;
    case 404:
    case 484:
    case 604:
      c.reason = HangupReason::Rejected;
      c.code = scode == 484 ? 28 : 1;
      break;
    case 403:
    case 603:
    case 401:
    case 407:
      c.reason = HangupReason::Rejected;
      c.code = 21;
      break;
    case 500:
    case 502:
    case 503:
    case 504:
      // The far side's server trouble: no call was placed, try again later.
      c.reason = HangupReason::Unavailable;
      c.code = scode == 503 ? 34 : 38;
      break;
    default:
      c.reason = scode >= 400 ? HangupReason::Failure : HangupReason::Normal;
      c.code = scode >= 400 ? 31 : 16;
      break;
  }
  return c;
}

/// A URI user part from a dial string or caller number: only characters that need no escaping
/// (RFC 3261 "unreserved" and the telephone-subscriber ones we use); anything else is dropped,
/// so nothing from a document, mail or device setting can inject into our headers.
std::string uriUser(const std::string& in) {
  std::string out;
  for (char ch : in) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("+*#-_.!~", ch) != nullptr) {
      out += ch;
    }
    if (out.size() >= 64) break;
  }
  return out;
}

/// A display name for From: printable, no quotes or backslashes, at most 48 characters.
std::string displayName(const std::string& in) {
  std::string out;
  for (char ch : in) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == '"' || ch == '\\') continue;
    out += ch;
    if (out.size() >= 48) break;
  }
  return out;
}

/// A decimal number at the start of `text`, clamped to 0..max (never undefined behaviour).
int boundedInt(const char* text, int max) {
  long long v = 0;
  while (*text == ' ') ++text;
  for (; *text >= '0' && *text <= '9'; ++text) {
    v = v * 10 + (*text - '0');
    if (v > max) return max;
  }
  return static_cast<int>(v);
}

/// RFC 4028 Session-Expires: "1800;refresher=uac".
struct SessionExpires {
  int seconds = 0;
  std::string refresher;  // "uac", "uas" or empty
};
std::optional<SessionExpires> parseSessionExpires(const sip_msg* msg) {
  const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
  if (!h) h = sip_msg_xhdr(msg, "x");  // compact form "x"
  if (!h) return std::nullopt;
  std::string v = plStr(h->val);
  SessionExpires se;
  se.seconds = boundedInt(v.c_str(), 86'400);
  auto pos = v.find("refresher=");
  if (pos != std::string::npos) {
    se.refresher = v.substr(pos + 10, 3);
    std::transform(se.refresher.begin(), se.refresher.end(), se.refresher.begin(), ::tolower);
  }
  if (se.seconds <= 0) return std::nullopt;
  return se;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

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
  Signalling& self;
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

  Impl(Signalling& s, SignallingEvents& e, SipConfig c) : self(s), events(e), config(std::move(c)) {
    rand_bytes(nonceKey.data(), nonceKey.size());
    tmr_init(&listenRetry);
    tmr_init(&stopTimer);
    tmr_init(&finishTimer);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  void start() {
    if (!dns) {
      std::array<sa, 4> ns{};
      std::uint32_t nsCount = ns.size();
      char domain[64] = "";
      if (dns_srv_get(domain, sizeof domain, ns.data(), &nsCount) != 0) nsCount = 0;
      (void)dnsc_alloc(&dns, nullptr, ns.data(), nsCount);
    }
    int err = sip_alloc(&stack, dns, 64, 64, 64, config.userAgent.c_str(), &Impl::onExit, this);
    if (err) {
      listenError = "the SIP stack could not start: " + errText(err);
      events.sigState(false, listenError);
      return;
    }
    sip_set_trace_handler(stack, &Impl::onTrace);
    // Our gate first: it sees every request before the session layer.
    (void)sip_listen(&lsnr, stack, true, &Impl::onRequest, this);
    (void)sipsess_listen(&sessSock, stack, 64, &Impl::onConnect, this);
    openListeners();
    applyPeers();
    applyRegistrations();
  }

  void openListeners() {
    listening.clear();
    std::string problems;
    sip_transp_flush(stack);
    for (const auto& l : config.listen) {
      sa addr{};
      if (sa_set_str(&addr, l.address.c_str(), static_cast<std::uint16_t>(l.port)) != 0) {
        problems += (problems.empty() ? "" : "; ") + std::string("bad listen address ") + l.address;
        continue;
      }
      int err = 0;
      if (l.transport == SipTransport::Tls) {
        err = ensureTls();
        if (!err) err = sip_transp_add(stack, SIP_TRANSP_TLS, &addr, tlsCtx);
      } else {
        err = sip_transp_add(stack, toLibre(l.transport), &addr);
      }
      std::string text =
          std::string(transportName(l.transport)) + ":" +
          (l.address.find(':') != std::string::npos ? "[" + l.address + "]" : l.address) + ":" +
          std::to_string(l.port);
      if (err) {
        problems += (problems.empty() ? "" : "; ") + std::string("cannot listen on ") + text +
                    ": " + errText(err);
        continue;
      }
      listening.push_back(text);
    }
    listenError = problems;
    if (problems.empty()) {
      listenRetryMs = 1000;
      events.sigState(true, {});
      spdlog::info("sip: listening on {}", fmtList(listening));
    } else {
      spdlog::warn("sip: {} (retrying)", problems);
      events.sigState(false, problems);
      tmr_start(&listenRetry, listenRetryMs, &Impl::onListenRetry, this);
      listenRetryMs = std::min(listenRetryMs * 2, 30'000);
    }
  }
  static void onListenRetry(void* arg) {
    auto* impl = static_cast<Impl*>(arg);
    if (!impl->stopping) impl->openListeners();
  }
  static std::string fmtList(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  }

  int ensureTls() {
    if (tlsCtx) return 0;
    const char* keyfile = nullptr;
    int err = tls_alloc(&tlsCtx, TLS_METHOD_SSLV23, keyfile, nullptr);
    if (err) return err;
    if (!config.tlsCert.empty()) {
      std::string cert, key;
      if (!readFile(config.tlsCert, cert) || !readFile(config.tlsKey, key)) return EINVAL;
      err = tls_set_certificate_pem(tlsCtx, cert.data(), cert.size(), key.data(), key.size());
      if (err) return err;
    } else {
      err = tls_set_selfsigned(tlsCtx, "vfax");
      if (err) return err;
    }
    auto* ctx = static_cast<SSL_CTX*>(tls_openssl_context(tlsCtx));
    if (ctx && config.tlsVerify) {
      // Outgoing TLS connections verify the far end's chain (system CAs or tls_ca_file).
      if (!config.tlsCaFile.empty()) {
        (void)tls_add_ca(tlsCtx, config.tlsCaFile.c_str());
      } else {
        SSL_CTX_set_default_verify_paths(ctx);
      }
      // One context serves both roles: as a client we verify the server's chain; as a server
      // we take what a PBX presents (peers are checked by address and digest, not certificates).
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int ok, X509_STORE_CTX* store) -> int {
        auto* ssl = static_cast<SSL*>(
            X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        return (ssl && SSL_is_server(ssl)) ? 1 : ok;
      });
    }
    if (ctx) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    return 0;
  }
  static bool readFile(const std::string& path, std::string& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
    return !out.empty();
  }

  // Stopping follows libre's ownership rules: sip_close(stack, false) hands our reference of the
  // stack over; once its last transaction is done, libre calls onExit from inside the stack's
  // destructor with a reference of its own again, which we drop later (never from inside).
  //   1. end calls (BYE/CANCEL) and registrations (REGISTER Expires: 0); wait half the budget;
  //   2. close the session socket and our listener (they hold the stack), sip_close(false);
  //   3. onExit -> a zero timer -> finish: the last mem_deref of the stack, then `done`.
  // If the stack is not done by the end of the budget, its requests are closed by force; if even
  // that leaves it alive, it is left to the thread's end (leaked, never freed twice).
  void stop(int budgetMs, std::function<void()> done) {
    stopping = true;
    stopDone = std::move(done);
    stopBudgetMs = std::max(budgetMs, 100);
    tmr_cancel(&listenRetry);
    for (auto& [id, call] : calls) {
      (void)id;
      endCall(*call, normalCause("vfax is stopping"), false);
    }
    calls.clear();
    byCallId.clear();
    for (auto& p : peers) dropPeer(*p);
    peers.clear();
    for (auto& r : registrations) dropRegistration(*r);  // un-REGISTERs while the stack runs
    registrations.clear();
    if (!stack) {
      finish();
      return;
    }
    tmr_start(&stopTimer, static_cast<std::uint64_t>(stopBudgetMs / 2), &Impl::onDrained, this);
  }
  static void onDrained(void* arg) { static_cast<Impl*>(arg)->closeStack(); }
  void closeStack() {
    releaseSockets();
    if (stack && !closing) {
      closing = true;
      sip_close(stack, false);  // may call onExit right here
    }
    if (!exited) {
      tmr_start(&stopTimer, static_cast<std::uint64_t>(stopBudgetMs / 2), &Impl::onStopTimer, this);
    }
  }
  void releaseSockets() {
    if (sessSock) {
      sipsess_close_all(sessSock);  // sessions still waiting for an ACK or a BYE's answer
      sessSock = static_cast<sipsess_sock*>(mem_deref(sessSock));
    }
    if (lsnr) lsnr = static_cast<sip_lsnr*>(mem_deref(lsnr));
  }
  static void onStopTimer(void* arg) {
    auto* impl = static_cast<Impl*>(arg);
    if (impl->stack && !impl->exited) sip_close(impl->stack, true);
    if (!impl->exited) {
      spdlog::warn("sip: the SIP stack did not finish within {} ms", impl->stopBudgetMs);
      impl->stack = nullptr;  // our reference was handed over; it goes with the thread
      impl->finish();
    }
  }
  static void onExit(void* arg) {
    auto* impl = static_cast<Impl*>(arg);
    impl->exited = true;
    tmr_start(&impl->finishTimer, 0, &Impl::onFinish, impl);
  }
  static void onFinish(void* arg) { static_cast<Impl*>(arg)->finish(); }
  void finish() {
    tmr_cancel(&stopTimer);
    tmr_cancel(&finishTimer);
    releaseSockets();
    if (stack) {
      if (exited) stack = static_cast<::sip*>(mem_deref(stack));  // libre's re-reference
      stack = nullptr;
    }
    if (tlsCtx) tlsCtx = static_cast<::tls*>(mem_deref(tlsCtx));
    if (dns) dns = static_cast<dnsc*>(mem_deref(dns));
    if (auto done = std::move(stopDone)) done();
  }
  /// Destroyed without stop() (or before it finished): everything goes at once.
  ~Impl() {
    tmr_cancel(&listenRetry);
    tmr_cancel(&stopTimer);
    tmr_cancel(&finishTimer);
    for (auto& [id, call] : calls) {
      (void)id;
      releaseCall(*call);
    }
    calls.clear();
    for (auto& p : peers) dropPeer(*p);
    for (auto& r : registrations) dropRegistration(*r);
    releaseSockets();
    if (stack) {
      if (!closing) {
        sip_close(stack, true);
        mem_deref(stack);  // our reference: the stack goes now
      } else if (exited) {
        mem_deref(stack);
      }
      stack = nullptr;  // else handed over and not done: left to the thread's end
    }
    stopDone = nullptr;
    if (tlsCtx) mem_deref(tlsCtx);
    if (dns) mem_deref(dns);
  }

  void reconfigure(SipConfig next) {
    bool listenChanged = next.listen.size() != config.listen.size();
    for (std::size_t i = 0; !listenChanged && i < next.listen.size(); ++i) {
      const auto& a = next.listen[i];
      const auto& b = config.listen[i];
      listenChanged = a.transport != b.transport || a.address != b.address || a.port != b.port;
    }
    bool tlsChanged = next.tlsCert != config.tlsCert || next.tlsKey != config.tlsKey ||
                      next.tlsVerify != config.tlsVerify || next.tlsCaFile != config.tlsCaFile;
    config = std::move(next);
    if (tlsChanged && tlsCtx) tlsCtx = static_cast<::tls*>(mem_deref(tlsCtx));
    if (stack && (listenChanged || tlsChanged)) openListeners();
    applyPeers();
    applyRegistrations();
    spdlog::info("sip: settings applied ({} peers, {} registrations)", peers.size(),
                 registrations.size());
  }

  // --- peers and keep-alive -----------------------------------------------------------------

  void applyPeers() {
    for (auto& p : peers) dropPeer(*p);
    peers.clear();
    for (const auto& pc : config.peers) {
      auto p = std::make_unique<Peer>();
      p->impl = this;
      p->config = pc;
      tmr_init(&p->keepaliveTimer);
      if (!pc.host.empty() && pc.keepaliveSeconds > 0 && stack) {
        tmr_start(&p->keepaliveTimer, 1000, &Impl::onKeepalive, p.get());
      }
      peers.push_back(std::move(p));
    }
  }
  void dropPeer(Peer& p) {
    tmr_cancel(&p.keepaliveTimer);
    if (p.options) p.options = static_cast<struct sip_request*>(mem_deref(p.options));
  }
  std::string peerUri(const Peer& p, const std::string& user) const {
    std::string uri = "sip:";
    if (!user.empty()) uri += user + "@";
    uri += hostForUri(p.config.host) + ":" + std::to_string(p.config.port) +
           transportParam(p.config.transport);
    return uri;
  }
  std::string peerDomain(const Peer& p) const {
    return p.config.domain.empty() ? hostForUri(p.config.host) : p.config.domain;
  }
  static void onKeepalive(void* arg) {
    auto* p = static_cast<Peer*>(arg);
    Impl* impl = p->impl;
    if (impl->stopping || !impl->stack) return;
    if (!p->options) {
      std::string uri = impl->peerUri(*p, "");
      std::string from = "sip:vfax@" + impl->peerDomain(*p);
      int err = sip_requestf(&p->options, impl->stack, true, "OPTIONS", uri.c_str(), nullptr,
                             nullptr, nullptr, &Impl::onOptionsReply, p,
                             "To: <%s>\r\n"
                             "From: <%s>;tag=%016llx\r\n"
                             "Call-ID: %016llx@vfax\r\n"
                             "CSeq: 1 OPTIONS\r\n"
                             "Max-Forwards: 70\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n",
                             uri.c_str(), from.c_str(), static_cast<unsigned long long>(rand_u64()),
                             static_cast<unsigned long long>(rand_u64()));
      if (err) {
        p->reachable = false;
        p->lastError = "OPTIONS could not be sent: " + errText(err);
      }
    }
    tmr_start(&p->keepaliveTimer, static_cast<std::uint64_t>(p->config.keepaliveSeconds) * 1000,
              &Impl::onKeepalive, p);
  }
  static void onOptionsReply(int err, const sip_msg* msg, void* arg) {
    auto* p = static_cast<Peer*>(arg);
    p->options = static_cast<struct sip_request*>(mem_deref(p->options));
    bool was = p->reachable;
    if (err || !msg) {
      p->reachable = false;
      p->lastError = "no answer to OPTIONS (" + errText(err) + ")";
    } else {
      // Any answer (200, 404, 405 ...) proves the peer's SIP stack is there.
      p->reachable = true;
      p->lastError.clear();
    }
    if (was != p->reachable) {
      spdlog::info("sip: peer {} is {}", p->config.name,
                   p->reachable ? "reachable" : core::logSafe("unreachable: " + p->lastError, 400));
    }
  }

  // --- registrations --------------------------------------------------------------------------

  void applyRegistrations() {
    // Keep registrations whose settings did not change: a re-REGISTER for nothing would
    // briefly unregister us at some providers.
    std::vector<std::unique_ptr<Registration>> next;
    for (const auto& rc : config.registrations) {
      std::unique_ptr<Registration> keep;
      for (auto& r : registrations) {
        if (r && sameRegistration(r->config, rc)) {
          keep = std::move(r);
          break;
        }
      }
      if (!keep) {
        keep = std::make_unique<Registration>();
        keep->impl = this;
        keep->config = rc;
        tmr_init(&keep->failoverTimer);
        if (stack) startRegistration(*keep);
      } else {
        keep->config = rc;  // names and caller id may change without a new REGISTER
      }
      next.push_back(std::move(keep));
    }
    for (auto& r : registrations) {
      if (r) dropRegistration(*r);
    }
    registrations = std::move(next);
  }
  static bool sameRegistration(const SipRegistrationConfig& a, const SipRegistrationConfig& b) {
    return a.registrar == b.registrar && a.backupRegistrar == b.backupRegistrar &&
           a.transport == b.transport && a.username == b.username &&
           a.authUsername == b.authUsername && a.secret == b.secret && a.domain == b.domain &&
           a.expires == b.expires;
  }
  void dropRegistration(Registration& r) {
    tmr_cancel(&r.failoverTimer);
    if (r.reg) r.reg = static_cast<sipreg*>(mem_deref(r.reg));  // sends REGISTER Expires: 0
    r.registered = false;
  }
  std::string registrationDomain(const Registration& r) const {
    if (!r.config.domain.empty()) return r.config.domain;
    std::string host;
    int port;
    splitHostPort(r.config.registrar, host, port, 5060);
    return hostForUri(host);
  }
  void startRegistration(Registration& r) {
    if (r.reg) r.reg = static_cast<sipreg*>(mem_deref(r.reg));
    const std::string& server = r.usingBackup && !r.config.backupRegistrar.empty()
                                    ? r.config.backupRegistrar
                                    : r.config.registrar;
    std::string host;
    int port;
    splitHostPort(server, host, port, r.config.transport == SipTransport::Tls ? 5061 : 5060);
    r.registrarHost = host;
    std::string regUri =
        "sip:" + hostForUri(host) + ":" + std::to_string(port) + transportParam(r.config.transport);
    std::string aor = "sip:" + r.config.username + "@" + registrationDomain(r);
    int err = sipreg_register(&r.reg, stack, regUri.c_str(), aor.c_str(), nullptr, aor.c_str(),
                              static_cast<std::uint32_t>(r.config.expires),
                              r.config.username.c_str(), nullptr, 0, 0, &Impl::onRegAuth, &r, false,
                              &Impl::onRegReply, &r, nullptr, "%s", kAllow);
    if (err) {
      r.lastError = "REGISTER could not be sent to " + server + ": " + errText(err);
      spdlog::warn("sip: registration {}: {}", r.config.name, core::logSafe(r.lastError, 400));
      tmr_start(&r.failoverTimer, 5000, &Impl::onRegRetry, &r);
    } else {
      spdlog::info("sip: registering {} at {}", aor, server);
    }
  }
  static void onRegRetry(void* arg) {
    auto* r = static_cast<Registration*>(arg);
    if (!r->impl->stopping && r->impl->stack) r->impl->startRegistration(*r);
  }
  static int onRegAuth(char** user, char** pass, const char* realm, void* arg) {
    (void)realm;
    auto* r = static_cast<Registration*>(arg);
    const std::string& u =
        r->config.authUsername.empty() ? r->config.username : r->config.authUsername;
    int err = str_dup(user, u.c_str());
    err |= str_dup(pass, r->config.secret.c_str());
    return err;
  }
  static void onRegReply(int err, const sip_msg* msg, void* arg) {
    auto* r = static_cast<Registration*>(arg);
    Impl* impl = r->impl;
    bool was = r->registered;
    if (err) {
      r->registered = false;
      r->lastError = "no answer from the registrar (" + errText(err) + ")";
    } else if (msg && msg->scode >= 200 && msg->scode < 300) {
      r->registered = true;
      r->failures = 0;
      r->lastError.clear();
      std::uint32_t expires = sipreg_proxy_expires(r->reg);
      if (expires == 0) expires = static_cast<std::uint32_t>(r->config.expires);
      r->expiresAtMs = wallMs() + static_cast<std::int64_t>(expires) * 1000;
      if (msg->src.len) r->registrarHost = saHost(&msg->src);
    } else if (msg && msg->scode >= 300) {
      r->registered = false;
      r->lastError = std::to_string(msg->scode) + " " + plStr(msg->reason);
    }
    if (!r->registered) {
      r->expiresAtMs = 0;
      ++r->failures;
      // Two failures in a row with a backup configured: switch registrars (and back later).
      if (r->failures >= 2 && !r->config.backupRegistrar.empty() && !impl->stopping) {
        r->usingBackup = !r->usingBackup;
        r->failures = 0;
        spdlog::warn("sip: registration {}: {}; trying the {} registrar", r->config.name,
                     core::logSafe(r->lastError, 400), r->usingBackup ? "backup" : "primary");
        tmr_start(&r->failoverTimer, 0, &Impl::onRegRetry, r);
      }
    }
    if (was != r->registered) {
      if (r->registered) {
        spdlog::info("sip: registered {} at {}", r->config.name,
                     r->usingBackup ? r->config.backupRegistrar : r->config.registrar);
      } else {
        spdlog::warn("sip: registration {} lost: {}", r->config.name,
                     core::logSafe(r->lastError, 400));
      }
    }
  }

  // --- the gate: who may talk to us -----------------------------------------------------------

  struct Source {
    Peer* peer = nullptr;
    Registration* registration = nullptr;
  };
  Source identify(const sip_msg* msg) {
    Source s;
    std::string host = saHost(&msg->src);
    if (host.empty()) return s;
    for (auto& p : peers) {
      if (!p->config.match.empty() && core::addressAllowed(host, p->config.match)) {
        s.peer = p.get();
        return s;
      }
    }
    for (auto& r : registrations) {
      if (!r->registrarHost.empty() && r->registrarHost == host) {
        s.registration = r.get();
        return s;
      }
    }
    return s;
  }
  Peer* digestOnlyPeer(const sip_msg* msg) {
    const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
    std::string user;
    if (h) {
      httpauth_digest_resp resp{};
      if (httpauth_digest_response_decode(&resp, &h->val) == 0) user = plStr(resp.username);
    }
    for (auto& p : peers) {
      if (!p->config.match.empty() || p->config.secret.empty()) continue;
      if (user.empty() || user == p->config.username) return p.get();
    }
    return nullptr;
  }

  std::string makeNonce(const sip_msg* msg) {
    std::uint64_t t = static_cast<std::uint64_t>(monoMs() / 1000);
    return nonceFor(t, saHost(&msg->src));
  }
  std::string nonceFor(std::uint64_t t, const std::string& host) {
    std::string data(reinterpret_cast<const char*>(nonceKey.data()), nonceKey.size());
    data += std::to_string(t) + "/" + host;
    std::uint8_t digest[16];
    md5(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), digest);
    char out[64];
    std::snprintf(out, sizeof out, "%llx.", static_cast<unsigned long long>(t));
    std::string nonce = out;
    for (auto b : digest) {
      std::snprintf(out, sizeof out, "%02x", b);
      nonce += out;
    }
    return nonce;
  }
  bool nonceValid(const std::string& nonce, const sip_msg* msg) {
    auto dot = nonce.find('.');
    if (dot == std::string::npos) return false;
    std::uint64_t t = std::strtoull(nonce.substr(0, dot).c_str(), nullptr, 16);
    std::uint64_t now = static_cast<std::uint64_t>(monoMs() / 1000);
    if (t > now || now - t > 300) return false;
    return nonce == nonceFor(t, saHost(&msg->src));
  }

  /// Checks the INVITE's digest against the peer's credentials. True: authenticated. False:
  /// a reply was sent (401 challenge, or 403 for wrong credentials).
  bool checkDigest(Peer& p, const sip_msg* msg) {
    const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
    auto challenge = [&](bool stale) {
      // Challenges cost nothing to ask for: rate limited per source like the 403s.
      if (!gate.mayAnswer(saHost(&msg->src), monoMs())) {
        ++stats.droppedPackets;
        return;
      }
      std::string nonce = makeNonce(msg);
      (void)sip_replyf(stack, msg, 401, "Unauthorized",
                       "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, "
                       "qop=\"auth\"%s\r\n"
                       "Content-Length: 0\r\n\r\n",
                       kRealm, nonce.c_str(), stale ? ", stale=true" : "");
    };
    if (!h) {
      challenge(false);
      return false;
    }
    httpauth_digest_resp resp{};
    if (httpauth_digest_response_decode(&resp, &h->val) != 0) {
      authFailed(msg, "malformed Authorization header");
      return false;
    }
    std::string nonce = plStr(resp.nonce);
    if (!nonceValid(nonce, msg)) {
      challenge(true);
      return false;
    }
    // The answer is for this request (its URI) and is used once (nonce, count, cnonce): a
    // captured Authorization cannot place another call.
    if (plStr(resp.uri) != plStr(msg->ruri)) {
      authFailed(msg, "digest for another URI");
      return false;
    }
    const std::string use = nonce + "/" + plStr(resp.nc) + "/" + plStr(resp.cnonce);
    if (usedDigests.count(use)) {
      authFailed(msg, "a digest answer used before (replay)");
      return false;
    }
    std::string ha1src = p.config.username + ":" + plStr(resp.realm) + ":" + p.config.secret;
    std::uint8_t ha1[16];
    md5(reinterpret_cast<const std::uint8_t*>(ha1src.data()), ha1src.size(), ha1);
    if (plStr(resp.username) != p.config.username || plStr(resp.realm) != kRealm ||
        httpauth_digest_response_auth(&resp, &msg->met, ha1) != 0) {
      authFailed(msg, "wrong credentials for peer " + p.config.name);
      return false;
    }
    usedDigests.insert(use);
    usedOrder.push_back(use);
    while (usedOrder.size() > 4096) {
      usedDigests.erase(usedOrder.front());
      usedOrder.pop_front();
    }
    return true;
  }
  void authFailed(const sip_msg* msg, const std::string& why) {
    ++stats.authFailures;
    std::string host = saHost(&msg->src);
    // A peer's own addresses are never blocked: spoofed bad digests from them would lock the real
    // PBX out. Its answers stay rate limited.
    bool peerAddress = false;
    for (const auto& p : peers) {
      peerAddress |= !p->config.match.empty() && core::addressAllowed(host, p->config.match);
    }
    if (!peerAddress) gate.recordFailure(host, monoMs());
    spdlog::warn("sip: INVITE from {} refused: {}", host, core::logSafe(why, 400));
    if (gate.mayAnswer(host, monoMs())) replyToSource(msg, 403, "Forbidden");
  }

  /// A stateless final answer sent to the packet's source address, never to its Via: a forged
  /// Via cannot turn us into a reflector toward someone else, and nothing is kept.
  void replyToSource(const sip_msg* msg, int scode, const char* reason) {
    mbuf* mb = mbuf_alloc(512);
    if (!mb) return;
    int err = mbuf_printf(mb, "SIP/2.0 %d %s\r\n", scode, reason);
    err |= mbuf_printf(mb, "Via: %r\r\n", &msg->via.val);
    err |= mbuf_printf(mb, "From: %r\r\n", &msg->from.val);
    err |= mbuf_printf(mb, "To: %r%s\r\n", &msg->to.val,
                       pl_isset(&msg->to.tag) ? "" : ";tag=vfax-refused");
    err |= mbuf_printf(mb, "Call-ID: %r\r\n", &msg->callid);
    err |= mbuf_printf(mb, "CSeq: %u %r\r\n", msg->cseq.num, &msg->cseq.met);
    err |= mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
    mb->pos = 0;
    // Never more bytes back than came in (compact headers can make a request smaller than our
    // answer): a spoofed source must not make us an amplifier.
    if (!err && msg->mb && mb->end <= msg->mb->end) {
      (void)sip_send(stack, msg->sock, msg->tp, &msg->src, mb);
    }
    mem_deref(mb);
  }

  /// Requests outside our sessions (OPTIONS, REGISTER, ...) and every request from a source
  /// that is not ours. Returns true when the request was handled here.
  static bool onRequest(const sip_msg* msg, void* arg) {
    auto* impl = static_cast<Impl*>(arg);
    return impl->gateRequest(msg);
  }
  bool gateRequest(const sip_msg* msg) {
    const std::string method = plStr(msg->met);
    std::string callId = plStr(msg->callid);
    bool inDialog = pl_isset(&msg->to.tag) != 0;
    if (inDialog && byCallId.count(callId)) return false;  // our session's: sipsess handles it
    if (method == "ACK") return false;                     // ACKs of our replies
    Source src = identify(msg);
    bool known = src.peer || src.registration;
    std::string host = saHost(&msg->src);
    std::int64_t now = monoMs();
    if (gate.blocked(host, now)) {
      ++stats.droppedPackets;
      return true;
    }
    if (method == "INVITE" && !inDialog) {
      if (known || digestOnlyPeer(msg)) return false;  // onConnect decides
      ++stats.invitesIn;
      ++stats.invitesRefused;
      if (gate.mayAnswer(host, now)) {
        spdlog::info("sip: INVITE from unknown source {} refused (403)", host);
        replyToSource(msg, 403, "Forbidden");
      } else {
        ++stats.droppedPackets;
      }
      return true;
    }
    if (method == "CANCEL") {
      // Matched to its INVITE by the stack: only for calls we took, or from sources we know.
      if (byCallId.count(callId) || known) return false;
      ++stats.droppedPackets;
      return true;
    }
    if (!known) {
      // Scanners (OPTIONS/REGISTER/...) from unknown sources: no answer at all.
      ++stats.droppedPackets;
      return true;
    }
    if (method == "OPTIONS") {
      (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 200, "OK",
                        "%sAccept: application/sdp\r\nContent-Length: 0\r\n\r\n", kAllow);
      return true;
    }
    if (inDialog && (method == "BYE" || method == "INVITE" || method == "INFO")) {
      (void)sip_treply(nullptr, stack, msg, 481, "Call/Transaction Does Not Exist");
      return true;
    }
    (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 405, "Method Not Allowed",
                      "%sContent-Length: 0\r\n\r\n", kAllow);
    return true;
  }

  // --- SDP ------------------------------------------------------------------------------------

  /// A session description with our audio (codecs of the settings) and image (T.38) media.
  bool makeSdp(Call& c, const sa* laddr) {
    sa addr = *laddr;
    if (!config.mediaAddress.empty()) (void)sa_set_str(&addr, config.mediaAddress.c_str(), 0);
    if (sdp_session_alloc(&c.sdp, &addr) != 0) return false;
    if (sdp_media_add(&c.audio, c.sdp, sdp_media_audio, 0, sdp_proto_rtpavp) != 0) return false;
    for (const auto& codec : config.codecs) {
      if (codec == "PCMA") {
        (void)sdp_format_add(nullptr, c.audio, false, "8", "PCMA", 8000, 1, nullptr, nullptr,
                             nullptr, false, nullptr);
      } else if (codec == "PCMU") {
        (void)sdp_format_add(nullptr, c.audio, false, "0", "PCMU", 8000, 1, nullptr, nullptr,
                             nullptr, false, nullptr);
      }
    }
    sdp_media_set_lattr(c.audio, true, "ptime", "20");
    if (sdp_media_add(&c.image, c.sdp, "image", 0, "udptl") != 0) return false;
    (void)sdp_format_add(nullptr, c.image, false, "t38", nullptr, 0, 0, nullptr, nullptr, nullptr,
                         false, nullptr);
    sdp_media_set_disabled(c.image, true);
    return true;
  }
  void setLocalPorts(Call& c) {
    sdp_media_set_lport(c.audio, static_cast<std::uint16_t>(c.local.rtpPort));
    sdp_media_set_lport(c.image, static_cast<std::uint16_t>(c.local.udptlPort));
  }
  void setT38Attributes(Call& c, const T38Params& p) {
    for (const char* name :
         {"T38FaxVersion", "T38MaxBitRate", "T38FaxRateManagement", "T38FaxMaxBuffer",
          "T38FaxMaxDatagram", "T38FaxUdpEC", "T38FaxFillBitRemoval", "T38FaxTranscodingMMR",
          "T38FaxTranscodingJBIG"}) {
      sdp_media_del_lattr(c.image, name);
    }
    for (const auto& [name, value] : formatT38Attributes(p)) {
      if (value.empty()) {
        (void)sdp_media_set_lattr(c.image, true, name.c_str(), nullptr);
      } else {
        (void)sdp_media_set_lattr(c.image, true, name.c_str(), "%s", value.c_str());
      }
    }
  }
  static std::vector<std::pair<std::string, std::string>> remoteAttributes(const sdp_media* m) {
    std::vector<std::pair<std::string, std::string>> out;
    (void)sdp_media_rattr_apply(
        m, nullptr,
        [](const char* name, const char* value, void* arg) -> bool {
          static_cast<std::vector<std::pair<std::string, std::string>>*>(arg)->emplace_back(
              name ? name : "", value ? value : "");
          return false;
        },
        &out);
    return out;
  }
  /// What the remote SDP (just decoded) says about the far end's media.
  struct Remote {
    bool audio = false;
    bool image = false;
    RemoteMedia media;
    T38Params t38;  // the far end's T.38 parameters as it wrote them
    std::string codec;
  };
  Remote readRemote(Call& c) {
    Remote r;
    if (const sdp_format* f = sdp_media_rformat(c.audio, nullptr)) {
      if (auto a = toSockAddr(sdp_media_raddr(c.audio)); a && sdp_media_rport(c.audio) != 0) {
        r.audio = true;
        r.media.audio = *a;
        r.media.payloadType = f->pt;
        r.codec = f->pt == kPtPcmu ? "PCMU" : "PCMA";
      }
    }
    if (sdp_media_rport(c.image) != 0) {
      if (auto a = toSockAddr(sdp_media_raddr(c.image))) {
        auto params = parseT38Attributes(remoteAttributes(c.image));
        if (params) {
          r.image = true;
          r.media.image = *a;
          r.t38 = *params;
        } else {
          spdlog::warn("sip: call {}: T.38 offer ignored: {}", core::logSafe(c.callId),
                       core::logSafe(params.error().message, 400));
        }
      }
    }
    return r;
  }
  std::unique_ptr<mbuf, void (*)(mbuf*)> encode(Call& c, bool offer) {
    mbuf* mb = nullptr;
    if (sdp_encode(&mb, c.sdp, offer) != 0) mb = nullptr;
    return {mb, [](mbuf* m) { mem_deref(m); }};
  }

  // --- inbound calls --------------------------------------------------------------------------

  static void onConnect(const sip_msg* msg, void* arg) {
    static_cast<Impl*>(arg)->inboundInvite(msg);
  }
  void inboundInvite(const sip_msg* msg) {
    ++stats.invitesIn;
    if (stopping) {
      (void)sip_treply(nullptr, stack, msg, 503, "Service Unavailable");
      return;
    }
    Source src = identify(msg);
    Peer* authPeer = src.peer;
    if (!src.peer && !src.registration) authPeer = digestOnlyPeer(msg);
    if (!src.peer && !src.registration && !authPeer) {
      ++stats.invitesRefused;
      replyToSource(msg, 403, "Forbidden");
      return;
    }
    if (authPeer && !authPeer->config.secret.empty() && !checkDigest(*authPeer, msg)) {
      ++stats.invitesRefused;
      return;
    }
    if (authPeer) src.peer = authPeer;
    // RFC 4028: a session interval below our minimum is refused with our Min-SE.
    auto se = parseSessionExpires(msg);
    if (se && se->seconds < config.minSessionExpires) {
      (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 422, "Session Interval Too Small",
                        "Min-SE: %d\r\nContent-Length: 0\r\n\r\n", config.minSessionExpires);
      ++stats.invitesRefused;
      return;
    }
    auto call = std::make_unique<Call>();
    Call& c = *call;
    c.impl = this;
    c.id = nextInboundId++;
    c.inbound = true;
    c.callId = plStr(msg->callid);
    c.sigHost = saHost(&msg->src);
    tmr_init(&c.refreshTimer);
    tmr_init(&c.watchdogTimer);
    c.name = src.peer ? src.peer->config.name : src.registration->config.name;
    c.t38Allowed = config.t38.mode != T38Mode::Off &&
                   (src.peer ? src.peer->config.t38 : src.registration->config.t38);
    if (!makeSdp(c, &msg->dst)) {
      (void)sip_treply(nullptr, stack, msg, 500, "Server Internal Error");
      return;
    }
    Remote remote;
    if (mbuf_get_left(msg->mb) > 0) {
      if (c.t38Allowed) sdp_media_set_disabled(c.image, false);
      int err = sdp_decode(c.sdp, msg->mb, true);
      if (err) {
        (void)sip_treply(nullptr, stack, msg, 400, "Bad Session Description");
        return;
      }
      remote = readRemote(c);
      if (remote.image && c.t38Allowed && !remote.audio) {
        c.media = MediaKind::T38;
        c.t38Offer = answerT38(remote.t38, config.t38);
        remote.media.kind = MediaKind::T38;
        remote.media.t38 = c.t38Offer;  // we send within what we answered
        remote.media.t38.maxDatagram = remote.t38.maxDatagram;
      } else if (remote.audio) {
        c.media = MediaKind::Audio;
        remote.media.kind = MediaKind::Audio;
      } else {
        ++stats.invitesRefused;
        (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 488, "Not Acceptable Here",
                          "Warning: 304 vfax \"no usable media (G.711 or T.38)\"\r\n"
                          "Content-Length: 0\r\n\r\n");
        return;
      }
    } else {
      c.offerless = true;  // our 200 OK offers audio; the ACK answers
      remote.media.kind = MediaKind::Audio;
    }
    // Session timer.
    if (se) {
      bool uacSupports = sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "timer");
      c.sessionExpires = se->seconds;
      c.weRefresh = se->refresher == "uas" || (se->refresher.empty() && !uacSupports);
    }
    bool require100rel = sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "100rel");
    std::string cuser = plStr(msg->uri.user);
    if (cuser.empty()) cuser = "vfax";
    std::string headers = std::string(kAllow);
    int err = sipsess_accept(&c.sess, sessSock, msg, require100rel ? 100 : 180,
                             require100rel ? "Trying" : "Ringing", cuser.c_str(), "application/sdp",
                             nullptr, nullptr, nullptr, false, &Impl::onOffer, &Impl::onAnswer,
                             &Impl::onEstablished, nullptr, nullptr, &Impl::onClose, &c, "%s",
                             headers.c_str());
    if (err) {
      (void)sip_treply(nullptr, stack, msg, 500, "Server Internal Error");
      return;
    }
    CallInfo info;
    info.trunk = "sip:" + c.name;
    info.direction = CallDirection::Inbound;
    info.calledNumber = plStr(msg->uri.user);
    // Through a registration the Request-URI is our contact (user = the account); a provider
    // with several numbers on one account names the dialled one in To.
    const std::string toUser = plStr(msg->to.uri.user);
    if (info.calledNumber.empty() ||
        (src.registration && info.calledNumber == src.registration->config.username &&
         !toUser.empty())) {
      info.calledNumber = toUser;
    }
    info.callerNumber = plStr(msg->from.uri.user);
    if (const sip_hdr* pai = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY)) {
      sip_addr a{};
      if (sip_addr_decode(&a, &pai->val) == 0 && pl_isset(&a.uri.user)) {
        info.callerNumber = plStr(a.uri.user);
      }
    }
    info.callerName = plStr(msg->from.dname);
    if (info.callerName.size() >= 2 && info.callerName.front() == '"') {
      info.callerName = info.callerName.substr(1, info.callerName.size() - 2);
    }
    info.callerName = displayName(info.callerName);
    info.callerNumber = uriUser(info.callerNumber);
    info.calledNumber = uriUser(info.calledNumber);
    info.media = c.media;
    info.codec = c.media == MediaKind::Audio ? (remote.codec.empty() ? "PCMA" : remote.codec) : "";
    c.destination = c.name + "/" + info.callerNumber;
    c.remote = remote.media;
    spdlog::info("sip: call {} from {} \"{}\" ({}) to '{}' via {}, {}", core::logSafe(c.callId),
                 core::logSafe(info.callerNumber), core::logSafe(info.callerName),
                 saHost(&msg->src), core::logSafe(info.calledNumber), core::logSafe(info.trunk),
                 c.media == MediaKind::T38 ? "T.38" : core::logSafe(info.codec));
    byCallId[c.callId] = &c;
    std::uint64_t id = c.id;
    calls[id] = std::move(call);
    events.sigInbound(id, info, remote.media);
  }

  void answer(std::uint64_t id, LocalMedia local) {
    Call* c = find(id);
    if (!c || c->answered || !c->sess) return;
    c->local = local;
    setLocalPorts(*c);
    if (c->media == MediaKind::T38) {
      sdp_media_set_disabled(c->audio, true);
      sdp_media_set_disabled(c->image, false);
      setT38Attributes(*c, c->t38Offer);
    } else {
      sdp_media_set_disabled(c->image, true);
    }
    auto desc = encode(*c, c->offerless);
    std::string headers;
    if (c->sessionExpires > 0) {
      headers = "Session-Expires: " + std::to_string(c->sessionExpires) +
                ";refresher=" + (c->weRefresh ? "uas" : "uac") + "\r\n";
      if (!c->weRefresh) headers += "Require: timer\r\n";
    }
    headers += "Supported: timer\r\n";
    int err = sipsess_answer(c->sess, 200, "OK", desc.get(), "%s", headers.c_str());
    if (err) {
      spdlog::warn("sip: call {}: answer failed: {}", core::logSafe(c->callId), errText(err));
      endCall(*c, HangupCause{HangupReason::Failure, 41, "answer failed"}, true);
      return;
    }
    c->answered = true;
    startSessionTimer(*c);
  }

  void reject(std::uint64_t id, HangupCause cause) {
    Call* c = find(id);
    if (!c) return;
    if (c->sess && !c->answered && c->inbound) {
      int scode = cause.reason == HangupReason::Busy ? 486 : 480;
      const char* text = scode == 486 ? "Busy Here" : "Temporarily Unavailable";
      if (cause.code == 21) {
        scode = 403;
        text = "Forbidden";
      } else if (cause.code == 1) {
        scode = 404;
        text = "Not Found";
      }
      (void)sipsess_reject(c->sess, static_cast<std::uint16_t>(scode), text, nullptr);
    }
    forget(*c);
  }

  // --- outbound calls -------------------------------------------------------------------------

  void dial(std::uint64_t id, const DialRequest& raw, const std::string& route, LocalMedia local) {
    DialRequest request = raw;
    request.number = uriUser(raw.number);
    request.callerNumber = uriUser(raw.callerNumber);
    request.callerName = displayName(raw.callerName);
    auto fail = [&](HangupCause cause) { events.sigEnded(id, std::move(cause)); };
    if (request.number.empty()) {
      fail({HangupReason::Rejected, 28, "the number '" + raw.number + "' cannot be dialled"});
      return;
    }
    if (stopping || !stack) {
      fail({HangupReason::Unavailable, 41, "the SIP trunk is stopping"});
      return;
    }
    Peer* peer = nullptr;
    Registration* reg = nullptr;
    std::string target = route.empty() ? config.outbound : route;
    for (auto& p : peers) {
      if (p->config.host.empty()) continue;
      if (target.empty() ? !peer : p->config.name == target) peer = p.get();
    }
    for (auto& r : registrations) {
      if (target.empty() ? !reg : r->config.name == target) reg = r.get();
    }
    if (target.empty() && reg) peer = nullptr;  // default: the first registration, else a peer
    if (!target.empty() && reg && peer) peer = nullptr;
    if (!peer && !reg) {
      fail({HangupReason::Failure, 3,
            target.empty() ? "no SIP peer or registration can place calls"
                           : "no SIP peer or registration named '" + target + "'"});
      return;
    }
    auto call = std::make_unique<Call>();
    Call& c = *call;
    c.impl = this;
    c.id = id;
    c.local = local;
    tmr_init(&c.refreshTimer);
    tmr_init(&c.watchdogTimer);
    c.name = peer ? peer->config.name : reg->config.name;
    c.t38Allowed = config.t38.mode != T38Mode::Off && (peer ? peer->config.t38 : reg->config.t38) &&
                   !rememberedNoT38(c.name + "/" + request.number);
    c.destination = c.name + "/" + request.number;
    std::string domain = peer ? peerDomain(*peer) : registrationDomain(*reg);
    std::string toUri;
    std::vector<std::string> routes;
    if (peer) {
      toUri = peerUri(*peer, request.number);
    } else {
      std::string host;
      int port;
      const std::string& server = reg->usingBackup && !reg->config.backupRegistrar.empty()
                                      ? reg->config.backupRegistrar
                                      : reg->config.registrar;
      splitHostPort(server, host, port, reg->config.transport == SipTransport::Tls ? 5061 : 5060);
      toUri = "sip:" + request.number + "@" + domain;
      // libre writes each route as "Route: <URI;lr>" itself.
      routes.push_back("sip:" + hostForUri(host) + ":" + std::to_string(port) +
                       transportParam(reg->config.transport));
    }
    CallerIdMode mode = peer ? peer->config.callerId : reg->config.callerId;
    std::string account = peer ? (peer->config.username.empty() ? "vfax" : peer->config.username)
                               : reg->config.username;
    std::string caller = request.callerNumber.empty() ? account : request.callerNumber;
    std::string fromUser = mode == CallerIdMode::Pai ? account : caller;
    std::string fromUri = "sip:" + fromUser + "@" + domain;
    std::string headers = kAllow;
    headers += "Supported: timer\r\n";
    headers += "Session-Expires: " + std::to_string(config.sessionExpires) + "\r\n";
    headers += "Min-SE: " + std::to_string(config.minSessionExpires) + "\r\n";
    if (mode != CallerIdMode::From) {
      headers += "P-Asserted-Identity: <sip:" + caller + "@" + domain + ">\r\n";
    }
    // The local address the far end will reach us on: the transport's toward the target.
    sa laddr{};
    {
      std::string host;
      int port;
      splitHostPort(peer ? peer->config.host : reg->config.registrar, host, port, 5060);
      sa dst{};
      if (sa_set_str(&dst, host.c_str(), static_cast<std::uint16_t>(port)) != 0 ||
          sip_transp_laddr(stack, &laddr,
                           toLibre(peer ? peer->config.transport : reg->config.transport),
                           &dst) != 0) {
        (void)sip_transp_laddr(stack, &laddr, SIP_TRANSP_UDP, nullptr);
      }
    }
    if (!makeSdp(c, &laddr)) {
      fail({HangupReason::Failure, 41, "SDP could not be built"});
      return;
    }
    setLocalPorts(c);
    auto desc = encode(c, true);
    std::vector<const char*> routev;
    for (const auto& r : routes) routev.push_back(r.c_str());
    void* authArg = peer ? static_cast<void*>(peer) : static_cast<void*>(reg);
    sip_auth_h* authh = peer ? &Impl::onPeerAuth : &Impl::onRegAuth;
    if (peer && peer->config.secret.empty()) authh = nullptr;
    std::string fromName = request.callerName;
    int err = sipsess_connect(
        &c.sess, sessSock, toUri.c_str(), fromName.empty() ? nullptr : fromName.c_str(),
        fromUri.c_str(), account.c_str(), routev.empty() ? nullptr : routev.data(),
        static_cast<std::uint32_t>(routev.size()), "application/sdp", desc.get(), authh, authArg,
        false, &Impl::onOffer, &Impl::onAnswer, &Impl::onProgress, &Impl::onEstablished, nullptr,
        nullptr, &Impl::onClose, &c, "%s", headers.c_str());
    if (err) {
      fail({HangupReason::Unavailable, 41, "INVITE could not be sent: " + errText(err)});
      return;
    }
    c.callId = sip_dialog_callid(sipsess_dialog(c.sess));
    byCallId[c.callId] = &c;
    spdlog::info("sip: call {} to {} via {}", core::logSafe(c.callId), core::logSafe(toUri),
                 c.name);
    calls[id] = std::move(call);
  }
  static int onPeerAuth(char** user, char** pass, const char* realm, void* arg) {
    (void)realm;
    auto* p = static_cast<Peer*>(arg);
    int err = str_dup(user, p->config.username.c_str());
    err |= str_dup(pass, p->config.secret.c_str());
    return err;
  }
  static void onProgress(const sip_msg* msg, void* arg) {
    (void)msg;
    (void)arg;  // 180/183: ringing; early media is not needed for fax and is ignored
  }

  // --- offers and answers during the call ------------------------------------------------------

  /// An SDP offer from the far end: a re-INVITE (T.38 switch, back to audio, a refresh), or the
  /// 2xx of an offerless INVITE we sent. Returning an error makes libre answer 488.
  static int onOffer(mbuf** descp, const sip_msg* msg, void* arg) {
    auto* c = static_cast<Call*>(arg);
    return c->impl->farOffer(*c, descp, msg);
  }
  int farOffer(Call& c, mbuf** descp, const sip_msg* msg) {
    c.lastRefreshMs = monoMs();
    if (auto se = parseSessionExpires(msg)) {
      c.sessionExpires = se->seconds;
      c.weRefresh = se->refresher == "uas" && c.inbound == false ? false : c.weRefresh;
      startSessionTimer(c);
    }
    if (mbuf_get_left(msg->mb) == 0) {
      // Offerless re-INVITE: offer what we have now.
      auto desc = encode(c, true);
      *descp = static_cast<mbuf*>(mem_ref(desc.get()));
      return 0;
    }
    sdp_media_set_disabled(c.image, !c.t38Allowed);
    int err = sdp_decode(c.sdp, msg->mb, true);
    if (err) return err;
    Remote r = readRemote(c);
    MediaKind next = c.media;
    if (r.image && c.t38Allowed && !r.audio) {
      next = MediaKind::T38;
    } else if (r.audio) {
      next = MediaKind::Audio;
    } else {
      // T.38 without permission, or nothing usable: 488, the call stays as it was.
      if (r.image) ++stats.t38Refused;
      return EPROTO;
    }
    RemoteMedia media = r.media;
    media.kind = next;
    if (next == MediaKind::T38) {
      c.t38Offer = answerT38(r.t38, config.t38);
      media.t38 = c.t38Offer;
      media.t38.maxDatagram = r.t38.maxDatagram;
      sdp_media_set_disabled(c.audio, true);
      sdp_media_set_disabled(c.image, false);
      setT38Attributes(c, c.t38Offer);
    } else {
      sdp_media_set_disabled(c.audio, false);
      sdp_media_set_disabled(c.image, true);
    }
    auto desc = encode(c, false);
    if (!desc) return ENOMEM;
    *descp = static_cast<mbuf*>(mem_ref(desc.get()));
    bool changed = next != c.media || !(media.audio == c.remote.audio) ||
                   !(media.image == c.remote.image) || media.payloadType != c.remote.payloadType;
    if (next != c.media) {
      spdlog::info("sip: call {}: the far end switched to {}", core::logSafe(c.callId),
                   next == MediaKind::T38 ? "T.38" : "audio");
      if (next == MediaKind::T38) {
        ++stats.t38Switches;
        c.t38SwitchedAtMs = monoMs();
      }
      c.t38Pending = false;
    } else {
      ++stats.sessionRefreshes;
    }
    c.media = next;
    c.remote = media;
    if (changed) events.sigMedia(c.id, media);
    return 0;
  }

  /// An SDP answer: to our INVITE (2xx), our re-INVITE (T.38 switch or refresh), or in the ACK
  /// of an offerless INVITE.
  static int onAnswer(const sip_msg* msg, void* arg) {
    auto* c = static_cast<Call*>(arg);
    return c->impl->farAnswer(*c, msg);
  }
  int farAnswer(Call& c, const sip_msg* msg) {
    if (mbuf_get_left(msg->mb) == 0) return 0;
    int err = sdp_decode(c.sdp, msg->mb, false);
    if (err) {
      spdlog::warn("sip: call {}: unusable SDP answer: {}", core::logSafe(c.callId), errText(err));
      return err;
    }
    Remote r = readRemote(c);
    c.lastRefreshMs = monoMs();
    if (!c.answered) {
      // First answer: to our INVITE (outbound) or to the offer of our 200 (offerless inbound).
      c.answered = true;
      if (!c.inbound) c.sigHost = saHost(&msg->src);
      if (!r.audio) {
        spdlog::warn("sip: call {}: the answer has no usable audio", core::logSafe(c.callId));
        return EPROTO;
      }
      r.media.kind = MediaKind::Audio;
      c.remote = r.media;
      if (!c.inbound) {
        if (auto se = parseSessionExpires(msg)) {
          c.sessionExpires = se->seconds;
          c.weRefresh = se->refresher != "uas";
        }
        startSessionTimer(c);
        events.sigAnswered(c.id, r.media);
      } else {
        events.sigMedia(c.id, r.media);
      }
      return 0;
    }
    if (c.t38Pending) {
      c.t38Pending = false;
      if (r.image) {
        RemoteMedia media = r.media;
        media.kind = MediaKind::T38;
        media.t38 = effectiveT38(c.t38Offer, r.t38);
        c.media = MediaKind::T38;
        c.remote = media;
        c.t38SwitchedAtMs = monoMs();
        ++stats.t38Switches;
        spdlog::info("sip: call {}: switched to T.38 (version {}, {} bit/s, datagram {})",
                     core::logSafe(c.callId), media.t38.version, media.t38.maxBitRate,
                     media.t38.maxDatagram.value_or(kT38DefaultFarDatagram));
        events.sigMedia(c.id, media);
      } else {
        t38Refused(c, "answered without T.38");
      }
      return 0;
    }
    ++stats.sessionRefreshes;
    return 0;
  }

  /// The dialog is confirmed (our 200 was ACKed, or we ACKed theirs). Immediate mode asks for T.38
  /// now, never before the ACK (a re-INVITE before it is a protocol error to many far ends).
  static void onEstablished(const sip_msg* msg, void* arg) {
    (void)msg;
    auto* c = static_cast<Call*>(arg);
    Impl* impl = c->impl;
    if (c->media == MediaKind::Audio && impl->config.t38.mode == T38Mode::Immediate) {
      impl->askForT38(*c);
    }
  }

  static void onClose(int err, const sip_msg* msg, void* arg) {
    auto* c = static_cast<Call*>(arg);
    c->impl->closed(*c, err, msg);
  }
  void closed(Call& c, int err, const sip_msg* msg) {
    HangupCause cause;
    if (msg && !msg->req && msg->scode >= 300) {
      cause = causeForStatus(msg->scode, plStr(msg->reason));
    } else if (msg && msg->req) {
      cause = normalCause("the far end hung up (" + plStr(msg->met) + ")");
      if (const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_REASON)) {
        std::string v = plStr(h->val);
        auto pos = v.find("cause=");
        if (pos != std::string::npos) cause.code = boundedInt(v.c_str() + pos + 6, 127);
      }
    } else if (err == ECONNRESET) {
      // libre reports a received BYE (or the caller's CANCEL) this way, without the message.
      cause = c.answered ? normalCause("the far end hung up")
                         : HangupCause{HangupReason::Canceled, 16,
                                       "the caller hung up before the "
                                       "answer"};
    } else if (err) {
      cause = c.answered
                  ? HangupCause{HangupReason::Failure, 41, "the call broke: " + errText(err)}
                  : HangupCause{HangupReason::Unavailable, 41,
                                "no answer from the far end's SIP stack (" + errText(err) + ")"};
    } else {
      cause = normalCause();
    }
    // A call that ends soon after switching to T.38 teaches us: next time stay in G.711.
    if (c.media == MediaKind::T38 && c.t38SwitchedAtMs > 0 &&
        monoMs() - c.t38SwitchedAtMs < 15'000) {
      remember(c.destination, "the call dropped right after the switch to T.38");
    }
    spdlog::info("sip: call {} ended: {}", core::logSafe(c.callId), core::logSafe(cause.text, 400));
    std::uint64_t id = c.id;
    forget(c);  // our reference to the terminated session goes with it
    events.sigEnded(id, cause);
  }

  // --- T.38 switch ----------------------------------------------------------------------------

  void requestT38(std::uint64_t id) {
    Call* c = find(id);
    if (!c || !c->answered || c->media == MediaKind::T38 || c->t38Pending) return;
    if (config.t38.mode == T38Mode::Off || config.t38.mode == T38Mode::Accept) return;
    askForT38(*c);
  }
  void askForT38(Call& c) {
    if (!c.t38Allowed || rememberedNoT38(c.destination) || !c.sess) return;
    c.t38Offer = offerT38(config.t38);
    sdp_media_set_disabled(c.audio, true);
    sdp_media_set_disabled(c.image, false);
    setT38Attributes(c, c.t38Offer);
    auto desc = encode(c, true);
    if (!desc) return;
    c.t38Pending = true;
    int err = sipsess_modify(c.sess, desc.get());
    if (err) {
      c.t38Pending = false;
      restoreAudio(c);
      spdlog::warn("sip: call {}: T.38 re-INVITE could not be sent: {}", core::logSafe(c.callId),
                   errText(err));
      return;
    }
    spdlog::info("sip: call {}: asking for T.38", core::logSafe(c.callId));
  }
  void restoreAudio(Call& c) {
    sdp_media_set_disabled(c.audio, false);
    sdp_media_set_disabled(c.image, true);
  }
  void t38Refused(Call& c, const std::string& why) {
    c.t38Pending = false;
    ++stats.t38Refused;
    restoreAudio(c);
    remember(c.destination, why);
    spdlog::info("sip: call {}: T.38 refused ({}); the fax goes on in G.711",
                 core::logSafe(c.callId), core::logSafe(why, 400));
  }
  void remember(const std::string& destination, const std::string& why) {
    if (destination.empty()) return;
    if (noT38.size() > 10'000) noT38.clear();
    noT38[destination] = monoMs() + 24LL * 3600 * 1000;
    spdlog::info("sip: {}: next calls stay in G.711 ({})", core::logSafe(destination),
                 core::logSafe(why, 400));
  }
  bool rememberedNoT38(const std::string& destination) {
    auto it = noT38.find(destination);
    if (it == noT38.end()) return false;
    if (it->second < monoMs()) {
      noT38.erase(it);
      return false;
    }
    return true;
  }

  /// Final answers to our re-INVITEs that libre's session layer keeps to itself (488, 415,
  /// 606...): seen here on the way in.
  static void onTrace(bool tx, sip_transp tp, const sa* src, const sa* dst, const std::uint8_t* pkt,
                      std::size_t len, void* arg) {
    (void)tp;
    (void)dst;
    if (tx || len < 12 || std::memcmp(pkt, "SIP/2.0 ", 8) != 0) return;
    char first = static_cast<char>(pkt[8]);
    if (first < '3' || first > '6') return;
    static_cast<Impl*>(arg)->traceResponse(pkt, len, src);
  }
  void traceResponse(const std::uint8_t* pkt, std::size_t len, const sa* src) {
    bool anyPending = false;
    for (auto& [id, c] : calls) {
      (void)id;
      anyPending |= c->t38Pending;
    }
    if (!anyPending) return;
    mbuf* mb = mbuf_alloc(len);
    if (!mb) return;
    (void)mbuf_write_mem(mb, pkt, len);
    mb->pos = 0;
    sip_msg* msg = nullptr;
    if (sip_msg_decode(&msg, mb) == 0 && msg && pl_strcmp(&msg->cseq.met, "INVITE") == 0) {
      auto it = byCallId.find(plStr(msg->callid));
      int s = msg->scode;
      // Only from where the call's signalling comes from: a forged 488 from elsewhere must not
      // turn T.38 off for the destination.
      const bool fromPeer = it != byCallId.end() &&
                            (it->second->sigHost.empty() || it->second->sigHost == saHost(src));
      if (fromPeer && it->second->t38Pending && s >= 300 && s != 401 && s != 407 && s != 491 &&
          s != 408 && s != 481 && !(s == 500 && sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER))) {
        t38Refused(*it->second, std::to_string(s) + " " + plStr(msg->reason));
      }
    }
    mem_deref(msg);
    mem_deref(mb);
  }

  // --- session timers -------------------------------------------------------------------------

  void startSessionTimer(Call& c) {
    tmr_cancel(&c.refreshTimer);
    tmr_cancel(&c.watchdogTimer);
    if (c.sessionExpires <= 0) return;
    c.lastRefreshMs = monoMs();
    if (c.weRefresh) {
      tmr_start(&c.refreshTimer, static_cast<std::uint64_t>(c.sessionExpires) * 500,
                &Impl::onRefresh, &c);
    } else {
      // The far end refreshes. If it forgets, we refresh ourselves rather than let a fax drop.
      tmr_start(&c.watchdogTimer, static_cast<std::uint64_t>(c.sessionExpires) * 2000 / 3,
                &Impl::onWatchdog, &c);
    }
  }
  static void onRefresh(void* arg) {
    auto* c = static_cast<Call*>(arg);
    c->impl->refresh(*c);
    tmr_start(&c->refreshTimer, static_cast<std::uint64_t>(c->sessionExpires) * 500,
              &Impl::onRefresh, c);
  }
  static void onWatchdog(void* arg) {
    auto* c = static_cast<Call*>(arg);
    Impl* impl = c->impl;
    std::int64_t since = monoMs() - c->lastRefreshMs;
    if (since >= static_cast<std::int64_t>(c->sessionExpires) * 2000 / 3 - 1000) {
      spdlog::info("sip: call {}: no session refresh from the far end; refreshing ourselves",
                   core::logSafe(c->callId));
      impl->refresh(*c);
    }
    tmr_start(&c->watchdogTimer, static_cast<std::uint64_t>(c->sessionExpires) * 2000 / 3,
              &Impl::onWatchdog, c);
  }
  void refresh(Call& c) {
    if (!c.sess || c.t38Pending) return;
    auto desc = encode(c, true);
    if (desc && sipsess_modify(c.sess, desc.get()) == 0) {
      ++stats.sessionRefreshes;
      c.lastRefreshMs = monoMs();
    }
  }

  // --- ending ---------------------------------------------------------------------------------

  void hangup(std::uint64_t id, const HangupCause& cause) {
    Call* c = find(id);
    if (!c) return;
    endCall(*c, cause, true);
  }
  void endCall(Call& c, const HangupCause& cause, bool erase) {
    if (c.sess) {
      if (c.inbound && !c.answered) {
        (void)sipsess_reject(c.sess, 480, "Temporarily Unavailable", nullptr);
      } else {
        (void)sipsess_set_close_headers(c.sess, "Reason: Q.850;cause=%d;text=\"%s\"\r\n",
                                        cause.code,
                                        cause.text.empty() ? "normal" : cause.text.c_str());
      }
    }
    if (erase) {
      forget(c);
    } else {
      releaseCall(c);
    }
  }
  /// Frees libre's objects of a call (mem_deref of an established session sends BYE, of an
  /// unanswered outbound one CANCEL).
  void releaseCall(Call& c) {
    if (c.ended) return;
    c.ended = true;
    tmr_cancel(&c.refreshTimer);
    tmr_cancel(&c.watchdogTimer);
    if (c.sess) c.sess = static_cast<sipsess*>(mem_deref(c.sess));
    if (c.sdp) c.sdp = static_cast<sdp_session*>(mem_deref(c.sdp));
  }
  void forget(Call& c) {
    releaseCall(c);
    byCallId.erase(c.callId);
    calls.erase(c.id);  // destroys c
  }
  Call* find(std::uint64_t id) {
    auto it = calls.find(id);
    return it == calls.end() ? nullptr : it->second.get();
  }

  SipStatus status() const {
    SipStatus st;
    st.running = stack != nullptr && !stopping;
    st.listening = listening;
    st.error = listenError;
    for (const auto& r : registrations) {
      SipRegistrationStatus rs;
      rs.name = r->config.name;
      rs.registered = r->registered;
      rs.registrar = r->usingBackup ? r->config.backupRegistrar : r->config.registrar;
      rs.lastError = r->lastError;
      rs.expiresAtMs = r->expiresAtMs;
      st.registrations.push_back(rs);
    }
    for (const auto& p : peers) {
      SipPeerStatus ps;
      ps.name = p->config.name;
      ps.reachable = p->reachable;
      ps.lastError = p->lastError;
      st.peers.push_back(ps);
    }
    st.stats = stats;
    st.calls = static_cast<int>(calls.size());
    return st;
  }
};

// ---------------------------------------------------------------------------------------------

Signalling::Signalling(SignallingEvents& events, SipConfig config)
    : impl_(std::make_unique<Impl>(*this, events, std::move(config))) {}
Signalling::~Signalling() = default;
void Signalling::start() { impl_->start(); }
void Signalling::stop(int budgetMs, std::function<void()> done) {
  impl_->stop(budgetMs, std::move(done));
}
void Signalling::reconfigure(SipConfig config) { impl_->reconfigure(std::move(config)); }
void Signalling::dial(std::uint64_t id, DialRequest request, std::string route, LocalMedia local) {
  impl_->dial(id, request, route, local);
}
void Signalling::answer(std::uint64_t id, LocalMedia local) { impl_->answer(id, local); }
void Signalling::reject(std::uint64_t id, HangupCause cause) { impl_->reject(id, cause); }
void Signalling::hangup(std::uint64_t id, HangupCause cause) { impl_->hangup(id, cause); }
void Signalling::requestT38(std::uint64_t id) { impl_->requestT38(id); }
SipStatus Signalling::status() const { return impl_->status(); }
int Signalling::boundPort(SipTransport transport) const {
  if (!impl_->stack) return 0;
  sa laddr{};
  if (sip_transp_laddr(impl_->stack, &laddr, toLibre(transport), nullptr) != 0) return 0;
  return sa_port(&laddr);
}

}  // namespace vfax::trunks::sip
