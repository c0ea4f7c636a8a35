// Call state: inbound calls (NEW, MD5 challenge, ACCEPT, RINGING, ANSWER) and outbound calls
// (route, NEW, AUTHREP), refusal and hangup.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log_safe.h"
#include "trunks/iax2/engine_internal.h"
#include "trunks/iax2/md5.h"

namespace vfax::trunks::iax2 {

using namespace detail;

// ---------------------------------------------------------------- inbound calls

void Engine::onNew(Session& s, const IeList& ies, std::int64_t nowMs) {
  auto reject = [&](const std::string& text, int cause) {
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Reject),
             IeList{}.add(Ie::Cause, text).addU8(Ie::CauseCode, static_cast<std::uint8_t>(cause)),
             nowMs);
    destroyLater(s, nowMs);
  };
  if (auto v = ies.u16(Ie::Version); v && *v != 2) {
    reject("Unsupported protocol version", 111);
    return;
  }
  const PeerConfig* peer = nullptr;
  if (auto user = ies.str(Ie::Username); user && !user->empty()) {
    peer = peerByName(*user);
  } else {
    peer = peerByAddress(s.addr);
  }
  if (peer && !peer->host.empty()) {
    auto addr = hosts_.lookup(peer->host, peer->port);
    if (!addr || !addr->sameHost(s.addr)) peer = nullptr;
  }
  if (!peer || peer->secret.empty()) {
    ++stats_.authFailures;
    spdlog::warn("iax2: refused a call from {}: unknown peer", s.addr.toString());
    reject("No authority found", 29);
    return;
  }
  s.peer = peer->name;
  s.info.peer = peer->name;
  s.trunk = peer->trunk;
  s.trunkTimestamps = peer->trunkTimestamps;
  s.info.calledNumber = ies.str(Ie::CalledNumber).value_or("");
  if (s.info.calledNumber.empty()) s.info.calledNumber = ies.str(Ie::Dnid).value_or("");
  s.info.callerNumber = ies.str(Ie::CallingNumber).value_or("");
  s.info.callerName = ies.str(Ie::CallingName).value_or("");
  s.wantedFormat = ies.u32(Ie::Format).value_or(0);
  s.peerCapability = ies.u32(Ie::Capability).value_or(s.wantedFormat);
  s.challenge = newChallenge();
  s.state = State::WaitAuth;
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::AuthReq),
           IeList{}
               .addU16(Ie::AuthMethods, kAuthMd5)
               .add(Ie::Challenge, s.challenge)
               .add(Ie::Username, peer->name),
           nowMs);
}

void Engine::onAuthRep(Session& s, const IeList& ies, std::int64_t nowMs) {
  const PeerConfig* peer = peerByName(s.peer);
  auto result = ies.str(Ie::Md5Result);
  if (!peer || !result || s.challenge.empty() ||
      !responsesEqual(*result, md5Response(s.challenge, peer->secret))) {
    ++stats_.authFailures;
    spdlog::warn("iax2: refused a call from {} ({}): authentication failed", s.addr.toString(),
                 core::logSafe(s.peer));
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Reject),
             IeList{}.add(Ie::Cause, "Authentication failed").addU8(Ie::CauseCode, 29), nowMs);
    destroyLater(s, nowMs);
    return;
  }
  s.challenge.clear();  // one use only
  acceptInbound(s, nowMs);
}

void Engine::acceptInbound(Session& s, std::int64_t nowMs) {
  auto fmt = chooseFormat(s.wantedFormat, s.peerCapability);
  if (!fmt) {
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Reject),
             IeList{}.add(Ie::Cause, "No common codec").addU8(Ie::CauseCode, 58), nowMs);
    destroyLater(s, nowMs);
    return;
  }
  s.format = *fmt;
  s.info.format = *fmt;
  s.state = State::Ringing;
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Accept),
           IeList{}.addU32(Ie::Format, *fmt), nowMs);
  sendFull(s, FrameType::Control, static_cast<std::uint32_t>(Ctrl::Ringing), IeList{}, nowMs);
  listener_.onInboundCall(s.local, s.info);
}

void Engine::answer(std::uint16_t call, std::int64_t nowMs) {
  Session* s = find(call);
  if (!s || s->kind != kCallIn || s->state != State::Ringing) return;
  s->state = State::Up;
  s->lastPingMs = nowMs;
  sendFull(*s, FrameType::Control, static_cast<std::uint32_t>(Ctrl::Answer), IeList{}, nowMs);
}

void Engine::reject(std::uint16_t call, int causeCode, const std::string& text,
                    std::int64_t nowMs) {
  Session* s = find(call);
  if (!s || s->state == State::Ended) return;
  if (causeCode == 17) {
    sendFull(*s, FrameType::Control, static_cast<std::uint32_t>(Ctrl::Busy), IeList{}, nowMs);
  }
  hangup(call, causeCode, text, nowMs);
}

void Engine::hangup(std::uint16_t call, int causeCode, const std::string& text,
                    std::int64_t nowMs) {
  Session* s = find(call);
  if (!s || s->state == State::Ended) return;
  sendFull(*s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Hangup),
           IeList{}
               .add(Ie::Cause, text.substr(0, 200))
               .addU8(Ie::CauseCode, static_cast<std::uint8_t>(causeCode)),
           nowMs);
  endCall(*s, EndKind::Hangup, causeCode, text, false, nowMs);
}

