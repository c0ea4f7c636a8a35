// Signalling's stack: libre's SIP stack with its listeners (UDP, TCP, TLS), start, the ordered
// stop, settings applied at run time, and the status it reports.
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "core/log_safe.h"
#include "trunks/sip/sip_signalling_impl.h"

namespace vfax::trunks::sip {

namespace {

/// Where our SSL_CTX keeps its Impl (for the verify callback).
int implIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

Signalling::Impl::Impl(SignallingEvents& e, SipConfig c) : events(e), config(std::move(c)) {
  rand_bytes(nonceKey.data(), nonceKey.size());
  tmr_init(&listenRetry);
  tmr_init(&stopTimer);
  tmr_init(&finishTimer);
}

void Signalling::Impl::start() {
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

void Signalling::Impl::openListeners() {
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
      problems += (problems.empty() ? "" : "; ") + std::string("cannot listen on ") + text + ": " +
                  errText(err);
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

void Signalling::Impl::onListenRetry(void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  if (!impl->stopping) impl->openListeners();
}

std::string Signalling::Impl::fmtList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int Signalling::Impl::ensureTls() {
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
      if (int caErr = tls_add_ca(tlsCtx, config.tlsCaFile.c_str())) {
        spdlog::warn("sip: TLS: the CA file {} cannot be used ({}): no far end will be trusted",
                     config.tlsCaFile, errText(caErr));
      }
    } else {
      SSL_CTX_set_default_verify_paths(ctx);
    }
    // One context serves both roles: as a client we verify the server's chain; as a server
    // we take what a PBX presents (peers are checked by address and digest, not certificates).
    SSL_CTX_set_ex_data(ctx, implIndex(), this);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &Impl::onTlsVerify);
  }
  if (ctx) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  return 0;
}

/// OpenSSL's verify callback: the server side takes any certificate; the client side keeps
/// OpenSSL's verdict and, on a refusal, tells the Impl why (for the log and the call's cause).
int Signalling::Impl::onTlsVerify(int ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl || SSL_is_server(ssl)) return 1;
  if (ok) return ok;
  auto* impl = static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), implIndex()));
  if (!impl) return ok;
  try {
    char subject[256] = "";
    if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
      X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    }
    impl->tlsRefused(std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(store))) +
                     " (certificate " + subject + ")");
  } catch (...) {
    // No exception may cross OpenSSL; the refusal stands without its reason.
  }
  return ok;
}

std::string Signalling::Impl::transportMissing(SipTransport t) const {
  for (const auto& l : config.listen) {
    if (l.transport == t) return {};
  }
  return "no " + transportName(t) + ": address in [sip] listen (SIP over " + transportName(t) +
         " is sent only from a " + transportName(t) + ": listener" +
         (t == SipTransport::Tls ? ", with tls_cert and tls_key)" : ")");
}

void Signalling::Impl::tlsRefused(std::string why) {
  spdlog::warn("sip: TLS: the far end's certificate is refused: {}", core::logSafe(why, 400));
  tlsRefusal = std::move(why);
  tlsRefusalAtMs = monoMs();
}

std::string Signalling::Impl::tlsRefusedSince(std::int64_t sinceMs) const {
  return tlsRefusalAtMs >= sinceMs ? tlsRefusal : std::string();
}

bool Signalling::Impl::readFile(const std::string& path, std::string& out) {
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
void Signalling::Impl::stop(int budgetMs, std::function<void()> done) {
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

void Signalling::Impl::onDrained(void* arg) { static_cast<Impl*>(arg)->closeStack(); }

void Signalling::Impl::closeStack() {
  releaseSockets();
  if (stack && !closing) {
    closing = true;
    sip_close(stack, false);  // may call onExit right here
  }
  if (!exited) {
    tmr_start(&stopTimer, static_cast<std::uint64_t>(stopBudgetMs / 2), &Impl::onStopTimer, this);
  }
}

void Signalling::Impl::releaseSockets() {
  if (sessSock) {
    sipsess_close_all(sessSock);  // sessions still waiting for an ACK or a BYE's answer
    sessSock = static_cast<sipsess_sock*>(mem_deref(sessSock));
  }
  if (lsnr) lsnr = static_cast<sip_lsnr*>(mem_deref(lsnr));
}

void Signalling::Impl::onStopTimer(void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  if (impl->stack && !impl->exited) sip_close(impl->stack, true);
  if (!impl->exited) {
    spdlog::warn("sip: the SIP stack did not finish within {} ms", impl->stopBudgetMs);
    impl->stack = nullptr;  // our reference was handed over; it goes with the thread
    impl->finish();
  }
}

void Signalling::Impl::onExit(void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  impl->exited = true;
  tmr_start(&impl->finishTimer, 0, &Impl::onFinish, impl);
}

void Signalling::Impl::onFinish(void* arg) { static_cast<Impl*>(arg)->finish(); }

void Signalling::Impl::finish() {
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
Signalling::Impl::~Impl() {
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

void Signalling::Impl::reconfigure(SipConfig next) {
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

SipStatus Signalling::Impl::status() const {
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

}  // namespace vfax::trunks::sip
