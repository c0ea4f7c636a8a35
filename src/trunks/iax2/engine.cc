#include "trunks/iax2/engine.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>

#include "trunks/iax2/engine_internal.h"
#include "trunks/iax2/md5.h"

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
  auto it = sessions_.find(local);
  return it == sessions_.end() ? nullptr : it->second.get();
}

const Engine::Session* Engine::find(std::uint16_t local) const {
  auto it = sessions_.find(local);
  return it == sessions_.end() ? nullptr : it->second.get();
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

// ---------------------------------------------------------------- sending

void Engine::sendRaw(const Address& to, const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) return;
  ++stats_.framesOut;
  transport_.sendTo(to, bytes.data(), bytes.size());
}

std::uint32_t Engine::timestampFor(Session& s, std::int64_t nowMs) {
  auto ts = static_cast<std::uint32_t>(std::max<std::int64_t>(nowMs - s.startMs, 0));
  // Full frames must not go back in time, and a new command should not reuse the last stamp.
  if (ts <= s.lastTxTs && s.lastTxTs != 0) ts = s.lastTxTs + 1;
  return ts;
}

void Engine::sendFullPayload(Session& s, FrameType type, std::uint32_t subclass,
                             std::vector<std::uint8_t> payload, std::int64_t nowMs,
                             std::optional<std::uint32_t> ts) {
  FullFrame f;
  f.srcCall = s.local;
  f.dstCall = s.remote;
  f.timestamp = ts ? *ts : timestampFor(s, nowMs);
  if (f.timestamp > s.lastTxTs) s.lastTxTs = f.timestamp;
  f.iseq = s.iseq;
  f.type = type;
  f.subclass = subclass;
  f.payload = std::move(payload);
  bool counted = countsInSequence(f);
  f.oseq = s.oseq;
  if (counted) ++s.oseq;
  auto bytes = serializeFull(f);
  if (bytes.empty()) return;
  if (config_.logFrames) {
    spdlog::debug("iax2 tx {} call {}/{} ts {} o{} i{} to {}", describe(f), f.srcCall, f.dstCall,
                  f.timestamp, f.oseq, f.iseq, s.addr.toString());
  }
  sendRaw(s.addr, bytes);
  if (counted) {
    Session::Pending p;
    p.oseq = f.oseq;
    p.nextMs = nowMs + kFirstRetryMs;
    p.bytes = std::move(bytes);
    s.pending.push_back(std::move(p));
  }
}

void Engine::sendFull(Session& s, FrameType type, std::uint32_t subclass, const IeList& ies,
                      std::int64_t nowMs, std::optional<std::uint32_t> ts) {
  std::vector<std::uint8_t> payload;
  if (!ies.encode(payload)) return;
  sendFullPayload(s, type, subclass, std::move(payload), nowMs, ts);
}

void Engine::sendAck(Session& s, std::uint32_t ts) {
  FullFrame f;
  f.srcCall = s.local;
  f.dstCall = s.remote;
  f.timestamp = ts;  // an ACK carries the timestamp of the frame it acknowledges
  f.oseq = s.oseq;
  f.iseq = s.iseq;
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(Cmd::Ack);
  sendRaw(s.addr, serializeFull(f));
}

void Engine::sendVnak(Session& s, std::int64_t nowMs) {
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Vnak), IeList{}, nowMs);
}

void Engine::sendInvalUnknown(const FullFrame& in, const Address& from) {
  FullFrame f;
  f.srcCall = in.dstCall;
  f.dstCall = in.srcCall;
  f.timestamp = in.timestamp;
  f.oseq = in.iseq;
  f.iseq = static_cast<std::uint8_t>(in.oseq + 1);
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(Cmd::Inval);
  if (f.srcCall == 0) return;
  sendRaw(from, serializeFull(f));
}

void Engine::handleAcks(Session& s, std::uint8_t iseq) {
  std::erase_if(s.pending, [iseq](const Session::Pending& p) { return seqBefore(p.oseq, iseq); });
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
    default:
      ++stats_.dropped;
      return;
  }
}