void Engine::endCall(Session& s, EndKind kind, int cause, const std::string& text, bool notify,
                     std::int64_t nowMs) {
  if (s.state == State::Ended) return;
  // Only calls the owner knows of are reported: not those refused before they were offered.
  bool known = (s.kind == kCallOut) ||
               (s.kind == kCallIn && (s.state == State::Ringing || s.state == State::Up));
  destroyLater(s, nowMs);
  if (s.jb.stats().received > 0) {
    const auto& j = s.jb.stats();
    spdlog::debug(
        "iax2: call {} with '{}' ended; voice received {}, played {}, late {}, "
        "duplicates {}, overflows {}, underruns {}",
        s.local, core::logSafe(s.peer), j.received, j.played, j.late, j.duplicates, j.overflows,
        j.underruns);
  }
  if (notify && known) listener_.onEnded(s.local, kind, cause, text);
}

// ---------------------------------------------------------------- outbound calls

core::Result<std::uint16_t> Engine::dial(const std::string& number, const std::string& callerNumber,
                                         const std::string& callerName, std::int64_t nowMs) {
  std::optional<Address> to;
  std::string username;
  std::string secret;
  bool pbx = false;
  bool trunk = false;
  bool trunkTimestamps = true;
  std::string routeName;
  std::string host;
  auto useReg = [&](const RegistrationConfig& r) {
    host = r.server;
    to = hosts_.lookup(r.server, r.port);
    username = r.username;
    secret = r.secret;
    pbx = true;
    trunk = r.trunk;
    trunkTimestamps = r.trunkTimestamps;
    routeName = r.username + "@" + r.server;
  };
  auto usePeer = [&](const PeerConfig& p) {
    if (!p.host.empty()) {
      host = p.host;
      to = hosts_.lookup(p.host, p.port);
    } else if (auto it = peerState_.find(p.name);
               it != peerState_.end() && it->second.registered && it->second.expiresAtMs > nowMs) {
      to = it->second.registered;
    }
    username = p.username;
    secret = p.secret;
    trunk = p.trunk;
    trunkTimestamps = p.trunkTimestamps;
    routeName = p.name;
  };
  const std::string& route = config_.outboundRoute;
  if (!route.empty()) {
    if (const PeerConfig* p = peerByName(route)) {
      usePeer(*p);
    } else {
      for (const auto& r : config_.registrations) {
        if (route == r.username || route == "reg:" + r.username + "@" + r.server ||
            route == r.username + "@" + r.server) {
          useReg(r);
          break;
        }
      }
    }
    if (routeName.empty()) {
      return core::makeError("no_route", "The IAX2 outbound route '" + route +
                                             "' names no configured peer or registration.");
    }
  } else if (!config_.registrations.empty()) {
    useReg(config_.registrations.front());
  } else if (config_.peers.size() == 1) {
    usePeer(config_.peers.front());
  } else {
    for (const auto& p : config_.peers) {
      auto it = peerState_.find(p.name);
      if (!p.host.empty() ||
          (it != peerState_.end() && it->second.registered && it->second.expiresAtMs > nowMs)) {
        usePeer(p);
        break;
      }
    }
  }
  if (routeName.empty()) {
    return core::makeError("no_route",
                           "No IAX2 peer or registration is configured for outbound calls.");
  }
  if (!to && !host.empty()) {
    return core::makeError("resolving", "waiting for the address of IAX2 peer '" + routeName +
                                            "': " + hosts_.lookupError(host));
  }
  if (!to) {
    return core::makeError("peer_unreachable",
                           "waiting for IAX2 peer '" + routeName + "' to register");
  }
  Session* s = newSession(kCallOut, *to, nowMs);
  if (!s) return core::makeError("congestion", "all IAX2 sessions are in use");
  s->peer = routeName;
  s->username = username;
  s->secret = secret;
  s->pbx = pbx;
  s->trunk = trunk;
  s->trunkTimestamps = trunkTimestamps;
  s->state = State::Dialing;
  s->format = config_.codecs.empty() ? kFormatAlaw : config_.codecs.front();
  IeList ies;
  ies.addU16(Ie::Version, 2)
      .add(Ie::CalledNumber, number)
      .add(Ie::Dnid, number)
      .addU32(Ie::Format, s->format)
      .addU32(Ie::Capability, capability());
  if (!callerNumber.empty()) ies.add(Ie::CallingNumber, callerNumber.substr(0, 80));
  if (!callerName.empty()) ies.add(Ie::CallingName, callerName.substr(0, 80));
  ies.addU8(Ie::CallingPres, 0).addU8(Ie::CallingTon, 0);
  if (!username.empty()) ies.add(Ie::Username, username);
  if (pbx) ies.addEmpty(Ie::CallToken);
  s->firstCmd = Cmd::New;
  s->firstIes = ies;
  sendFull(*s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::New), ies, nowMs);
  return s->local;
}

void Engine::onAuthReqForCall(Session& s, const IeList& ies, std::int64_t nowMs) {
  auto methods = ies.u16(Ie::AuthMethods).value_or(0);
  auto challenge = ies.str(Ie::Challenge);
  if (!(methods & kAuthMd5) || !challenge || s.secret.empty() || s.sentResponse) {
    sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Hangup),
             IeList{}.add(Ie::Cause, "No usable authentication").addU8(Ie::CauseCode, 29), nowMs);
    endCall(s, EndKind::Reject, 29, "the far end asked for authentication we cannot give", true,
            nowMs);
    return;
  }
  s.sentResponse = true;
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::AuthRep),
           IeList{}.add(Ie::Md5Result, md5Response(*challenge, s.secret)), nowMs);
}

}  // namespace vfax::trunks::iax2
