// Registrations in both roles: peers registering to us (REGREQ/REGAUTH/REGACK/REGREJ, REGREL)
// and our own registrations to a PBX, refreshed before expiry and released on shutdown.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log_safe.h"
#include "trunks/iax2/engine_internal.h"
#include "trunks/iax2/md5.h"

namespace vfax::trunks::iax2 {

using namespace detail;

// ---------------------------------------------------------------- registrations (server)

// A REGREQ or REGREL without an MD5 result: challenge it. Unknown names get a challenge too, so
// that probing cannot tell which peers exist.
void Engine::challengeRegistration(Session& s, const std::string& user, std::int64_t nowMs) {
  s.peer = user;
  s.challenge = newChallenge();
  s.state = State::WaitAuth;
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::RegAuth),
           IeList{}
               .addU16(Ie::AuthMethods, kAuthMd5)
               .add(Ie::Challenge, s.challenge)
               .add(Ie::Username, user),
           nowMs);
}

// The answer to our challenge proves the peer (and a static peer must come from its host). The
// challenge is used up either way.
bool Engine::registrationProven(Session& s, const std::string& user, const std::string& result) {
  const PeerConfig* peer = peerByName(user);
  bool ok = peer && !peer->secret.empty() && !s.challenge.empty() && user == s.peer &&
            responsesEqual(result, md5Response(s.challenge, peer->secret));
  if (ok && !peer->host.empty()) {
    auto addr = hosts_.lookup(peer->host, peer->port);
    ok = addr && addr->sameHost(s.addr);
  }
  s.challenge.clear();
  if (!ok) ++stats_.authFailures;
  return ok;
}

void Engine::onRegReq(Session& s, const IeList& ies, std::int64_t nowMs) {
  std::string user = ies.str(Ie::Username).value_or("");
  auto result = ies.str(Ie::Md5Result);
  if (!result) return challengeRegistration(s, user, nowMs);
  if (!registrationProven(s, user, *result)) {
    spdlog::warn("iax2: refused the registration of '{}' from {}", core::logSafe(user),
                 s.addr.toString());
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::RegRej),
             IeList{}.add(Ie::Cause, "Registration Refused").addU8(Ie::CauseCode, 29), nowMs);
    destroyLater(s, nowMs);
    return;
  }
  int refresh = ies.u16(Ie::Refresh).value_or(60);
  refresh = std::clamp(refresh, config_.minRefreshSeconds, config_.maxRefreshSeconds);
  PeerState& st = peerState_[user];
  bool changed = !st.registered || !(*st.registered == s.addr);
  st.registered = s.addr;
  st.expiresAtMs = nowMs + refresh * 1000LL + 5000;  // a little grace for the re-registration
  if (changed) {
    spdlog::info("iax2: peer '{}' registered from {}", core::logSafe(user), s.addr.toString());
  }
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::RegAck),
           IeList{}
               .add(Ie::Username, user)
               .addU32(Ie::DateTime, datetimeIe())
               .addU16(Ie::Refresh, static_cast<std::uint16_t>(refresh)),
           nowMs);
  destroyLater(s, nowMs);
}

void Engine::onRegRel(Session& s, const IeList& ies, std::int64_t nowMs) {
  std::string user = ies.str(Ie::Username).value_or("");
  auto result = ies.str(Ie::Md5Result);
  if (!result) return challengeRegistration(s, user, nowMs);
  if (!registrationProven(s, user, *result)) {
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::RegRej),
             IeList{}.add(Ie::Cause, "Release Refused").addU8(Ie::CauseCode, 29), nowMs);
    destroyLater(s, nowMs);
    return;
  }
  peerState_.erase(user);
  spdlog::info("iax2: peer '{}' released its registration", core::logSafe(user));
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::RegAck),
           IeList{}.add(Ie::Username, user).addU16(Ie::Refresh, 0), nowMs);
  destroyLater(s, nowMs);
}

// ---------------------------------------------------------------- registrations (client)