void Engine::onMini(const MiniFrame& m, const Address& from) {
  // Mini frames name only the sender's call number: find the call it belongs to.
  Session* s = findByRemote(from, m.srcCall);
  if (!s || (s->state != State::Up && s->state != State::Accepted && s->state != State::Ringing) ||
      !s->haveRxTs || s->format == 0) {
    ++stats_.dropped;  // a mini frame is only valid after a full voice frame set the format
    return;
  }
  std::uint32_t ts = (s->lastRxTs & 0xffff0000u) | m.timestamp;
  auto diff = static_cast<std::int32_t>(ts - s->lastRxTs);
  if (diff < -0x8000) ts += 0x10000;
  else if (diff > 0x8000) ts -= 0x10000;
  if (static_cast<std::int32_t>(ts - s->lastRxTs) > 0) s->lastRxTs = ts;
  s->jb.put(ts, s->format, m.data, m.len);
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

void Engine::handleVoice(Session& s, const FullFrame& f) {
  if (s.kind != kCallIn && s.kind != kCallOut) return;
  if (s.state != State::Up && s.state != State::Accepted && s.state != State::Ringing) return;
  std::uint32_t fmt = f.subclass;
  if ((fmt & capability()) == 0 || (fmt & (fmt - 1)) != 0) return;
  s.format = fmt;
  if (!s.haveRxTs || static_cast<std::int32_t>(f.timestamp - s.lastRxTs) > 0) {
    s.lastRxTs = f.timestamp;
  }
  s.haveRxTs = true;
  s.jb.put(f.timestamp, fmt, f.payload.data(), f.payload.size());
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
      if (s.kind == kCallIn && s.state == State::Idle) onNew(s, ies, nowMs);
      else sendAck(s, f.timestamp);
      return;
    case Cmd::AuthRep:
      if (s.kind == kCallIn && s.state == State::WaitAuth) onAuthRep(s, ies, nowMs);
      else sendAck(s, f.timestamp);
      return;
    case Cmd::AuthReq:
      if (s.kind == kCallOut && s.state == State::Dialing) onAuthReqForCall(s, ies, nowMs);
      else sendAck(s, f.timestamp);
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
      EndKind kind = cause == 17 ? EndKind::Busy : cause == 34 ? EndKind::Congestion
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
      if (s.kind == kRegServer) onRegReq(s, ies, nowMs);
      else sendAck(s, f.timestamp);
      return;
    case Cmd::RegRel:
      if (s.kind == kRegServer) onRegRel(s, ies, nowMs);
      else sendAck(s, f.timestamp);
      return;
    case Cmd::RegAuth:
    case Cmd::RegAck:
    case Cmd::RegRej:
      if (s.kind == kRegClient) onRegClientReply(s, f, ies, nowMs);
      else sendAck(s, f.timestamp);
      return;
    default:
      sendAck(s, f.timestamp);
      return;
  }
}

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
                 s.peer);
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
  if (notify && known) listener_.onEnded(s.local, kind, cause, text);
}

// ---------------------------------------------------------------- outbound calls

core::Result<std::uint16_t> Engine::dial(const std::string& number,
                                         const std::string& callerNumber,
                                         const std::string& callerName, std::int64_t nowMs) {
  std::optional<Address> to;
  std::string username;
  std::string secret;
  bool pbx = false;
  std::string routeName;
  std::string host;
  auto useReg = [&](const RegistrationConfig& r) {
    host = r.server;
    to = hosts_.lookup(r.server, r.port);
    username = r.username;
    secret = r.secret;
    pbx = true;
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
    return core::makeError("no_route", "No IAX2 peer or registration is configured for outbound calls.");
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
             IeList{}.add(Ie::Cause, "No usable authentication").addU8(Ie::CauseCode, 29),
             nowMs);
    endCall(s, EndKind::Reject, 29, "the far end asked for authentication we cannot give", true,
            nowMs);
    return;
  }
  s.sentResponse = true;
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::AuthRep),
           IeList{}.add(Ie::Md5Result, md5Response(*challenge, s.secret)), nowMs);
}

// ---------------------------------------------------------------- media

void Engine::sendVoice(std::uint16_t call, const std::uint8_t* data, std::size_t len,
                       std::int64_t nowMs) {
  Session* s = find(call);
  if (!s || s->state != State::Up || s->format == 0 || len > kMaxDatagram - kFullHeader) return;
  auto elapsed = static_cast<std::uint32_t>(std::max<std::int64_t>(nowMs - s->startMs, 0));
  if (!s->txVoice) {
    s->txTs = (elapsed / 20 + 1) * 20;
  } else {
    s->txTs += 20;
    // After a stall of the loop, rejoin the wall clock instead of running behind for ever.
    if (static_cast<std::int32_t>(elapsed - s->txTs) > 200) s->txTs = (elapsed / 20) * 20;
  }
  bool full = !s->txVoice || s->txFormat != s->format ||
              (s->txTs & 0xffff0000u) != (s->lastTxTs & 0xffff0000u);
  s->txVoice = true;
  if (full) {
    s->txFormat = s->format;
    sendFullPayload(*s, FrameType::Voice, s->format, std::vector<std::uint8_t>(data, data + len),
                    nowMs, s->txTs);
    return;
  }
  std::uint8_t buf[kMaxDatagram];
  std::size_t n = serializeMini(s->local, static_cast<std::uint16_t>(s->txTs & 0xffff), data, len,
                                buf);
  ++stats_.framesOut;
  transport_.sendTo(s->addr, buf, n);
}

const VoiceFrame* Engine::popVoice(std::uint16_t call) {
  Session* s = find(call);
  if (!s || s->state != State::Up) return nullptr;
  return s->jb.pop();
}

std::uint32_t Engine::format(std::uint16_t call) const {
  const Session* s = find(call);
  return s ? s->format : 0;
}

bool Engine::up(std::uint16_t call) const {
  const Session* s = find(call);
  return s && s->state == State::Up;
}

std::string Engine::peerOf(std::uint16_t call) const {
  const Session* s = find(call);
  return s ? s->peer : std::string();
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
      spdlog::info("iax2: registration of peer '{}' expired", name);
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
        endCall(s, EndKind::Unreachable, 41, "IAX2 peer '" + s.peer + "' at " +
                s.addr.toString() + " does not answer", true, nowMs);
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
    if (s.state == State::Ended && nowMs >= s.reapAtMs && s.pending.empty()) dead.push_back(no);
    else if (s.state == State::Ended && nowMs >= s.reapAtMs + 30'000) dead.push_back(no);
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
