#include "trunks/iax2/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>

#include "core/log_safe.h"
#include "trunks/iax2/engine_internal.h"

namespace vfax::trunks::iax2 {

using namespace detail;

// ---------------------------------------------------------------- Engine basics

Engine::Engine(EngineConfig config, Transport& transport, EngineListener& listener)
    : Engine(std::move(config), transport, listener, defaultHosts_) {}

Engine::Engine(EngineConfig config, Transport& transport, EngineListener& listener,
               HostLookup& hosts)
    : config_(std::move(config)), transport_(transport), listener_(listener), hosts_(hosts) {
  std::random_device rd;
  rng_ = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  nextCallNo_ = static_cast<std::uint16_t>(1 + rng_ % 0x7000);
  for (const auto& r : config_.registrations) {
    OurRegistration o;
    o.cfg = r;
    ours_.push_back(std::move(o));
  }
}

Engine::~Engine() = default;

void Engine::reconfigure(EngineConfig config, std::int64_t nowMs) {
  bool regsChanged = config.registrations.size() != config_.registrations.size();
  for (std::size_t i = 0; !regsChanged && i < config.registrations.size(); ++i) {
    const auto& a = config.registrations[i];
    const auto& b = config_.registrations[i];
    regsChanged = a.server != b.server || a.port != b.port || a.username != b.username ||
                  a.secret != b.secret || a.refreshSeconds != b.refreshSeconds;
  }
  config_ = std::move(config);
  // Registrations of peers that are gone are forgotten.
  std::erase_if(peerState_, [this](const auto& kv) { return peerByName(kv.first) == nullptr; });
  if (regsChanged) {
    for (auto& r : ours_) {
      if (auto* s = find(r.session)) destroyLater(*s, nowMs);
    }
    ours_.clear();
    for (const auto& r : config_.registrations) {
      OurRegistration o;
      o.cfg = r;
      ours_.push_back(std::move(o));
    }
  }
}

Engine::Session* Engine::find(std::uint16_t local) {
  return local < byNumber_.size() ? byNumber_[local] : nullptr;
}

const Engine::Session* Engine::find(std::uint16_t local) const {
  return local < byNumber_.size() ? byNumber_[local] : nullptr;
}

Engine::Session* Engine::findByRemote(const Address& from, std::uint16_t remote) {
  auto it = byRemote_.find(RemoteKey{from, remote});
  return it == byRemote_.end() ? nullptr : find(it->second);
}

void Engine::setRemote(Session& s, std::uint16_t remote) {
  if (s.remote != 0) {
    auto it = byRemote_.find(RemoteKey{s.addr, s.remote});
    if (it != byRemote_.end() && it->second == s.local) byRemote_.erase(it);
  }
  s.remote = remote;
  if (remote != 0) byRemote_[RemoteKey{s.addr, remote}] = s.local;
}

void Engine::eraseSession(std::uint16_t local) {
  auto it = sessions_.find(local);
  if (it == sessions_.end()) return;
  setRemote(*it->second, 0);
  releaseTrunk(*it->second);
  byNumber_[local] = nullptr;
  sessions_.erase(it);
}

std::vector<std::string> Engine::hostNames() const {
  std::vector<std::string> out;
  for (const auto& p : config_.peers) {
    if (!p.host.empty()) out.push_back(p.host);
  }
  for (const auto& r : config_.registrations) out.push_back(r.server);
  return out;
}

std::uint16_t Engine::allocateCallNo() {
  for (int i = 0; i < 0x7fff; ++i) {
    std::uint16_t n = nextCallNo_;
    nextCallNo_ = static_cast<std::uint16_t>(nextCallNo_ % 0x7fff + 1);
    if (n != 0 && !sessions_.count(n)) return n;
  }
  return 0;
}

Engine::Session* Engine::newSession(int kind, const Address& to, std::int64_t nowMs) {
  if (static_cast<int>(sessions_.size()) >= config_.maxSessions) return nullptr;
  std::uint16_t no = allocateCallNo();
  if (no == 0) return nullptr;
  auto s = std::make_unique<Session>(kind, no, to, nowMs, config_.jitterPrefillFrames);
  Session* raw = s.get();
  sessions_.emplace(no, std::move(s));
  byNumber_[no] = raw;
  return raw;
}

void Engine::destroyLater(Session& s, std::int64_t nowMs) {
  s.state = State::Ended;
  s.reapAtMs = nowMs + kLingerMs;
}

std::string Engine::newChallenge() {
  // xorshift over a random seed: challenges need to be unpredictable per session, not secret.
  std::random_device rd;
  rng_ ^= (static_cast<std::uint64_t>(rd()) << 32) | rd();
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return std::to_string(100000000 + rng_ % 900000000);
}

const PeerConfig* Engine::peerByName(const std::string& name) const {
  for (const auto& p : config_.peers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const PeerConfig* Engine::peerByAddress(const Address& a) const {
  for (const auto& p : config_.peers) {
    if (!p.host.empty()) {
      auto addr = hosts_.lookup(p.host, p.port);
      if (addr && addr->sameHost(a)) return &p;
    }
    auto it = peerState_.find(p.name);
    if (it != peerState_.end() && it->second.registered && *it->second.registered == a) return &p;
  }
  return nullptr;
}

std::uint32_t Engine::capability() const {
  std::uint32_t c = 0;
  for (auto f : config_.codecs) c |= f;
  return c;
}

std::optional<std::uint32_t> Engine::chooseFormat(std::uint32_t wanted,
                                                  std::uint32_t capability) const {
  std::uint32_t ours = this->capability();
  if (wanted && (wanted & (wanted - 1)) == 0 && (wanted & ours)) return wanted;
  for (auto f : config_.codecs) {
    if (capability & f) return f;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- receiving

void Engine::onDatagram(const std::uint8_t* data, std::size_t len, const Address& from,
                        std::int64_t nowMs) {
  ++stats_.framesIn;
  switch (classify(data, len)) {
    case DatagramKind::Full: {
      auto f = parseFull(data, len);
      if (!f) {
        ++stats_.dropped;
        return;
      }
      onFull(*f, from, nowMs);
      return;
    }
    case DatagramKind::Mini: {
      auto m = parseMini(data, len);
      if (!m) {
        ++stats_.dropped;
        return;
      }
      onMini(*m, from);
      return;
    }
    case DatagramKind::Trunk:
      onTrunk(data, len, from);
      return;
    default:
      ++stats_.dropped;
      return;
  }
}

void Engine::onFull(FullFrame& f, const Address& from, std::int64_t nowMs) {
  if (config_.logFrames) {
    spdlog::debug("iax2 rx {} call {}/{} ts {} o{} i{}{} from {}", describe(f), f.srcCall,
                  f.dstCall, f.timestamp, f.oseq, f.iseq, f.retransmit ? " R" : "",
                  from.toString());
  }
  if (f.dstCall == 0) {
    onNewSessionFrame(f, from, nowMs);
    return;
  }
  Session* s = find(f.dstCall);
  if (!s || !(s->addr == from)) {
    ++stats_.dropped;
    if (!f.isIax(Cmd::Inval) && !f.isIax(Cmd::Ack) && !s) sendInvalUnknown(f, from);
    return;
  }
  if (s->remote == 0) {
    // The first answer to our NEW / REGREQ names the far end's call number. A CALLTOKEN
    // challenge comes from a stateless responder and does not.
    if (f.isIax(Cmd::CallToken)) {
      auto ies = IeList::decode(f.payload.data(), f.payload.size());
      if (!ies || !ies->has(Ie::CallToken) || s->state == State::Ended) return;
      IeList again;
      for (const auto& ie : s->firstIes.all()) {
        if (ie.id != static_cast<std::uint8_t>(Ie::CallToken))
          again.add(static_cast<Ie>(ie.id), ie.value);
      }
      again.add(Ie::CallToken, *ies->str(Ie::CallToken));
      s->pending.clear();
      s->oseq = 0;
      s->iseq = 0;
      s->lastTxTs = 0;
      sendFull(*s, FrameType::Iax, static_cast<std::uint32_t>(s->firstCmd), again, nowMs);
      return;
    }
    setRemote(*s, f.srcCall);
  } else if (s->remote != f.srcCall) {
    ++stats_.dropped;  // someone else's call number: never let it touch this call
    return;
  }
  handleFrame(*s, f, nowMs);
}

void Engine::onNewSessionFrame(FullFrame& f, const Address& from, std::int64_t nowMs) {
  // A retransmitted NEW / REGREQ belongs to the session it already created.
  if (Session* s = findByRemote(from, f.srcCall)) {
    handleFrame(*s, f, nowMs);
    return;
  }
  if (f.type != FrameType::Iax) {
    ++stats_.dropped;
    return;
  }
  Cmd c = static_cast<Cmd>(f.subclass);
  if (c != Cmd::New && c != Cmd::RegReq && c != Cmd::RegRel && c != Cmd::Poke) {
    ++stats_.dropped;
    return;
  }
  if (f.oseq != 0) {  // a stale retransmission of a session we have forgotten
    ++stats_.dropped;
    return;
  }
  int kind = c == Cmd::New ? kCallIn : c == Cmd::Poke ? kOneShot : kRegServer;
  Session* s = newSession(kind, from, nowMs);
  if (!s) {
    ++stats_.dropped;
    return;
  }
  setRemote(*s, f.srcCall);
  handleFrame(*s, f, nowMs);
}

void Engine::handleFrame(Session& s, FullFrame& f, std::int64_t nowMs) {
  handleAcks(s, f.iseq);
  if (f.isIax(Cmd::Ack)) return;
  if (f.isIax(Cmd::Vnak)) {
    // Everything still unacknowledged goes out again now.
    for (auto& p : s.pending) {
      if (p.bytes.size() > 3) p.bytes[2] |= 0x80;
      sendRaw(s.addr, p.bytes);
      ++stats_.retransmits;
    }
    return;
  }
  if (f.isIax(Cmd::Inval)) {
    if (s.kind == kCallIn || s.kind == kCallOut) {
      endCall(s, EndKind::Hangup, 41, "the far end does not know this call", true, nowMs);
    }
    destroyLater(s, nowMs);
    s.pending.clear();
    return;
  }
  if (countsInSequence(f)) {
    if (f.oseq != s.iseq) {
      if (seqBefore(f.oseq, s.iseq)) {
        sendAck(s, f.timestamp);  // a duplicate: our ACK was lost
      } else if (s.state != State::Ended) {
        sendVnak(s, nowMs);  // a gap: ask for what we missed
      }
      return;
    }
    ++s.iseq;
  }
  if (s.state == State::Ended) {
    sendAck(s, f.timestamp);
    return;
  }
  std::optional<IeList> ies;
  if (f.type == FrameType::Iax) {
    ies = IeList::decode(f.payload.data(), f.payload.size());
    if (!ies) {
      ++stats_.dropped;
      sendAck(s, f.timestamp);
      return;
    }
  }
  switch (f.type) {
    case FrameType::Iax:
      handleIax(s, f, *ies, nowMs);
      break;
    case FrameType::Control:
      sendAck(s, f.timestamp);
      handleControl(s, f, nowMs);
      break;
    case FrameType::Voice:
      sendAck(s, f.timestamp);
      handleVoice(s, f);
      break;
    default:
      sendAck(s, f.timestamp);  // DTMF, text, CNG...: acknowledged and ignored
      break;
  }
}

void Engine::handleControl(Session& s, const FullFrame& f, std::int64_t nowMs) {
  if (s.kind != kCallIn && s.kind != kCallOut) return;
  switch (static_cast<Ctrl>(f.subclass)) {
    case Ctrl::Answer:
      if (s.kind == kCallOut && (s.state == State::Accepted || s.state == State::Dialing)) {
        s.state = State::Up;
        s.lastPingMs = nowMs;
        listener_.onAnswered(s.local);
      }
      break;
    case Ctrl::Busy:
      endCall(s, EndKind::Busy, 17, "the called line is busy", true, nowMs);
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Hangup),
               IeList{}.add(Ie::Cause, "Busy").addU8(Ie::CauseCode, 17), nowMs);
      break;
    case Ctrl::Congestion:
      endCall(s, EndKind::Congestion, 34, "the far end reports congestion", true, nowMs);
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Hangup),
               IeList{}.add(Ie::Cause, "Congestion").addU8(Ie::CauseCode, 34), nowMs);
      break;
    case Ctrl::Hangup:
      endCall(s, EndKind::Hangup, 16, "the far end hung up", true, nowMs);
      break;
    default:
      break;  // RINGING, PROGRESS, PROCEEDING...: nothing to do
  }
}

void Engine::handleIax(Session& s, FullFrame& f, const IeList& ies, std::int64_t nowMs) {
  Cmd c = static_cast<Cmd>(f.subclass);
  switch (c) {
    case Cmd::New:
      if (s.kind == kCallIn && s.state == State::Idle)
        onNew(s, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    case Cmd::AuthRep:
      if (s.kind == kCallIn && s.state == State::WaitAuth)
        onAuthRep(s, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    case Cmd::AuthReq:
      if (s.kind == kCallOut && s.state == State::Dialing)
        onAuthReqForCall(s, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    case Cmd::Accept:
      sendAck(s, f.timestamp);
      if (s.kind == kCallOut && s.state == State::Dialing) {
        auto fmt = ies.u32(Ie::Format);
        if (fmt && (*fmt & capability()) && (*fmt & (*fmt - 1)) == 0) s.format = *fmt;
        s.state = State::Accepted;
      }
      return;
    case Cmd::Hangup: {
      sendAck(s, f.timestamp);
      int cause = causeOf(ies, 16);
      std::string text = ies.str(Ie::Cause).value_or("the far end hung up");
      EndKind kind = cause == 17   ? EndKind::Busy
                     : cause == 34 ? EndKind::Congestion
                                   : EndKind::Hangup;
      endCall(s, kind, cause, text, true, nowMs);
      return;
    }
    case Cmd::Reject: {
      sendAck(s, f.timestamp);
      int cause = causeOf(ies, 21);
      std::string text = ies.str(Ie::Cause).value_or("the call was rejected");
      EndKind kind = cause == 17 ? EndKind::Busy : EndKind::Reject;
      if (s.kind == kRegClient && s.regIndex >= 0 &&
          static_cast<std::size_t>(s.regIndex) < ours_.size()) {
        ours_[s.regIndex].lastError = text;
        ours_[s.regIndex].nextAttemptMs = nowMs + kRetryRegistrationMs;
        destroyLater(s, nowMs);
        return;
      }
      endCall(s, kind, cause, text, true, nowMs);
      return;
    }
    case Cmd::Ping:
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Pong), IeList{}, nowMs,
               f.timestamp);
      return;
    case Cmd::Poke:
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Pong), IeList{}, nowMs,
               f.timestamp);
      if (s.kind == kOneShot) destroyLater(s, nowMs);
      return;
    case Cmd::LagRq:
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::LagRp), IeList{}, nowMs,
               f.timestamp);
      return;
    case Cmd::Pong:
    case Cmd::LagRp:
      sendAck(s, f.timestamp);
      return;
    case Cmd::RegReq:
      if (s.kind == kRegServer)
        onRegReq(s, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    case Cmd::RegRel:
      if (s.kind == kRegServer)
        onRegRel(s, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    case Cmd::RegAuth:
    case Cmd::RegAck:
    case Cmd::RegRej:
      if (s.kind == kRegClient)
        onRegClientReply(s, f, ies, nowMs);
      else
        sendAck(s, f.timestamp);
      return;
    default:
      sendAck(s, f.timestamp);
      return;
  }
}

