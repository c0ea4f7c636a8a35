// Signalling's gate: who may talk to us. Every request outside our sessions passes gateRequest;
// INVITEs are accepted from configured peers (by source address and/or digest, with stateless
// HMAC nonces used once) and through our registrations. Strangers get a throttled stateless 403
// or nothing at all.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "core/address_match.h"
#include "core/log_safe.h"
#include "trunks/sip/sip_signalling_impl.h"

namespace vfax::trunks::sip {

namespace {
constexpr const char* kRealm = "vfax";
}  // namespace

Signalling::Impl::Source Signalling::Impl::identify(const sip_msg* msg) {
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

Signalling::Peer* Signalling::Impl::digestOnlyPeer(const sip_msg* msg) {
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

std::string Signalling::Impl::makeNonce(const sip_msg* msg) {
  std::uint64_t t = static_cast<std::uint64_t>(monoMs() / 1000);
  return nonceFor(t, saHost(&msg->src));
}

std::string Signalling::Impl::nonceFor(std::uint64_t t, const std::string& host) {
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

bool Signalling::Impl::nonceValid(const std::string& nonce, const sip_msg* msg) {
  auto dot = nonce.find('.');
  if (dot == std::string::npos) return false;
  std::uint64_t t = std::strtoull(nonce.substr(0, dot).c_str(), nullptr, 16);
  std::uint64_t now = static_cast<std::uint64_t>(monoMs() / 1000);
  if (t > now || now - t > 300) return false;
  return nonce == nonceFor(t, saHost(&msg->src));
}

/// Checks the INVITE's digest against the peer's credentials. True: authenticated. False:
/// a reply was sent (401 challenge, or 403 for wrong credentials).
bool Signalling::Impl::checkDigest(Peer& p, const sip_msg* msg) {
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

void Signalling::Impl::authFailed(const sip_msg* msg, const std::string& why) {
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
void Signalling::Impl::replyToSource(const sip_msg* msg, int scode, const char* reason) {
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
bool Signalling::Impl::onRequest(const sip_msg* msg, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  return impl->gateRequest(msg);
}

bool Signalling::Impl::gateRequest(const sip_msg* msg) {
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

}  // namespace vfax::trunks::sip
