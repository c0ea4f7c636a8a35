// Signalling's peers and registrations: OPTIONS keep-alive to peers with a host, and REGISTER
// (sipreg: digest, refresh, retry) with the switch to the backup registrar.
#include <spdlog/spdlog.h>

#include "core/log_safe.h"
#include "trunks/sip/sip_signalling_impl.h"

namespace vfax::trunks::sip {

void Signalling::Impl::applyPeers() {
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

void Signalling::Impl::dropPeer(Peer& p) {
  tmr_cancel(&p.keepaliveTimer);
  if (p.options) p.options = static_cast<struct sip_request*>(mem_deref(p.options));
}

std::string Signalling::Impl::peerUri(const Peer& p, const std::string& user) const {
  std::string uri = "sip:";
  if (!user.empty()) uri += user + "@";
  uri += hostForUri(p.config.host) + ":" + std::to_string(p.config.port) +
         transportParam(p.config.transport);
  return uri;
}

std::string Signalling::Impl::peerDomain(const Peer& p) const {
  return p.config.domain.empty() ? hostForUri(p.config.host) : p.config.domain;
}

void Signalling::Impl::onKeepalive(void* arg) {
  auto* p = static_cast<Peer*>(arg);
  Impl* impl = p->impl;
  if (impl->stopping || !impl->stack) return;
  if (!p->options) {
    std::string uri = impl->peerUri(*p, "");
    std::string from = "sip:vfax@" + impl->peerDomain(*p);
    int err = sip_requestf(&p->options, impl->stack, true, "OPTIONS", uri.c_str(), nullptr, nullptr,
                           nullptr, &Impl::onOptionsReply, p,
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

void Signalling::Impl::onOptionsReply(int err, const sip_msg* msg, void* arg) {
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

void Signalling::Impl::applyRegistrations() {
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

bool Signalling::Impl::sameRegistration(const SipRegistrationConfig& a,
                                        const SipRegistrationConfig& b) {
  return a.registrar == b.registrar && a.backupRegistrar == b.backupRegistrar &&
         a.transport == b.transport && a.username == b.username &&
         a.authUsername == b.authUsername && a.secret == b.secret && a.domain == b.domain &&
         a.expires == b.expires;
}

void Signalling::Impl::dropRegistration(Registration& r) {
  tmr_cancel(&r.failoverTimer);
  if (r.reg) r.reg = static_cast<sipreg*>(mem_deref(r.reg));  // sends REGISTER Expires: 0
  r.registered = false;
}

std::string Signalling::Impl::registrationDomain(const Registration& r) const {
  if (!r.config.domain.empty()) return r.config.domain;
  std::string host;
  int port;
  splitHostPort(r.config.registrar, host, port, 5060);
  return hostForUri(host);
}

void Signalling::Impl::startRegistration(Registration& r) {
  if (r.reg) r.reg = static_cast<sipreg*>(mem_deref(r.reg));
  const std::string& server = r.usingBackup && !r.config.backupRegistrar.empty()
                                  ? r.config.backupRegistrar
                                  : r.config.registrar;
  if (auto missing = transportMissing(r.config.transport); !missing.empty()) {
    if (r.lastError != missing) spdlog::warn("sip: registration {}: {}", r.config.name, missing);
    r.lastError = missing;
    tmr_start(&r.failoverTimer, 30'000, &Impl::onRegRetry, &r);
    return;
  }
  std::string host;
  int port;
  splitHostPort(server, host, port, r.config.transport == SipTransport::Tls ? 5061 : 5060);
  r.registrarHost = host;
  std::string regUri =
      "sip:" + hostForUri(host) + ":" + std::to_string(port) + transportParam(r.config.transport);
  std::string aor = "sip:" + r.config.username + "@" + registrationDomain(r);
  int err = sipreg_register(&r.reg, stack, regUri.c_str(), aor.c_str(), nullptr, aor.c_str(),
                            static_cast<std::uint32_t>(r.config.expires), r.config.username.c_str(),
                            nullptr, 0, 0, &Impl::onRegAuth, &r, false, &Impl::onRegReply, &r,
                            nullptr, "%s", kAllow);
  if (err) {
    r.lastError = "REGISTER could not be sent to " + server + ": " + errText(err);
    spdlog::warn("sip: registration {}: {}", r.config.name, core::logSafe(r.lastError, 400));
    tmr_start(&r.failoverTimer, 5000, &Impl::onRegRetry, &r);
  } else {
    spdlog::info("sip: registering {} at {}", aor, server);
  }
}

void Signalling::Impl::onRegRetry(void* arg) {
  auto* r = static_cast<Registration*>(arg);
  if (!r->impl->stopping && r->impl->stack) r->impl->startRegistration(*r);
}

int Signalling::Impl::onRegAuth(char** user, char** pass, const char* realm, void* arg) {
  (void)realm;
  auto* r = static_cast<Registration*>(arg);
  const std::string& u =
      r->config.authUsername.empty() ? r->config.username : r->config.authUsername;
  int err = str_dup(user, u.c_str());
  err |= str_dup(pass, r->config.secret.c_str());
  return err;
}

void Signalling::Impl::onRegReply(int err, const sip_msg* msg, void* arg) {
  auto* r = static_cast<Registration*>(arg);
  Impl* impl = r->impl;
  bool was = r->registered;
  if (err) {
    r->registered = false;
    std::string tls = r->config.transport == SipTransport::Tls
                          ? impl->tlsRefusedSince(monoMs() - 40'000)
                          : std::string();
    r->lastError =
        tls.empty() ? "no answer from the registrar (" + errText(err) + ")" : "TLS: " + tls;
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

}  // namespace vfax::trunks::sip
