#include "app/admin_adapters.h"

namespace vfax::app {

namespace iax2 = trunks::iax2;
namespace sip = trunks::sip;

// ---- mail ------------------------------------------------------------------------------------

std::map<std::string, std::string> MailAdminAdapter::settings() const {
  return gateway_.settingsMap();
}

api::MailboxStatus MailAdminAdapter::mailboxStatus() const {
  const auto s = gateway_.mailboxStatus();
  return {s.lastError, s.lastPollAt, s.mailsTaken, s.idle};
}

core::Result<void> MailAdminAdapter::updateSettings(
    const std::map<std::string, std::string>& changes) {
  auto r = gateway_.updateSettings(changes);
  if (!r) return r.error();
  return {};
}

core::Result<std::vector<core::OutboxMail>> MailAdminAdapter::outbox(int limit) {
  return gateway_.outbox(limit);
}

core::Result<std::int64_t> MailAdminAdapter::sendTest(const std::string& to) {
  return gateway_.sendTest(to);
}

core::Result<api::MailCheck> MailAdminAdapter::checkMailbox() {
  const auto r = gateway_.checkMailbox();
  if (!r.configured) {
    return core::makeError("conflict",
                           "no Mail-to-Fax mailbox is set up (mail setting mailbox_server)");
  }
  return api::MailCheck{r.error.empty(), r.error, r.fetched};
}

// ---- IAX2 ------------------------------------------------------------------------------------

namespace {

iax2::PeerInput toTrunk(const api::Iax2PeerInput& in) {
  const auto& p = in.peer;
  return {iax2::PeerConfig{p.name, p.secret, p.host, p.port, p.username, p.trunk, p.trunkTimestamps,
                           p.callTokenRequired},
          in.keepSecret, in.keepCallToken};
}

iax2::RegistrationInput toTrunk(const api::Iax2RegistrationInput& in) {
  const auto& r = in.registration;
  return {iax2::RegistrationConfig{r.server, r.port, r.username, r.secret, r.refreshSeconds,
                                   r.trunk, r.trunkTimestamps},
          in.keepSecret};
}

api::Iax2State toApi(const iax2::Iax2View& v) {
  api::Iax2State s;
  s.running = v.running;
  s.bind = v.bind;
  s.outbound = v.outbound;
  s.codecs = v.codecs;
  if (v.status) {
    const auto& st = *v.status;
    s.runtime = api::Iax2Runtime{st.bound,
                                 st.calls,
                                 st.stats.framesIn,
                                 st.stats.framesOut,
                                 st.stats.dropped,
                                 st.stats.retransmits,
                                 st.stats.authFailures,
                                 st.stats.trunkFramesIn,
                                 st.stats.trunkFramesOut,
                                 st.stats.trunkDropped,
                                 st.stats.callTokensSent,
                                 st.stats.pongsSent,
                                 st.stats.unprovenDropped};
  }
  for (const auto& p : v.peers) {
    const auto& c = p.peer;
    s.peers.push_back({api::Iax2Peer{c.name, c.secret, c.host, c.port, c.username, c.trunk,
                                     c.trunkTimestamps, c.callTokenRequired},
                       p.fromApi, p.registered, p.address, p.weakSecret});
  }
  for (const auto& r : v.registrations) {
    const auto& c = r.registration;
    s.registrations.push_back({api::Iax2Registration{c.server, c.port, c.username, c.secret,
                                                     c.refreshSeconds, c.trunk, c.trunkTimestamps},
                               r.registered, r.lastError});
  }
  return s;
}

core::Result<api::Iax2State> toApi(const core::Result<iax2::Iax2View>& v) {
  if (!v) return v.error();
  return toApi(*v);
}

}  // namespace

api::Iax2State Iax2AdminAdapter::state() const { return toApi(admin_.view()); }

core::Result<api::Iax2State> Iax2AdminAdapter::update(const api::Iax2Update& change) {
  iax2::Iax2Update u;
  u.bind = change.bind;
  u.outbound = change.outbound;
  u.codecs = change.codecs;
  if (change.peers) {
    u.peers.emplace();
    for (const auto& p : *change.peers) u.peers->push_back(toTrunk(p));
  }
  if (change.registrations) {
    u.registrations.emplace();
    for (const auto& r : *change.registrations) u.registrations->push_back(toTrunk(r));
  }
  return toApi(admin_.update(u));
}

core::Result<api::Iax2State> Iax2AdminAdapter::addPeer(const api::Iax2PeerInput& peer) {
  return toApi(admin_.addPeer(toTrunk(peer)));
}

core::Result<api::Iax2State> Iax2AdminAdapter::removePeer(const std::string& name) {
  return toApi(admin_.removePeer(name));
}

// ---- SIP -------------------------------------------------------------------------------------

namespace {

core::Error invalid(const std::string& err, const std::string& context = {}) {
  return core::makeError("invalid_setting", err + context);
}

// "secret" absent: the stored one of the same name stays.
core::Result<sip::SipPeerInput> peerOf(const api::SipFields& f) {
  sip::SipPeerInput in;
  const auto name = f.contains("name") ? f.at("name") : std::string();
  if (auto err = sip::parsePeer(f, in.peer); !err.empty()) {
    return invalid(err, " (peer '" + name + "')");
  }
  in.keepSecret = !f.contains("secret");
  return in;
}

core::Result<sip::SipRegistrationInput> registrationOf(const api::SipFields& f) {
  sip::SipRegistrationInput in;
  const auto name = f.contains("name") ? f.at("name") : std::string();
  if (auto err = sip::parseRegistration(f, in.registration); !err.empty()) {
    return invalid(err, " (registration '" + name + "')");
  }
  in.keepSecret = !f.contains("secret");
  return in;
}

api::SipState toApi(const sip::SipView& v) {
  api::SipState s;
  s.running = v.running;
  s.settings = sip::formatGeneral(v.settings);
  if (v.status) {
    const auto& st = *v.status;
    s.runtime = api::SipRuntime{st.listening,
                                st.error,
                                st.calls,
                                {{"invites_in", st.stats.invitesIn},
                                 {"invites_refused", st.stats.invitesRefused},
                                 {"auth_failures", st.stats.authFailures},
                                 {"t38_switches", st.stats.t38Switches},
                                 {"t38_refused", st.stats.t38Refused},
                                 {"session_refreshes", st.stats.sessionRefreshes},
                                 {"dropped_packets", st.stats.droppedPackets},
                                 {"media_foreign", st.stats.media.foreign},
                                 {"audio_late", st.stats.media.audioLate},
                                 {"audio_overflows", st.stats.media.audioOverflows},
                                 {"audio_underruns", st.stats.media.audioUnderruns},
                                 {"t38_lost", st.stats.media.t38Lost},
                                 {"t38_recovered", st.stats.media.t38Recovered},
                                 {"t38_oversized", st.stats.media.t38Oversized}}};
  }
  for (const auto& p : v.peers) {
    api::SipEntryState e{sip::formatPeer(p.peer), p.fromApi, {}};
    if (p.status) {
      e.status = {{"reachable", p.status->reachable ? "true" : "false"},
                  {"last_error", p.status->lastError}};
    }
    s.peers.push_back(std::move(e));
  }
  for (const auto& r : v.registrations) {
    api::SipEntryState e{sip::formatRegistration(r.registration), r.fromApi, {}};
    if (r.status) {
      e.status = {{"registered", r.status->registered ? "true" : "false"},
                  {"registrar", r.status->registrar},
                  {"last_error", r.status->lastError},
                  {"expires_at", std::to_string(r.status->expiresAtMs)}};
    }
    s.registrations.push_back(std::move(e));
  }
  return s;
}

core::Result<api::SipState> toApi(const core::Result<sip::SipView>& v) {
  if (!v) return v.error();
  return toApi(*v);
}

}  // namespace

api::SipState SipAdminAdapter::state() const { return toApi(admin_.view()); }

core::Result<api::SipState> SipAdminAdapter::update(const api::SipUpdate& change) {
  sip::SipUpdate u;
  if (auto err = sip::parseGeneral(change.settings, u.general); !err.empty()) return invalid(err);
  if (change.peers) {
    u.peers.emplace();
    for (const auto& f : *change.peers) {
      auto p = peerOf(f);
      if (!p) return p.error();
      u.peers->push_back(std::move(*p));
    }
  }
  if (change.registrations) {
    u.registrations.emplace();
    for (const auto& f : *change.registrations) {
      auto r = registrationOf(f);
      if (!r) return r.error();
      u.registrations->push_back(std::move(*r));
    }
  }
  return toApi(admin_.update(u));
}

core::Result<api::SipState> SipAdminAdapter::addPeer(const api::SipFields& peer) {
  auto p = peerOf(peer);
  if (!p) return p.error();
  return toApi(admin_.addPeer(*p));
}

core::Result<api::SipState> SipAdminAdapter::addRegistration(const api::SipFields& registration) {
  auto r = registrationOf(registration);
  if (!r) return r.error();
  return toApi(admin_.addRegistration(*r));
}

core::Result<api::SipState> SipAdminAdapter::removePeer(const std::string& name) {
  return toApi(admin_.removePeer(name));
}

core::Result<api::SipState> SipAdminAdapter::removeRegistration(const std::string& name) {
  return toApi(admin_.removeRegistration(name));
}

std::optional<api::SipLineState> SipAdminAdapter::lineState() const {
  const auto st = admin_.status();
  if (!st) return std::nullopt;
  api::SipLineState out{st->running, st->error, st->calls, {}};
  for (const auto& r : st->registrations) {
    out.registrations.push_back({r.name, r.registered, r.registrar, r.lastError});
  }
  return out;
}

}  // namespace vfax::app
