#include "trunks/sip/sip_trunk.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <random>

#include "codec/g711.h"
#include "core/log_safe.h"
#include "reactor/udp_socket.h"
#include "trunks/iax2/jitter_buffer.h"
#include "trunks/sip/sip_signalling.h"
#include "trunks/sip/t38_params.h"
#include "trunks/sip/udptl.h"

namespace vfax::trunks::sip {

using reactor::kSamplesPerTick;

namespace {

constexpr std::size_t kRtpHeader = 12;
constexpr std::size_t kMaxT38Queue = 128;  // IFPs received between two media ticks
// A call's own RTP or UDPTL socket, read every 20 ms: room for seconds of a stalled loop, and a
// bound on what a flood at an idle media port parks in the kernel.
constexpr int kMediaSocketBuffer = 256 << 10;

std::uint32_t randomU32() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return rng();
}

UdptlOptions udptlOptions(const SipConfig& config, const T38Params* remote) {
  UdptlOptions o = udptlOptionsFor(remote ? *remote : offerT38(config.t38), config.t38);
  o.maxDatagram = std::min<std::size_t>(o.maxDatagram, reactor::UdpSocket::kMaxDatagram);
  return o;
}

/// Silence in an RTP payload of type `pt` (for the jitter buffer's drift trimming).
bool rtpQuiet(std::uint32_t pt, const std::uint8_t* data, std::size_t len) {
  return codec::g711Quiet(pt == kPtPcmu ? codec::G711Law::Ulaw : codec::G711Law::Alaw, data, len);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class SipCall final : public Call, public std::enable_shared_from_this<SipCall> {
 public:
  SipCall(SipTrunk& trunk, std::uint64_t id, CallInfo info, const SipConfig& config)
      : trunk_(trunk),
        id_(id),
        info_(std::move(info)),
        config_(config),
        rtp_(trunk.loop()),
        udptl_(trunk.loop()),
        jitter_(5, &rtpQuiet),
        udptlTx_(udptlOptions(config, nullptr)) {
    ssrc_ = randomU32();
    seq_ = static_cast<std::uint16_t>(randomU32());
    timestamp_ = randomU32();
  }
  ~SipCall() override { stopMedia(); }

  core::Result<LocalMedia> open(const std::string& bindAddress, int& nextPort) {
    const int lo = std::max(1024, config_.rtpPortMin & ~1);
    const int hi = std::min(65534, config_.rtpPortMax);
    const int slots = std::max(1, (hi - lo + 1) / 4);
    for (int tries = 0; tries < slots; ++tries) {
      int p = lo + ((nextPort + tries) % slots) * 4;
      auto rtpAddr = reactor::SockAddr::numeric(bindAddress, p);
      auto udptlAddr = reactor::SockAddr::numeric(bindAddress, p + 2);
      if (!rtpAddr || !udptlAddr) {
        return core::makeError("sip_media", "bad media address " + bindAddress);
      }
      auto weak = weak_from_this();
      auto r = rtp_.open(
          *rtpAddr,
          [weak](const std::uint8_t* d, std::size_t n, const reactor::SockAddr& from) {
            if (auto self = weak.lock()) self->onRtp(d, n, from);
          },
          kMediaSocketBuffer);
      if (!r) continue;
      auto u = udptl_.open(
          *udptlAddr,
          [weak](const std::uint8_t* d, std::size_t n, const reactor::SockAddr& from) {
            if (auto self = weak.lock()) self->onUdptl(d, n, from);
          },
          kMediaSocketBuffer);
      if (!u) {
        rtp_.close();
        continue;
      }
      // Read once per media tick (tick()), never on readiness: a call's datagrams then cost no
      // epoll wake-up, and all calls' reads share the iteration their timers fire in.
      rtp_.setWatching(false);
      udptl_.setWatching(false);
      // RTP brings a datagram every tick; UDPTL one tick in two or three, or none for seconds
      // while the other side talks: its tick reads only when the loop's hint poll saw one.
      udptl_.useReadHint();
      nextPort = (nextPort + tries + 1) % slots;
      local_.rtpPort = p;
      local_.udptlPort = p + 2;
      return local_;
    }
    return core::makeError("sip_media", "no free media ports in " +
                                            std::to_string(config_.rtpPortMin) + "-" +
                                            std::to_string(config_.rtpPortMax));
  }

  std::uint64_t id() const { return id_; }
  const LocalMedia& local() const { return local_; }

  // Call
  const CallInfo& info() const override { return info_; }
  MediaKind media() const override { return media_; }
  void setHandler(CallHandler* handler) override { handler_ = handler; }
  bool ended() const override { return ended_; }

  void answer() override {
    if (ended_ || answered_ || info_.direction != CallDirection::Inbound) return;
    answered_ = true;
    trunk_.callAnswer(*this);
    startMedia();
  }
  void reject(const HangupCause& cause) override {
    if (ended_) return;
    markEnded();
    trunk_.callReject(*this, cause);
  }
  void hangup(const HangupCause& cause) override {
    if (ended_) return;
    markEnded();
    trunk_.callHangup(*this, cause);
  }
  void sendAudio(const std::int16_t* samples, std::size_t n) override {
    if (ended_ || !answered_ || media_ != MediaKind::Audio || !haveAudioDest_) return;
    std::array<std::uint8_t, kRtpHeader + kSamplesPerTick * 3> pkt{};
    n = std::min<std::size_t>(n, kSamplesPerTick * 3);
    const int pt = remote_.payloadType;
    pkt[0] = 0x80;
    pkt[1] = static_cast<std::uint8_t>((first_ ? 0x80 : 0) | (pt & 0x7f));
    pkt[2] = static_cast<std::uint8_t>(seq_ >> 8);
    pkt[3] = static_cast<std::uint8_t>(seq_);
    for (int i = 0; i < 4; ++i) {
      pkt[4 + i] = static_cast<std::uint8_t>(timestamp_ >> (24 - 8 * i));
      pkt[8 + i] = static_cast<std::uint8_t>(ssrc_ >> (24 - 8 * i));
    }
    codec::g711Encode(pt == kPtPcmu ? codec::G711Law::Ulaw : codec::G711Law::Alaw, samples, n,
                      pkt.data() + kRtpHeader);
    rtp_.sendNow(remote_.audio, pkt.data(), kRtpHeader + n);
    first_ = false;
    ++seq_;
    timestamp_ += static_cast<std::uint32_t>(n);
  }
  void sendT38(const std::uint8_t* ifp, std::size_t len) override {
    if (ended_ || !answered_ || media_ != MediaKind::T38 || !haveImageDest_) return;
    std::array<std::uint8_t, reactor::UdpSocket::kMaxDatagram> out{};
    std::size_t n = udptlTx_.encode(ifp, len, out.data(), out.size());
    if (n == 0) {
      ++oversized_;
      return;
    }
    udptl_.sendNow(remote_.image, out.data(), n);
  }
  bool requestT38() override {
    if (ended_ || !answered_ || media_ != MediaKind::Audio) return false;
    if (t38Asked_) return true;
    t38Asked_ = true;
    trunk_.callRequestT38(*this);
    return true;
  }

  // Trunk side (loop thread).
  void setRemote(const RemoteMedia& remote) {
    remote_ = remote;
    sdpAudio_ = remote.audio;
    sdpImage_ = remote.image;
    mediaTicks_ = 0;
    haveAudioDest_ = remote.kind == MediaKind::Audio && remote.audio.len > 0;
    haveImageDest_ = remote.kind == MediaKind::T38 && remote.image.len > 0;
    audioLatched_ = false;
    imageLatched_ = false;
    if (remote.kind == MediaKind::T38) {
      udptlTx_.setOptions(udptlOptions(config_, &remote.t38));
    }
    if (remote.kind == MediaKind::Audio) {
      info_.codec = remote.payloadType == kPtPcmu ? "PCMU" : "PCMA";
    }
  }
  void setInitialMedia(MediaKind kind) {
    media_ = kind;
    info_.media = kind;
  }
  void farAnswered(const RemoteMedia& remote) {
    if (ended_ || answered_) return;
    // Early media from before the answer is not fax: drop it, as a watched socket did.
    rtp_.drain();
    answered_ = true;
    setRemote(remote);
    media_ = remote.kind;
    startMedia();
    if (handler_) handler_->onAnswered();
  }
  void mediaChanged(const RemoteMedia& remote) {
    if (ended_) return;
    const MediaKind before = media_;
    setRemote(remote);
    if (remote.kind == before) return;
    media_ = remote.kind;
    t38Queue_.clear();
    jitter_.reset();
    if (remote.kind == MediaKind::T38) udptlRx_.reset();
    if (remote.kind == MediaKind::Audio) t38Asked_ = false;
    if (handler_) handler_->onMediaChanged(media_);
  }
  void farEnded(const HangupCause& cause) {
    if (ended_) return;
    markEnded();
    if (handler_) handler_->onHangup(cause);
  }

 private:
  void markEnded() {
    ended_ = true;
    SipMediaStats m;
    m.foreign = foreign_;
    m.audioLate = jitter_.stats().late;
    m.audioOverflows = jitter_.stats().overflows;
    m.audioUnderruns = jitter_.stats().underruns;
    m.t38Lost = udptlRx_.stats().lost;
    m.t38Recovered = udptlRx_.stats().recovered;
    m.t38Oversized = oversized_;
    trunk_.addMediaStats(m);
    stopMedia();
    rtp_.close();
    udptl_.close();
    trunk_.callEnded(*this);
  }
  void startMedia() {
    if (timer_ != 0) return;
    auto& loop = trunk_.loop();
    const std::int64_t period = reactor::kTickMs * 1000;
    const std::int64_t first = (loop.nowUs() / period + 1) * period;
    auto weak = weak_from_this();
    timer_ = loop.every(
        period, first,
        [weak] {
          if (auto self = weak.lock()) self->tick();
        },
        true);
  }
  void stopMedia() {
    if (timer_ != 0) {
      trunk_.loop().cancel(timer_);
      timer_ = 0;
    }
  }

  void tick() {
    if (ended_ || !handler_) return;
    ++mediaTicks_;
    // Keep ourselves alive through the handler's calls (it may hang up).
    auto self = shared_from_this();
    // What arrived since the last tick, for the media in use. The other socket keeps what it
    // has: UDPTL sent right after the far end's 200 to our re-INVITE is read once we switch.
    if (media_ == MediaKind::Audio) {
      rtp_.drain();
    } else {
      udptl_.drainIfReadable();
    }
    if (ended_) return;
    if (media_ == MediaKind::Audio) {
      if (const auto* f = jitter_.pop()) {
        std::array<std::int16_t, 480> pcm{};
        std::size_t n = std::min<std::size_t>(f->len, pcm.size());
        codec::g711Decode(f->format == kPtPcmu ? codec::G711Law::Ulaw : codec::G711Law::Alaw,
                          f->data.data(), n, pcm.data());
        handler_->onAudio(pcm.data(), n);
      }
    } else {
      // FEC holds IFPs back behind a gap until it is repaired; a quiet stream releases them.
      if (++quietTicks_ >= 3 && udptlRx_.holding()) udptlRx_.flush(&SipCall::queueIfp, this);
      while (!t38Queue_.empty() && !ended_) {
        const auto& p = t38Queue_.front();
        handler_->onT38(p.data.data(), p.len, p.seq);
        t38Queue_.pop_front();
      }
    }
    if (!ended_ && handler_) handler_->onMediaTick();
  }

  void onRtp(const std::uint8_t* d, std::size_t n, const reactor::SockAddr& from) {
    if (ended_ || n < kRtpHeader || (d[0] & 0xc0) != 0x80) return;
    const int pt = d[1] & 0x7f;
    if (pt != kPtPcma && pt != kPtPcmu) return;  // comfort noise, DTMF events: not fax
    std::size_t header = kRtpHeader + static_cast<std::size_t>(d[0] & 0x0f) * 4;
    if (d[0] & 0x10) {  // header extension
      if (n < header + 4) return;
      header += 4 + (static_cast<std::size_t>(d[header + 2]) << 8 | d[header + 3]) * 4;
    }
    std::size_t end = n;
    if (d[0] & 0x20) {  // padding
      const std::size_t pad = d[n - 1];
      if (pad == 0 || pad > n - header) return;
      end = n - pad;
    }
    if (end <= header || end - header > 960) return;
    if (!acceptFrom(from, sdpAudio_, remote_.audio, audioLatched_)) return;
    haveAudioDest_ = true;
    const std::uint32_t ts = static_cast<std::uint32_t>(d[4]) << 24 |
                             static_cast<std::uint32_t>(d[5]) << 16 |
                             static_cast<std::uint32_t>(d[6]) << 8 | d[7];
    if (!haveTs_) {
      haveTs_ = true;
      lastTs_ = ts;
      extTs_ = 0;
    } else {
      extTs_ += static_cast<std::int32_t>(ts - lastTs_);
      lastTs_ = ts;
    }
    if (media_ != MediaKind::Audio) return;
    jitter_.put(static_cast<std::uint32_t>(extTs_ / 8), static_cast<std::uint32_t>(pt), d + header,
                end - header);
  }

  struct T38Packet {
    std::array<std::uint8_t, 512> data{};
    std::size_t len = 0;
    std::uint16_t seq = 0;
  };
  void onUdptl(const std::uint8_t* d, std::size_t n, const reactor::SockAddr& from) {
    if (ended_ || media_ != MediaKind::T38) return;
    if (!acceptFrom(from, sdpImage_, remote_.image, imageLatched_)) return;
    quietTicks_ = 0;
    if (udptlRx_.receive(d, n, &SipCall::queueIfp, this)) haveImageDest_ = true;
  }

  /// Symmetric media with a guard against injection: packets from the host the SDP named are
  /// taken (and we answer to their port: NATs and SBCs change ports); a packet from another host
  /// is taken only if the SDP's host stayed silent for the first 2 s of media (a NAT changed the
  /// address), and then only that one source. Everything else is dropped.
  bool acceptFrom(const reactor::SockAddr& from, const reactor::SockAddr& sdp,
                  reactor::SockAddr& dest, bool& latched) {
    if (latched) {
      if (from == dest) return true;
      if (sdp.len > 0 && from.sameHost(sdp) && !dest.sameHost(sdp)) {
        dest = from;  // the announced host shows up after all: prefer it
        return true;
      }
      ++foreign_;
      return false;
    }
    if (!answered_) return false;
    if (sdp.len == 0 || from.sameHost(sdp) || mediaTicks_ >= 100) {
      dest = from;
      latched = true;
      return true;
    }
    ++foreign_;
    return false;
  }

  static void queueIfp(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) {
    auto* self = static_cast<SipCall*>(ctx);
    if (self->t38Queue_.size() >= kMaxT38Queue || len > sizeof(T38Packet::data)) return;
    T38Packet& p = self->t38Queue_.emplace_back();
    std::memcpy(p.data.data(), ifp, len);
    p.len = len;
    p.seq = seq;
  }

  SipTrunk& trunk_;
  std::uint64_t id_;
  CallInfo info_;
  const SipConfig& config_;
  CallHandler* handler_ = nullptr;
  MediaKind media_ = MediaKind::Audio;
  RemoteMedia remote_;
  LocalMedia local_;
  reactor::UdpSocket rtp_;
  reactor::UdpSocket udptl_;
  iax2::JitterBuffer jitter_;
  UdptlSender udptlTx_;
  UdptlReceiver udptlRx_;
  std::deque<T38Packet> t38Queue_;
  reactor::TimerId timer_ = 0;
  bool answered_ = false;
  bool ended_ = false;
  bool t38Asked_ = false;
  bool haveAudioDest_ = false;
  bool haveImageDest_ = false;
  bool audioLatched_ = false;
  bool imageLatched_ = false;
  bool first_ = true;
  std::uint32_t ssrc_ = 0;
  std::uint16_t seq_ = 0;
  std::uint32_t timestamp_ = 0;
  bool haveTs_ = false;
  std::uint32_t lastTs_ = 0;
  std::int64_t extTs_ = 0;
  std::uint64_t oversized_ = 0;
  int quietTicks_ = 0;
  int mediaTicks_ = 0;          // since the last SDP exchange
  std::uint64_t foreign_ = 0;   // media packets dropped: not from the far end
  reactor::SockAddr sdpAudio_;  // where the SDP said the far end's media is
  reactor::SockAddr sdpImage_;
};

// ---------------------------------------------------------------------------------------------

SipTrunk::SipTrunk(reactor::EventLoop& loop, SipConfig config)
    : loop_(loop), config_(std::move(config)) {
  mediaBind_ = config_.listen.empty() ? "127.0.0.1" : config_.listen.front().address;
}

SipTrunk::~SipTrunk() {
  *alive_ = false;
  if (thread_.running()) {
    // Not stopped (or not finished): signalling tears down at once on its own thread.
    (void)thread_.runSync([this] { signalling_.reset(); });
  }
  thread_.stop();
}

core::Result<void> SipTrunk::start(TrunkEvents& events) {
  events_ = &events;
  if (auto r = thread_.start(); !r) return r;
  return thread_.runSync([this] {
    signalling_ = std::make_unique<Signalling>(*this, config_);
    signalling_->start();
  });
}

void SipTrunk::stop(std::function<void()> done) {
  stopping_ = true;
  // Our media ends now; signalling sends BYE/CANCEL and un-REGISTERs on its thread.
  auto calls = calls_;
  for (auto& [id, call] : calls) {
    (void)id;
    call->farEnded(normalCause("vfax is stopping"));
  }
  calls_.clear();
  auto alive = std::weak_ptr<bool>(alive_);
  auto finish = [this, alive, done = std::move(done)]() mutable {
    if (alive.expired()) return;
    thread_.stop();
    if (done) done();
  };
  bool posted = thread_.post([this, alive, finish = std::move(finish)]() mutable {
    if (!signalling_) {
      loop_.post(std::move(finish));
      return;
    }
    signalling_->stop(800, [this, alive, finish = std::move(finish)]() mutable {
      // Not inside signalling's own call chain: free it on the next turn of the SIP thread.
      (void)thread_.post([this, alive, finish = std::move(finish)]() mutable {
        signalling_.reset();
        loop_.post(std::move(finish));
      });
    });
  });
  if (!posted) {
    thread_.stop();
    if (done) done();
  }
}

void SipTrunk::toLoop(std::function<void()> fn) {
  std::weak_ptr<bool> alive = alive_;
  loop_.post([alive, fn = std::move(fn)] {
    if (auto a = alive.lock(); a && *a) fn();
  });
}

void SipTrunk::toSip(std::function<void(Signalling&)> fn) {
  (void)thread_.post([this, fn = std::move(fn)] {
    if (signalling_) fn(*signalling_);
  });
}

std::shared_ptr<SipCall> SipTrunk::find(std::uint64_t id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second;
}

core::Result<std::shared_ptr<SipCall>> SipTrunk::makeCall(std::uint64_t id, CallInfo info) {
  auto call = std::make_shared<SipCall>(*this, id, std::move(info), config_);
  auto local = call->open(mediaBind_, nextPort_);
  if (!local) return local.error();
  calls_[id] = call;
  return call;
}

core::Result<std::shared_ptr<Call>> SipTrunk::dial(const DialRequest& request,
                                                   CallHandler& handler) {
  if (stopping_ || !thread_.running()) {
    return core::makeError("trunk_stopped", "the SIP trunk is not running");
  }
  CallInfo info;
  info.trunk = request.route.empty() ? "sip" : "sip:" + request.route;
  info.direction = CallDirection::Outbound;
  info.calledNumber = request.number;
  info.callerNumber = request.callerNumber;
  info.callerName = request.callerName;
  const std::uint64_t id = nextId_++;
  auto call = makeCall(id, info);
  if (!call) return core::makeError("congestion", call.error().message);
  (*call)->setHandler(&handler);
  const LocalMedia local = (*call)->local();
  toSip([id, request, local](Signalling& s) { s.dial(id, request, request.route, local); });
  return std::static_pointer_cast<Call>(*call);
}

void SipTrunk::callAnswer(SipCall& call) {
  const std::uint64_t id = call.id();
  const LocalMedia local = call.local();
  toSip([id, local](Signalling& s) { s.answer(id, local); });
}
void SipTrunk::callReject(SipCall& call, const HangupCause& cause) {
  const std::uint64_t id = call.id();
  toSip([id, cause](Signalling& s) { s.reject(id, cause); });
}
void SipTrunk::callHangup(SipCall& call, const HangupCause& cause) {
  const std::uint64_t id = call.id();
  toSip([id, cause](Signalling& s) { s.hangup(id, cause); });
}
void SipTrunk::callRequestT38(SipCall& call) {
  const std::uint64_t id = call.id();
  toSip([id](Signalling& s) { s.requestT38(id); });
}
void SipTrunk::addMediaStats(const SipMediaStats& m) {
  std::lock_guard lock(mediaMutex_);
  media_ += m;
}

void SipTrunk::callEnded(SipCall& call) {
  // Keep the object alive until the current callback returns.
  const std::uint64_t id = call.id();
  loop_.defer([this, id, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    calls_.erase(id);
  });
}

// --- from the SIP thread -----------------------------------------------------------------------

void SipTrunk::sigInbound(std::uint64_t id, CallInfo info, RemoteMedia media) {
  toLoop([this, id, info = std::move(info), media]() mutable {
    if (stopping_ || !events_) {
      toSip([id](Signalling& s) {
        s.reject(id, HangupCause{HangupReason::Unavailable, 41, "stopping"});
      });
      return;
    }
    auto call = makeCall(id, info);
    if (!call) {
      spdlog::warn("sip: inbound call refused: {}", core::logSafe(call.error().message, 400));
      toSip([id](Signalling& s) {
        s.reject(id, HangupCause{HangupReason::Busy, 34, "no media ports"});
      });
      return;
    }
    (*call)->setInitialMedia(media.kind);
    (*call)->setRemote(media);
    events_->onInboundCall(*call);
  });
}

void SipTrunk::sigAnswered(std::uint64_t id, RemoteMedia media) {
  toLoop([this, id, media] {
    if (auto call = find(id)) call->farAnswered(media);
  });
}

void SipTrunk::sigMedia(std::uint64_t id, RemoteMedia media) {
  toLoop([this, id, media] {
    if (auto call = find(id)) call->mediaChanged(media);
  });
}

void SipTrunk::sigEnded(std::uint64_t id, HangupCause cause) {
  toLoop([this, id, cause] {
    if (auto call = find(id)) call->farEnded(cause);
  });
}

void SipTrunk::sigState(bool up, std::string reason) {
  toLoop([this, up, reason = std::move(reason)] {
    if (events_) events_->onTrunkState("sip", up, reason);
  });
}

// --- any thread ---------------------------------------------------------------------------------

void SipTrunk::reconfigure(SipConfig config) {
  toSip([config](Signalling& s) { s.reconfigure(config); });
  toLoop([this, config]() mutable {
    // Calls in progress keep their copy's lifetime: SipCall holds a reference to config_, so
    // only fields read at call setup change (ports, codecs, T.38 options of new calls).
    config_ = std::move(config);
  });
}

SipStatus SipTrunk::status() {
  SipStatus st;
  auto r = thread_.runSync([this, &st] {
    if (signalling_) st = signalling_->status();
  });
  if (!r) st.error = r.error().message;
  std::lock_guard lock(mediaMutex_);
  st.stats.media = media_;
  return st;
}

int SipTrunk::boundPort(SipTransport transport) {
  int port = 0;
  (void)thread_.runSync([this, &port, transport] {
    if (signalling_) port = signalling_->boundPort(transport);
  });
  return port;
}

}  // namespace vfax::trunks::sip
