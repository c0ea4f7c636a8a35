#include "trunks/sip/sip_signalling.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "core/log_safe.h"
#include "trunks/sip/sip_signalling_impl.h"

// The calls of the SIP half: inbound INVITEs, outbound ones, offers and answers during the call,
// the T.38 switch and its refusals, session timers, and the end of a call. The stack itself is in
// sip_stack.cc, peers and registrations in sip_registrations.cc, the gate in sip_access.cc, SDP
// in sip_sdp.cc, small helpers in sip_text.cc.

namespace vfax::trunks::sip {

void Signalling::Impl::onConnect(const sip_msg* msg, void* arg) {
  static_cast<Impl*>(arg)->inboundInvite(msg);
}

void Signalling::Impl::inboundInvite(const sip_msg* msg) {
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
               core::logSafe(info.callerNumber), core::logSafe(info.callerName), saHost(&msg->src),
               core::logSafe(info.calledNumber), core::logSafe(info.trunk),
               c.media == MediaKind::T38 ? "T.38" : core::logSafe(info.codec));
  byCallId[c.callId] = &c;
  std::uint64_t id = c.id;
  calls[id] = std::move(call);
  events.sigInbound(id, info, remote.media);
}

void Signalling::Impl::answer(std::uint64_t id, LocalMedia local) {
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

void Signalling::Impl::reject(std::uint64_t id, HangupCause cause) {
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

void Signalling::Impl::dial(std::uint64_t id, const DialRequest& raw, const std::string& route,
                            LocalMedia local) {
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
  if (auto missing = transportMissing(peer ? peer->config.transport : reg->config.transport);
      !missing.empty()) {
    fail({HangupReason::Unavailable, 41, missing});
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
  c.tls = (peer ? peer->config.transport : reg->config.transport) == SipTransport::Tls;
  c.startedMs = monoMs();
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
  spdlog::info("sip: call {} to {} via {}", core::logSafe(c.callId), core::logSafe(toUri), c.name);
  calls[id] = std::move(call);
}

int Signalling::Impl::onPeerAuth(char** user, char** pass, const char* realm, void* arg) {
  (void)realm;
  auto* p = static_cast<Peer*>(arg);
  int err = str_dup(user, p->config.username.c_str());
  err |= str_dup(pass, p->config.secret.c_str());
  return err;
}

void Signalling::Impl::onProgress(const sip_msg* msg, void* arg) {
  (void)msg;
  (void)arg;  // 180/183: ringing; early media is not needed for fax and is ignored
}

/// An SDP offer from the far end: a re-INVITE (T.38 switch, back to audio, a refresh), or the
/// 2xx of an offerless INVITE we sent. Returning an error makes libre answer 488.
int Signalling::Impl::onOffer(mbuf** descp, const sip_msg* msg, void* arg) {
  auto* c = static_cast<Call*>(arg);
  return c->impl->farOffer(*c, descp, msg);
}

int Signalling::Impl::farOffer(Call& c, mbuf** descp, const sip_msg* msg) {
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
int Signalling::Impl::onAnswer(const sip_msg* msg, void* arg) {
  auto* c = static_cast<Call*>(arg);
  return c->impl->farAnswer(*c, msg);
}

int Signalling::Impl::farAnswer(Call& c, const sip_msg* msg) {
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
void Signalling::Impl::onEstablished(const sip_msg* msg, void* arg) {
  (void)msg;
  auto* c = static_cast<Call*>(arg);
  Impl* impl = c->impl;
  if (c->media == MediaKind::Audio && impl->config.t38.mode == T38Mode::Immediate) {
    impl->askForT38(*c);
  }
}

void Signalling::Impl::onClose(int err, const sip_msg* msg, void* arg) {
  auto* c = static_cast<Call*>(arg);
  c->impl->closed(*c, err, msg);
}

void Signalling::Impl::closed(Call& c, int err, const sip_msg* msg) {
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
  } else if (err && c.tls && !c.answered && !tlsRefusedSince(c.startedMs).empty()) {
    cause = {HangupReason::Unavailable, 41, "TLS: " + tlsRefusedSince(c.startedMs)};
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
  if (c.media == MediaKind::T38 && c.t38SwitchedAtMs > 0 && monoMs() - c.t38SwitchedAtMs < 15'000) {
    remember(c.destination, "the call dropped right after the switch to T.38");
  }
  spdlog::info("sip: call {} ended: {}", core::logSafe(c.callId), core::logSafe(cause.text, 400));
  std::uint64_t id = c.id;
  forget(c);  // our reference to the terminated session goes with it
  events.sigEnded(id, cause);
}

void Signalling::Impl::requestT38(std::uint64_t id) {
  Call* c = find(id);
  if (!c || !c->answered || c->media == MediaKind::T38 || c->t38Pending) return;
  if (config.t38.mode == T38Mode::Off || config.t38.mode == T38Mode::Accept) return;
  askForT38(*c);
}

void Signalling::Impl::askForT38(Call& c) {
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

void Signalling::Impl::restoreAudio(Call& c) {
  sdp_media_set_disabled(c.audio, false);
  sdp_media_set_disabled(c.image, true);
}

void Signalling::Impl::t38Refused(Call& c, const std::string& why) {
  c.t38Pending = false;
  ++stats.t38Refused;
  restoreAudio(c);
  remember(c.destination, why);
  spdlog::info("sip: call {}: T.38 refused ({}); the fax goes on in G.711", c.callId, why);
}

void Signalling::Impl::remember(const std::string& destination, const std::string& why) {
  if (destination.empty()) return;
  if (noT38.size() > 10'000) noT38.clear();
  noT38[destination] = monoMs() + 24LL * 3600 * 1000;
  spdlog::info("sip: {}: next calls stay in G.711 ({})", core::logSafe(destination),
               core::logSafe(why, 400));
}

bool Signalling::Impl::rememberedNoT38(const std::string& destination) {
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
void Signalling::Impl::onTrace(bool tx, sip_transp tp, const sa* src, const sa* dst,
                               const std::uint8_t* pkt, std::size_t len, void* arg) {
  (void)tp;
  (void)dst;
  if (tx || len < 12 || std::memcmp(pkt, "SIP/2.0 ", 8) != 0) return;
  char first = static_cast<char>(pkt[8]);
  if (first < '3' || first > '6') return;
  static_cast<Impl*>(arg)->traceResponse(pkt, len, src);
}

void Signalling::Impl::traceResponse(const std::uint8_t* pkt, std::size_t len, const sa* src) {
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
    const bool fromPeer =
        it != byCallId.end() && (it->second->sigHost.empty() || it->second->sigHost == saHost(src));
    if (fromPeer && it->second->t38Pending && s >= 300 && s != 401 && s != 407 && s != 491 &&
        s != 408 && s != 481 && !(s == 500 && sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER))) {
      t38Refused(*it->second, std::to_string(s) + " " + plStr(msg->reason));
    }
  }
  mem_deref(msg);
  mem_deref(mb);
}

void Signalling::Impl::startSessionTimer(Call& c) {
  tmr_cancel(&c.refreshTimer);
  tmr_cancel(&c.watchdogTimer);
  if (c.sessionExpires <= 0) return;
  c.lastRefreshMs = monoMs();
  if (c.weRefresh) {
    tmr_start(&c.refreshTimer, static_cast<std::uint64_t>(c.sessionExpires) * 500, &Impl::onRefresh,
              &c);
  } else {
    // The far end refreshes. If it forgets, we refresh ourselves rather than let a fax drop.
    tmr_start(&c.watchdogTimer, static_cast<std::uint64_t>(c.sessionExpires) * 2000 / 3,
              &Impl::onWatchdog, &c);
  }
}

void Signalling::Impl::onRefresh(void* arg) {
  auto* c = static_cast<Call*>(arg);
  c->impl->refresh(*c);
  tmr_start(&c->refreshTimer, static_cast<std::uint64_t>(c->sessionExpires) * 500, &Impl::onRefresh,
            c);
}

void Signalling::Impl::onWatchdog(void* arg) {
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

void Signalling::Impl::refresh(Call& c) {
  if (!c.sess || c.t38Pending) return;
  auto desc = encode(c, true);
  if (desc && sipsess_modify(c.sess, desc.get()) == 0) {
    ++stats.sessionRefreshes;
    c.lastRefreshMs = monoMs();
  }
}

void Signalling::Impl::hangup(std::uint64_t id, const HangupCause& cause) {
  Call* c = find(id);
  if (!c) return;
  endCall(*c, cause, true);
}

void Signalling::Impl::endCall(Call& c, const HangupCause& cause, bool erase) {
  if (c.sess) {
    if (c.inbound && !c.answered) {
      (void)sipsess_reject(c.sess, 480, "Temporarily Unavailable", nullptr);
    } else {
      (void)sipsess_set_close_headers(c.sess, "Reason: Q.850;cause=%d;text=\"%s\"\r\n", cause.code,
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
void Signalling::Impl::releaseCall(Call& c) {
  if (c.ended) return;
  c.ended = true;
  tmr_cancel(&c.refreshTimer);
  tmr_cancel(&c.watchdogTimer);
  if (c.sess) c.sess = static_cast<sipsess*>(mem_deref(c.sess));
  if (c.sdp) c.sdp = static_cast<sdp_session*>(mem_deref(c.sdp));
}

void Signalling::Impl::forget(Call& c) {
  releaseCall(c);
  byCallId.erase(c.callId);
  calls.erase(c.id);  // destroys c
}

Signalling::Call* Signalling::Impl::find(std::uint64_t id) {
  auto it = calls.find(id);
  return it == calls.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------------

Signalling::Signalling(SignallingEvents& events, SipConfig config)
    : impl_(std::make_unique<Impl>(events, std::move(config))) {}
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
