#include "trunks/iax2/iax2_trunk.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "codec/g711.h"
#include "core/log_safe.h"

namespace vfax::trunks::iax2 {

using reactor::kSamplesPerTick;
using reactor::kTickMs;

class Iax2Call final : public Call {
 public:
  Iax2Call(Iax2Trunk& trunk, std::uint16_t no, CallInfo info)
      : trunk_(trunk), no_(no), info_(std::move(info)) {}

  const CallInfo& info() const override {
    // The format is negotiated with the call (NEW/ACCEPT); kept once the engine forgot the call.
    switch (trunk_.engine().format(no_)) {
      case kFormatUlaw:
        info_.codec = "PCMU";
        break;
      case kFormatAlaw:
        info_.codec = "PCMA";
        break;
      case kFormatSlinear:
        info_.codec = "slinear";
        break;
      default:
        break;
    }
    return info_;
  }
  MediaKind media() const override { return MediaKind::Audio; }
  void setHandler(CallHandler* handler) override { handler_ = handler; }
  bool ended() const override { return ended_; }

  ~Iax2Call() override { stopMedia(); }

  void answer() override {
    if (ended_ || answered_ || info_.direction != CallDirection::Inbound) return;
    answered_ = true;
    trunk_.engine().answer(no_, trunk_.nowMs());
    trunk_.startMedia(*this);
  }
  void reject(const HangupCause& cause) override {
    if (ended_) return;
    markEnded();
    spdlog::info("iax2: call from {} to '{}' refused: {} (cause {})", core::logSafe(info_.trunk),
                 core::logSafe(info_.calledNumber), core::logSafe(cause.text), cause.code);
    trunk_.engine().reject(no_, cause.code, cause.text, trunk_.nowMs());
  }
  void hangup(const HangupCause& cause) override {
    if (ended_) return;
    markEnded();
    trunk_.engine().hangup(no_, cause.code, cause.text.empty() ? "normal clearing" : cause.text,
                           trunk_.nowMs());
  }

  void sendAudio(const std::int16_t* samples, std::size_t n) override {
    if (ended_ || !answered_) return;
    std::uint8_t buf[kSamplesPerTick * 2 * 3];
    n = std::min<std::size_t>(n, kSamplesPerTick * 3);
    std::size_t len = 0;
    switch (trunk_.engine().format(no_)) {
      case kFormatUlaw:
        codec::g711Encode(codec::G711Law::Ulaw, samples, n, buf);
        len = n;
        break;
      case kFormatAlaw:
        codec::g711Encode(codec::G711Law::Alaw, samples, n, buf);
        len = n;
        break;
      case kFormatSlinear:
        // Signed linear travels big-endian (network order) on IAX2.
        for (std::size_t i = 0; i < n; ++i) {
          auto v = static_cast<std::uint16_t>(samples[i]);
          buf[2 * i] = static_cast<std::uint8_t>(v >> 8);
          buf[2 * i + 1] = static_cast<std::uint8_t>(v);
        }
        len = n * 2;
        break;
      default:
        return;
    }
    trunk_.engine().sendVoice(no_, buf, len, trunk_.nowMs());
  }

  void sendT38(const std::uint8_t*, std::size_t) override {}  // IAX2 carries audio only

  // Trunk side.
  void deliver(const VoiceFrame& f) {
    if (ended_ || !handler_) return;
    std::int16_t pcm[960];
    std::size_t n = 0;
    switch (f.format) {
      case kFormatUlaw:
        n = std::min(f.len, std::size_t{960});
        codec::g711Decode(codec::G711Law::Ulaw, f.data.data(), n, pcm);
        break;
      case kFormatAlaw:
        n = std::min(f.len, std::size_t{960});
        codec::g711Decode(codec::G711Law::Alaw, f.data.data(), n, pcm);
        break;
      case kFormatSlinear:
        n = std::min(f.len / 2, std::size_t{960});
        for (std::size_t i = 0; i < n; ++i) {
          pcm[i] = static_cast<std::int16_t>(f.data[2 * i] << 8 | f.data[2 * i + 1]);
        }
        break;
      default:
        return;
    }
    if (n) handler_->onAudio(pcm, n);
  }
  /// One 20 ms media tick: the received frame of this tick (if any), then ours.
  void mediaTick() {
    if (ended_ || !answered_) return;
    if (const VoiceFrame* f = trunk_.engine().popVoice(no_)) deliver(*f);
    if (!ended_ && handler_) handler_->onMediaTick();
  }
  void setMediaTimer(reactor::TimerId id) { mediaTimer_ = id; }
  bool hasMediaTimer() const { return mediaTimer_ != 0; }
  void stopMedia() {
    if (mediaTimer_ == 0) return;
    trunk_.loop().cancel(mediaTimer_);
    mediaTimer_ = 0;
    trunk_.mediaStopped();
  }
  void markAnswered() { answered_ = true; }
  void markEnded() {
    ended_ = true;
    stopMedia();
  }
  bool answered() const { return answered_; }
  CallHandler* handler() const { return handler_; }
  std::uint16_t number() const { return no_; }