void Engine::startRegistration(OurRegistration& r, std::int64_t nowMs) {
  if (auto* old = find(r.session); old && old->kind == kRegClient && old->state != State::Ended) {
    destroyLater(*old, nowMs);
  }
  r.session = 0;
  auto to = hosts_.lookup(r.cfg.server, r.cfg.port);
  if (!to) {
    // Being resolved off the loop: look again soon (a failed name is retried by the resolver).
    r.lastError = hosts_.lookupError(r.cfg.server);
    r.nextAttemptMs = nowMs + 1000;
    return;
  }
  Session* s = newSession(kRegClient, *to, nowMs);
  if (!s) {
    r.nextAttemptMs = nowMs + kRetryRegistrationMs;
    return;
  }
  s->regIndex = static_cast<int>(&r - ours_.data());
  s->username = r.cfg.username;
  s->secret = r.cfg.secret;
  s->pbx = true;
  s->state = State::Dialing;
  r.session = s->local;
  r.address = to;
  // If nothing answers, the retransmission timeout below schedules the next try.
  r.nextAttemptMs = nowMs + std::max(r.cfg.refreshSeconds, 20) * 1000LL;
  sendRegReq(*s, r, "", nowMs);
}

void Engine::sendRegReq(Session& s, OurRegistration& r, const std::string& challenge,
                        std::int64_t nowMs) {
  IeList ies;
  ies.add(Ie::Username, r.cfg.username);
  if (!challenge.empty()) ies.add(Ie::Md5Result, md5Response(challenge, r.cfg.secret));
  if (!s.releasing) ies.addU16(Ie::Refresh, static_cast<std::uint16_t>(r.cfg.refreshSeconds));
  if (challenge.empty()) ies.addEmpty(Ie::CallToken);
  Cmd cmd = s.releasing ? Cmd::RegRel : Cmd::RegReq;
  if (challenge.empty()) {
    s.firstCmd = cmd;
    s.firstIes = ies;
  }
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(cmd), ies, nowMs);
}

void Engine::onRegClientReply(Session& s, const FullFrame& f, const IeList& ies,
                              std::int64_t nowMs) {
  if (s.regIndex < 0 || static_cast<std::size_t>(s.regIndex) >= ours_.size()) {
    sendAck(s, f.timestamp);
    destroyLater(s, nowMs);
    return;
  }
  OurRegistration& r = ours_[s.regIndex];
  Cmd c = static_cast<Cmd>(f.subclass);
  if (c == Cmd::RegAuth) {
    auto methods = ies.u16(Ie::AuthMethods).value_or(0);
    auto challenge = ies.str(Ie::Challenge);
    if (s.sentResponse || !(methods & kAuthMd5) || !challenge) {
      sendAck(s, f.timestamp);
      r.lastError =
          s.sentResponse ? "the PBX refused our secret" : "the PBX offers no MD5 authentication";
      r.registered = false;
      r.nextAttemptMs = nowMs + kRetryRegistrationMs * 3;
      destroyLater(s, nowMs);
      return;
    }
    s.sentResponse = true;
    sendRegReq(s, r, *challenge, nowMs);
    return;
  }
  sendAck(s, f.timestamp);
  if (c == Cmd::RegAck) {
    if (s.releasing) {
      r.registered = false;
    } else {
      int refresh = ies.u16(Ie::Refresh).value_or(static_cast<std::uint16_t>(r.cfg.refreshSeconds));
      if (refresh <= 0) refresh = r.cfg.refreshSeconds;
      if (!r.registered) {
        spdlog::info("iax2: registered as '{}' at {}", r.cfg.username, s.addr.toString());
      }
      r.registered = true;
      r.lastError.clear();
      r.expiresAtMs = nowMs + refresh * 1000LL;
      // Re-register well before expiry, as iaxmodem and Asterisk do.
      r.nextAttemptMs = nowMs + std::max<std::int64_t>(refresh * 750LL, 5000);
    }
  } else {  // RegRej
    r.registered = false;
    r.lastError = ies.str(Ie::Cause).value_or("registration refused");
    spdlog::warn("iax2: registration as '{}' at {} refused: {}", r.cfg.username, s.addr.toString(),
                 core::logSafe(r.lastError, 400));
    r.nextAttemptMs = nowMs + kRetryRegistrationMs * 3;
  }
  destroyLater(s, nowMs);
}

}  // namespace vfax::trunks::iax2