// ---------------------------------------------------------------- timers

void Engine::poll(std::int64_t nowMs) {
  for (auto& r : ours_) {
    if (nowMs >= r.nextAttemptMs) startRegistration(r, nowMs);
    if (r.registered && nowMs > r.expiresAtMs) {
      r.registered = false;
      r.lastError = "registration expired";
    }
  }
  for (auto& [name, st] : peerState_) {
    if (st.registered && nowMs > st.expiresAtMs) {
      spdlog::info("iax2: registration of peer '{}' expired", core::logSafe(name));
      st.registered.reset();
    }
  }
  std::vector<std::uint16_t> dead;
  for (auto& [no, sp] : sessions_) {
    Session& s = *sp;
    bool failed = false;
    // A challenge or a refusal goes to an address nobody has proven yet (it may be spoofed):
    // few retransmissions, so that we are no amplifier for a reflection attack.
    int maxTries = (s.state == State::WaitAuth || s.state == State::Ended) ? 3 : kMaxTries;
    for (auto& p : s.pending) {
      if (nowMs < p.nextMs) continue;
      if (++p.tries > maxTries) {
        failed = true;
        break;
      }
      if (p.bytes.size() > 3) p.bytes[2] |= 0x80;  // the R bit
      sendRaw(s.addr, p.bytes);
      ++stats_.retransmits;
      p.delayMs = std::min(p.delayMs * 2, kMaxRetryMs);
      p.nextMs = nowMs + p.delayMs;
    }
    if (failed) {
      s.pending.clear();
      if (s.kind == kCallOut && s.remote == 0) {
        // Nothing ever came back for our NEW: no call was placed.
        endCall(s, EndKind::Unreachable, 41,
                "IAX2 peer '" + s.peer + "' at " + s.addr.toString() + " does not answer", true,
                nowMs);
      } else if (s.kind == kCallIn || s.kind == kCallOut) {
        endCall(s, EndKind::Timeout, 41, "the far end stopped answering", true, nowMs);
      } else if (s.kind == kRegClient && s.regIndex >= 0 &&
                 static_cast<std::size_t>(s.regIndex) < ours_.size() && !s.releasing) {
        auto& r = ours_[s.regIndex];
        r.lastError = "no answer from " + s.addr.toString();
        r.nextAttemptMs = nowMs + kRetryRegistrationMs;
      }
      destroyLater(s, nowMs);
    }
    if (s.state == State::WaitAuth && nowMs - s.createdMs > kAuthTimeoutMs) destroyLater(s, nowMs);
    if (s.state == State::Up && config_.pingIntervalMs > 0 &&
        nowMs - s.lastPingMs >= config_.pingIntervalMs) {
      // A full frame now and then keeps mini-frame timestamps anchored at the far end
      // (iaxmodem misreads them after ~30 s of mini frames only) and proves it is alive.
      s.lastPingMs = nowMs;
      sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Ping), IeList{}, nowMs);
    }
    if (s.state == State::Ended && nowMs >= s.reapAtMs && s.pending.empty())
      dead.push_back(no);
    else if (s.state == State::Ended && nowMs >= s.reapAtMs + 30'000)
      dead.push_back(no);
  }
  for (auto no : dead) eraseSession(no);
}

