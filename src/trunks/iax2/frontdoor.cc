// The engine's front door: what an address that has not proven itself may cost us. NEW, REGREQ
// and REGREL get a stateless CALLTOKEN answer (RFC 5456 with the CALLTOKEN IE extension, as
// Asterisk does it) and open a session only when they echo a fresh token, which proves that the
// source address is real; POKE gets a stateless PONG. No answer to an unproven address is longer
// than the request it answers (no amplification). Sessions that are not authenticated yet are
// bounded per source and in all; sources whose authentications keep failing are ignored a while.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "trunks/iax2/engine_internal.h"

namespace vfax::trunks::iax2 {

using namespace detail;

namespace {

// "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1": the per-source key of SourceGate.
std::string hostOf(const Address& a) {
  std::string t = a.toString();
  if (!t.empty() && t.front() == '[') {
    auto end = t.find(']');
    return end == std::string::npos ? t : t.substr(1, end - 1);
  }
  auto colon = t.rfind(':');
  return colon == std::string::npos ? t : t.substr(0, colon);
}

}  // namespace

// HMAC (keyed BLAKE2b) of the source address and port and the token's epoch, cut to 48 bits and
// written as 8 URL-safe base64 characters: printable (Asterisk handles tokens as C strings) and
// short, so that the CALLTOKEN answer fits into the smallest real request.
std::string Engine::callToken(const Address& from, std::int64_t epoch) const {
  const std::string msg = from.toString() + "|" + std::to_string(epoch);
  unsigned char mac[crypto_generichash_BYTES_MIN];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(msg.data()),
                     msg.size(), tokenKey_, sizeof tokenKey_);
  char text[sodium_base64_ENCODED_LEN(kTokenMacBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, mac, kTokenMacBytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

// A token is the MAC's first 6 to 8 characters: as many as the answer can carry without being
// longer than the request (a REGREL of a short name is small). 36 bits still take a spoofer
// billions of blind guesses for one unproven session of a few seconds.
bool Engine::callTokenValid(const std::string& token, const Address& from,
                            std::int64_t nowMs) const {
  if (token.size() < kMinTokenChars) return false;
  const std::int64_t epoch = nowMs / kTokenEpochMs;
  for (std::int64_t e : {epoch, epoch - 1}) {
    const std::string want = callToken(from, e);
    if (token.size() <= want.size() && sodium_memcmp(token.data(), want.data(), token.size()) == 0)
      return true;
  }
  return false;
}

// An answer from no session: the request's call number as destination, its timestamp echoed.
// Not sent if it would be longer than the request.
void Engine::sendStateless(const FullFrame& in, const Address& to, Cmd cmd, const IeList& ies,
                           std::size_t requestLen) {
  FullFrame f;
  f.srcCall = kStatelessCallNo;
  f.dstCall = in.srcCall;
  f.timestamp = in.timestamp;
  f.oseq = in.iseq;
  f.iseq = static_cast<std::uint8_t>(in.oseq + 1);
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(cmd);
  if (!ies.encode(f.payload)) return;
  auto bytes = serializeFull(f);
  if (bytes.empty() || bytes.size() > requestLen) {
    ++stats_.unprovenDropped;
    return;
  }
  if (cmd == Cmd::CallToken) ++stats_.callTokensSent;
  if (cmd == Cmd::Pong) ++stats_.pongsSent;
  sendRaw(to, bytes);
}

// A request without a CALLTOKEN IE names a peer that may do without (calltoken = "optional").
bool Engine::legacyAllowed(const IeList& ies, const Address& from) const {
  const PeerConfig* peer = nullptr;
  if (auto user = ies.str(Ie::Username); user && !user->empty()) {
    peer = peerByName(*user);
  } else {
    peer = peerByAddress(from);
  }
  if (!peer || peer->callTokenRequired) return false;
  if (!peer->host.empty()) {
    auto addr = hosts_.lookup(peer->host, peer->port);
    return addr && addr->sameHost(from);
  }
  return true;
}

bool Engine::admitNewSession(const FullFrame& f, const IeList& ies, const Address& from,
                             std::size_t requestLen, std::int64_t nowMs) {
  const std::string host = hostOf(from);
  auto token = ies.str(Ie::CallToken);
  if (token && !token->empty() && callTokenValid(*token, from, nowMs)) {
    // The address is proven: it received our token.
  } else if (token) {
    // The client can do CALLTOKEN: (re)issue one, stateless. A stale token gets a fresh one.
    const std::size_t room = requestLen - std::min(requestLen, kFullHeader + 2);
    std::string fresh = callToken(from, nowMs / kTokenEpochMs);
    if (room < kMinTokenChars) {
      ++stats_.unprovenDropped;  // too short a request to answer without amplification
      return false;
    }
    fresh.resize(std::min(fresh.size(), room));
    sendStateless(f, from, Cmd::CallToken, IeList{}.add(Ie::CallToken, fresh), requestLen);
    return false;
  } else if (!legacyAllowed(ies, from)) {
    ++stats_.unprovenDropped;
    if (nowMs - lastTokenlessLogMs_ >= 10'000) {
      lastTokenlessLogMs_ = nowMs;
      spdlog::warn(
          "iax2: ignored a request without CALLTOKEN from {} (peers that cannot do CALLTOKEN "
          "need calltoken = \"optional\"); such requests are logged once per 10 s",
          from.toString());
    }
    return false;
  } else if (!gate_.mayAnswer(host, nowMs)) {
    // Our challenge to an unproven address is longer than its request: few per second.
    ++stats_.unprovenDropped;
    return false;
  }
  const std::string key = sip::SourceGate::sourceKey(host);
  auto it = unprovenBySource_.find(key);
  const int fromSource = it == unprovenBySource_.end() ? 0 : it->second;
  if (fromSource >= config_.maxUnprovenPerSource || unproven_ >= config_.maxSessions / 2) {
    ++stats_.unprovenDropped;
    return false;
  }
  return true;
}

void Engine::markProven(Session& s) { forgetUnproven(s); }

void Engine::forgetUnproven(Session& s) {
  if (!s.unproven) return;
  s.unproven = false;
  --unproven_;
  auto it = unprovenBySource_.find(s.sourceKey);
  if (it != unprovenBySource_.end() && --it->second <= 0) unprovenBySource_.erase(it);
}

void Engine::authFailed(const Address& from, std::int64_t nowMs) {
  ++stats_.authFailures;
  gate_.recordFailure(hostOf(from), nowMs);
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
  if (gate_.blocked(hostOf(from), nowMs)) {
    ++stats_.unprovenDropped;
    return;
  }
  const std::size_t requestLen = kFullHeader + f.payload.size();
  if (c == Cmd::Poke) {
    sendStateless(f, from, Cmd::Pong, IeList{}, requestLen);
    return;
  }
  auto ies = IeList::decode(f.payload.data(), f.payload.size());
  if (!ies) {
    ++stats_.dropped;
    return;
  }
  if (!admitNewSession(f, *ies, from, requestLen, nowMs)) return;
  int kind = c == Cmd::New ? kCallIn : kRegServer;
  Session* s = newSession(kind, from, nowMs);
  if (!s) {
    ++stats_.dropped;
    return;
  }
  s->unproven = true;
  s->sourceKey = sip::SourceGate::sourceKey(hostOf(from));
  ++unprovenBySource_[s->sourceKey];
  ++unproven_;
  setRemote(*s, f.srcCall);
  handleFrame(*s, f, nowMs);
}

}  // namespace vfax::trunks::iax2