 private:
  Iax2Trunk& trunk_;
  std::uint16_t no_;
  mutable CallInfo info_;  // codec filled in by info()
  CallHandler* handler_ = nullptr;
  bool answered_ = false;
  bool ended_ = false;
  reactor::TimerId mediaTimer_ = 0;
};

HangupCause hangupCauseFor(EndKind kind, int code, const std::string& text, bool answered) {
  HangupCause c;
  c.code = code;
  c.text = text;
  switch (kind) {
    case EndKind::Busy:
      c.reason = HangupReason::Busy;
      c.code = 17;
      return c;
    case EndKind::Congestion:
      c.reason = HangupReason::Failure;
      return c;
    case EndKind::Timeout:
      c.reason = answered ? HangupReason::Failure : HangupReason::Unreachable;
      return c;
    case EndKind::Unreachable:
      c.reason = HangupReason::Unavailable;  // nothing answered our NEW: no call was placed
      return c;
    case EndKind::Reject:
    case EndKind::Hangup:
      break;
  }
  switch (code) {
    case 17:
      c.reason = HangupReason::Busy;
      break;
    case 18:
    case 19:
      c.reason = HangupReason::NoAnswer;
      break;
    case 1:
    case 3:
    case 21:
    case 22:
    case 27:
    case 28:
    case 29:
    case 57:
    case 58:
    case 88:
      c.reason = HangupReason::Rejected;
      break;
    case 34:
    case 38:
    case 41:
    case 42:
    case 44:
    case 47:
      c.reason = HangupReason::Failure;  // congestion and network trouble: worth a retry
      break;
    default:
      c.reason = kind == EndKind::Reject ? HangupReason::Rejected : HangupReason::Normal;
      break;
  }
  return c;
}

Iax2Trunk::Iax2Trunk(reactor::EventLoop& loop, Iax2TrunkOptions options)
    : loop_(loop), options_(std::move(options)) {
  resolver_ = std::make_unique<reactor::Resolver>(loop_, options_.resolver);
  Transport& transport = *this;
  EngineListener& listener = *this;
  HostLookup& hosts = *this;
  engine_ = std::make_unique<Engine>(options_.engine, transport, listener, hosts);
}

Iax2Trunk::~Iax2Trunk() {
  loop_.removeIterationHook(this);
  for (auto& [no, call] : calls_) call->markEnded();
  if (drainTimer_) loop_.cancel(drainTimer_);
  if (housekeepingTimer_) loop_.cancel(housekeepingTimer_);
  if (bindTimer_) loop_.cancel(bindTimer_);
  if (stopTimer_) loop_.cancel(stopTimer_);
}

std::optional<Address> Iax2Trunk::lookup(const std::string& host, int port) {
  // An address our socket can send to, when the name has both IPv4 and IPv6 ones.
  return resolver_->lookup(host, port, bindFamily_);
}

std::string Iax2Trunk::lookupError(const std::string& host) { return resolver_->error(host); }

core::Result<std::unique_ptr<reactor::UdpSocket>> Iax2Trunk::openSocket(const std::string& address,
                                                                        int port) {
  auto addr = Address::numeric(address, port);
  if (!addr) {
    return core::makeError("invalid_address",
                           "The IAX2 bind address '" + address + "' is not a numeric address.");
  }
  auto socket = std::make_unique<reactor::UdpSocket>(loop_);
  auto bound =
      socket->open(*addr, [this](const std::uint8_t* data, std::size_t len, const Address& from) {
        engine_->onDatagram(data, len, from, nowMs());
      });
  if (!bound) {
    return bound.error();  // the trunk is named wherever this is shown
  }
  boundPort_ = bound->port();
  bound_ = bound->toString();
  bindFamily_ = bound->ss.ss_family;
  spdlog::info("iax2: listening on {}", bound_);
  return socket;
}

void Iax2Trunk::setState(bool up, const std::string& reason) {
  if (up == up_ && reason == reason_) return;
  up_ = up;
  reason_ = reason;
  if (events_) events_->onTrunkState(name(), up, reason);
}

void Iax2Trunk::tryBind() {
  bindTimer_ = 0;
  if (stopping_ || socket_) return;
  auto socket = openSocket(options_.bindAddress, options_.port);
  if (socket) {
    socket_ = std::move(*socket);
    bindRetryMs_ = 1000;
    setState(true, {});
    return;
  }
  if (reason_ != socket.error().message) {
    spdlog::error("iax2: {} (retrying)", socket.error().message);
  }
  setState(false, socket.error().message);
  // The port may be held by a process that is going away (a restart, another PBX tool).
  bindTimer_ = loop_.after(static_cast<std::int64_t>(bindRetryMs_) * 1000, [this] { tryBind(); });
  bindRetryMs_ = std::min(bindRetryMs_ * 2, options_.bindRetryMaxMs);
}

void Iax2Trunk::prefetchHosts() {
  for (const auto& host : engine_->hostNames()) resolver_->prefetch(host);
}

core::Result<void> Iax2Trunk::start(TrunkEvents& events) {
  events_ = &events;
  stopping_ = false;
  if (!Address::numeric(options_.bindAddress, options_.port)) {
    return core::makeError("invalid_address", "The IAX2 bind address '" + options_.bindAddress +
                                                  "' is not a numeric address.");
  }
  // After every call's media tick of this iteration: the trunk frames they filled go out, in
  // the same sendmmsg as the rest.
  loop_.removeIterationHook(this);
  loop_.addIterationHook(this, [this] {
    engine_->flushTrunks();
    if (socket_) socket_->flush();
  });
  up_ = true;  // so that the first setState() reports
  setState(false, "starting");
  prefetchHosts();
  tryBind();
  if (!housekeepingTimer_) {
    housekeepingTimer_ = loop_.every(50'000, loop_.nowUs() + 50'000, [this] { housekeeping(); });
  }
  return {};
}

void Iax2Trunk::housekeeping() {
  if (!socket_) return;
  engine_->poll(nowMs());
  std::erase_if(calls_,
                [](const auto& kv) { return kv.second->ended() && kv.second.use_count() == 1; });
}

void Iax2Trunk::startMedia(Iax2Call& call) {
  if (call.hasMediaTimer() || call.ended()) return;
  // Every call on one 20 ms grid of the wall clock: their frames go out in one sendmmsg.
  const std::int64_t period = kTickMs * 1000;
  const std::int64_t first = (loop_.nowUs() / period + 1) * period;
  call.setMediaTimer(loop_.every(
      period, first, [&call] { call.mediaTick(); }, true));
  ++mediaCalls_;
  updateReadMode();
}

void Iax2Trunk::mediaStopped() {
  --mediaCalls_;
  updateReadMode();
}

// With calls running, the socket is read once per media tick, just before the calls' media
// timers on the same grid: one wake-up and a few recvmmsg calls a tick instead of a wake-up per
// datagram. Signalling waits at most one tick (20 ms). Only when the kernel granted a receive
// buffer that holds a tick of every call's datagrams; otherwise readiness it is.
void Iax2Trunk::updateReadMode() {
  if (!socket_) return;
  const bool grid = mediaCalls_ > 0 && socket_->receiveBuffer() >= mediaCalls_ * 8 * 1024;
  if (grid == (drainTimer_ != 0)) return;
  if (grid) {
    const std::int64_t period = kTickMs * 1000;
    const std::int64_t first = (loop_.nowUs() / period + 1) * period - 1;
    drainTimer_ = loop_.every(period, first, [this] {
      if (socket_) socket_->drain();
    });
    socket_->setWatching(false);
  } else {
    loop_.cancel(drainTimer_);
    drainTimer_ = 0;
    socket_->setWatching(true);
  }
}

void Iax2Trunk::rebind(std::string address, int port) {
  loop_.post([this, address = std::move(address), port] {
    if (address == options_.bindAddress && port == options_.port) return;
    if (!socket_) {  // not bound yet: the retry loop takes the new address
      options_.bindAddress = address;
      options_.port = port;
      bindRetryMs_ = 1000;
      if (bindTimer_) loop_.cancel(bindTimer_);
      tryBind();
      return;
    }
    auto socket = openSocket(address, port);
    if (!socket) {
      spdlog::error("iax2: {} (keeping {}:{})", socket.error().message, options_.bindAddress,
                    options_.port);
      return;
    }
    options_.bindAddress = address;
    options_.port = port;
    socket_ = std::move(*socket);
    if (drainTimer_ != 0) socket_->setWatching(false);
  });
}

void Iax2Trunk::stop(std::function<void()> done) {
  stopping_ = true;
  stopDone_ = std::move(done);
  if (bindTimer_) loop_.cancel(bindTimer_);
  bindTimer_ = 0;
  if (!socket_) {
    finishStop();
    return;
  }
  for (auto& [no, call] : calls_) call->markEnded();
  engine_->shutdown(nowMs());
  // HANGUP and REGREL get a moment to be acknowledged, on loop timers (never a sleep).
  stopDeadlineMs_ = nowMs() + 400;
  stopTimer_ = loop_.every(10'000, loop_.nowUs() + 10'000, [this] {
    engine_->poll(nowMs());
    if (engine_->sessionCount() == 0 || nowMs() >= stopDeadlineMs_) finishStop();
  });
}

void Iax2Trunk::finishStop() {
  if (stopTimer_) loop_.cancel(stopTimer_);
  stopTimer_ = 0;
  if (housekeepingTimer_) loop_.cancel(housekeepingTimer_);
  housekeepingTimer_ = 0;
  for (auto& [no, call] : calls_) call->markEnded();
  calls_.clear();
  if (drainTimer_) loop_.cancel(drainTimer_);
  drainTimer_ = 0;
  engine_->flushTrunks();
  loop_.removeIterationHook(this);
  socket_.reset();
  setState(false, "stopped");
  events_ = nullptr;
  if (auto done = std::move(stopDone_)) done();
}

core::Result<std::shared_ptr<Call>> Iax2Trunk::dial(const DialRequest& request,
                                                    CallHandler& handler) {
  if (!socket_) {
    return core::makeError("trunk_stopped", "the IAX2 trunk is not listening" +
                                                (reason_.empty() ? std::string() : ": " + reason_));
  }
  if (request.number.empty())
    return core::makeError("invalid_number", "No number was given to call.");
  auto no = engine_->dial(request.number, request.callerNumber, request.callerName, nowMs());
  if (!no.ok()) return no.error();
  CallInfo info{"iax2:" + engine_->peerOf(*no),
                CallDirection::Outbound,
                request.number,
                request.callerNumber,
                request.callerName,
                MediaKind::Audio,
                {}};
  auto call = std::make_shared<Iax2Call>(*this, *no, std::move(info));
  call->setHandler(&handler);
  calls_[*no] = call;
  return std::shared_ptr<Call>(call);
}

void Iax2Trunk::sendTo(const Address& to, const std::uint8_t* data, std::size_t len) {
  // UDP: a full socket buffer loses the frame like the network would (retransmission copes).
  if (socket_) socket_->send(to, data, len);
}

void Iax2Trunk::onInboundCall(std::uint16_t no, const InboundCallInfo& in) {
  CallInfo info{"iax2:" + in.peer,
                CallDirection::Inbound,
                in.calledNumber,
                in.callerNumber,
                in.callerName,
                MediaKind::Audio,
                {}};
  auto call = std::make_shared<Iax2Call>(*this, no, std::move(info));
  calls_[no] = call;
  spdlog::info("iax2: call from peer '{}' ({} {}) to '{}'", core::logSafe(in.peer),
               core::logSafe(in.callerNumber), core::logSafe(in.callerName),
               core::logSafe(in.calledNumber));
  // Deferred: the owner must not run inside the engine's datagram handling.
  loop_.post([this, weak = std::weak_ptr<Iax2Call>(call)] {
    auto c = weak.lock();
    if (!c) return;
    if (!events_) {
      c->reject(busyCause());
      return;
    }
    events_->onInboundCall(c);
  });
}

void Iax2Trunk::onAnswered(std::uint16_t no) {
  auto it = calls_.find(no);
  if (it == calls_.end()) return;
  it->second->markAnswered();
  startMedia(*it->second);
  loop_.post([weak = std::weak_ptr<Iax2Call>(it->second)] {
    auto c = weak.lock();
    if (c && !c->ended() && c->handler()) c->handler()->onAnswered();
  });
}

void Iax2Trunk::onEnded(std::uint16_t no, EndKind kind, int causeCode, const std::string& text) {
  auto it = calls_.find(no);
  if (it == calls_.end()) return;
  auto call = it->second;
  if (call->ended()) return;
  call->markEnded();
  HangupCause cause = hangupCauseFor(kind, causeCode, text, call->answered());
  loop_.post([call, cause] {
    if (call->handler()) call->handler()->onHangup(cause);
  });
}

void Iax2Trunk::reconfigure(EngineConfig config) {
  loop_.post([this, config = std::move(config)]() mutable {
    engine_->reconfigure(std::move(config), nowMs());
    prefetchHosts();
  });
}

Iax2Status Iax2Trunk::status() {
  // Shared: after a timeout the task may still run, and must not write into a dead frame.
  auto out = std::make_shared<Iax2Status>();
  auto r = loop_.runSync(
      [this, out] {
        Iax2Status& st = *out;
        st.running = socket_ != nullptr;
        st.bound = socket_ ? bound_ : options_.bindAddress + ":" + std::to_string(options_.port);
        st.error = socket_ ? std::string() : reason_;
        st.registrations = engine_->registrations(nowMs());
        st.stats = engine_->stats();
        if (socket_) st.udp = socket_->stats();
        st.calls = static_cast<int>(std::count_if(
            calls_.begin(), calls_.end(), [](const auto& kv) { return !kv.second->ended(); }));
      },
      std::chrono::seconds(2));
  if (!r) {
    Iax2Status st;
    st.error = r.error().message;
    return st;
  }
  return *out;
}

}  // namespace vfax::trunks::iax2