void Engine::shutdown(std::int64_t nowMs) {
  for (auto& [no, s] : sessions_) {
    if ((s->kind == kCallIn || s->kind == kCallOut) && s->state != State::Ended) {
      hangup(no, 16, "vfax is stopping", nowMs);
    }
  }
  for (auto& r : ours_) {
    if (!r.registered) continue;
    auto to = r.address ? r.address : hosts_.lookup(r.cfg.server, r.cfg.port);
    if (!to) continue;
    Session* s = newSession(kRegClient, *to, nowMs);
    if (!s) continue;
    s->regIndex = static_cast<int>(&r - ours_.data());
    s->releasing = true;
    s->state = State::Dialing;
    r.session = s->local;
    sendRegReq(*s, r, "", nowMs);
  }
  for (auto& r : ours_) r.nextAttemptMs = INT64_MAX;
}

std::vector<RegistrationStatus> Engine::registrations(std::int64_t nowMs) const {
  std::vector<RegistrationStatus> out;
  for (const auto& r : ours_) {
    RegistrationStatus st;
    st.name = r.cfg.username + "@" + r.cfg.server + ":" + std::to_string(r.cfg.port);
    st.ours = true;
    st.registered = r.registered && r.expiresAtMs > nowMs;
    st.address = r.address ? r.address->toString() : "";
    st.expiresAtMs = r.expiresAtMs;
    st.lastError = r.lastError;
    out.push_back(st);
  }
  for (const auto& p : config_.peers) {
    RegistrationStatus st;
    st.name = p.name;
    auto it = peerState_.find(p.name);
    if (it != peerState_.end() && it->second.registered) {
      st.registered = it->second.expiresAtMs > nowMs;
      st.address = it->second.registered->toString();
      st.expiresAtMs = it->second.expiresAtMs;
    } else if (!p.host.empty()) {
      st.address = p.host + ":" + std::to_string(p.port);
    }
    out.push_back(st);
  }
  return out;
}

}  // namespace vfax::trunks::iax2
