#include "trunks/iax2/iax2_trunk.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "codec/g711.h"

namespace vfax::trunks::iax2 {

class Iax2Call final : public Call {
 public:
  Iax2Call(Iax2Trunk& trunk, std::uint16_t no, CallInfo info)
      : trunk_(trunk), no_(no), info_(std::move(info)) {}

  const CallInfo& info() const override { return info_; }
  MediaKind media() const override { return MediaKind::Audio; }
  void setHandler(CallHandler* handler) override { handler_ = handler; }
  bool ended() const override { return ended_; }

  void answer() override {
    if (ended_ || answered_ || info_.direction != CallDirection::Inbound) return;
    answered_ = true;
    trunk_.engine().answer(no_, trunk_.nowMs());
  }
  void reject(const HangupCause& cause) override {
    if (ended_) return;
    ended_ = true;
    spdlog::info("iax2: call from {} to '{}' refused: {} (cause {})", info_.trunk,
                 info_.calledNumber, cause.text, cause.code);
    trunk_.engine().reject(no_, cause.code, cause.text, trunk_.nowMs());
  }
  void hangup(const HangupCause& cause) override {
    if (ended_) return;
    ended_ = true;
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
  void markAnswered() { answered_ = true; }
  void markEnded() { ended_ = true; }
  bool answered() const { return answered_; }
  CallHandler* handler() const { return handler_; }
  std::uint16_t number() const { return no_; }

 private:
  Iax2Trunk& trunk_;
  std::uint16_t no_;
  CallInfo info_;
  CallHandler* handler_ = nullptr;
  bool answered_ = false;
  bool ended_ = false;
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
    case 1: case 3: case 21: case 22: case 27: case 28: case 29: case 57: case 58: case 88:
      c.reason = HangupReason::Rejected;
      break;
    case 34: case 38: case 41: case 42: case 44: case 47:
      c.reason = HangupReason::Failure;  // congestion and network trouble: worth a retry
      break;
    default:
      c.reason = kind == EndKind::Reject ? HangupReason::Rejected : HangupReason::Normal;
      break;
  }
  return c;
}

Iax2Trunk::Iax2Trunk(EventLoop& loop, Iax2TrunkOptions options)
    : loop_(loop), options_(std::move(options)) {
  Transport& transport = *this;
  EngineListener& listener = *this;
  engine_ = std::make_unique<Engine>(options_.engine, transport, listener);
}

Iax2Trunk::~Iax2Trunk() {
  if (registered_) loop_.removeTickListener(this);
  if (fd_ >= 0) ::close(fd_);
}

std::int64_t Iax2Trunk::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

core::Result<void> Iax2Trunk::openSocket() {
  auto addr = Address::parse(options_.bindAddress, options_.port == 0 ? 1 : options_.port);
  if (!addr) {
    return core::makeError("invalid_address",
                           "The IAX2 bind address '" + options_.bindAddress + "' is not valid.");
  }
  if (options_.port == 0) {
    if (addr->ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr->ss)->sin_port = 0;
    else reinterpret_cast<sockaddr_in6*>(&addr->ss)->sin6_port = 0;
  }
  int fd = ::socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::makeError("socket_failed", std::string("socket: ") + std::strerror(errno));
  // The socket is read once per 20 ms tick: with many calls, a late tick must not overflow the
  // kernel's default buffer (about 270 small datagrams), or voice frames are lost.
  int size = 8 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr->ss), addr->len) != 0) {
    int err = errno;
    ::close(fd);
    return core::makeError("bind_failed", "Cannot listen for IAX2 on " + addr->toString() + ": " +
                                              std::strerror(err));
  }
  Address bound;
  bound.len = sizeof(bound.ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound.ss), &bound.len);
  boundPort_ = bound.ss.ss_family == AF_INET
                   ? ntohs(reinterpret_cast<sockaddr_in*>(&bound.ss)->sin_port)
                   : ntohs(reinterpret_cast<sockaddr_in6*>(&bound.ss)->sin6_port);
  fd_ = fd;
  spdlog::info("iax2: listening on {}", bound.toString());
  return {};
}

core::Result<void> Iax2Trunk::start(TrunkEvents& events) {
  events_ = &events;
  if (fd_ < 0) {
    if (auto r = openSocket(); !r) return r;
  }
  if (!registered_) {
    loop_.addTickListener(this);
    registered_ = true;
  }
  return {};
}

void Iax2Trunk::rebind(std::string address, int port) {
  loop_.post([this, address = std::move(address), port] {
    if (fd_ < 0 || (address == options_.bindAddress && port == options_.port)) return;
    auto oldAddress = options_.bindAddress;
    auto oldPort = options_.port;
    options_.bindAddress = address;
    options_.port = port;
    int old = fd_;
    fd_ = -1;
    if (auto r = openSocket(); !r) {
      spdlog::error("iax2: {} (keeping {}:{})", r.error().message, oldAddress, oldPort);
      options_.bindAddress = oldAddress;
      options_.port = oldPort;
      fd_ = old;
      return;
    }
    ::close(old);
  });
}

void Iax2Trunk::stop() {
  if (fd_ < 0) return;
  for (auto& [no, call] : calls_) call->markEnded();
  engine_->shutdown(nowMs());
  // Give HANGUP and REGREL a moment to be acknowledged (bounded: we are stopping).
  auto deadline = nowMs() + 400;
  while (nowMs() < deadline) {
    drainSocket();
    engine_->poll(nowMs());
    if (engine_->sessionCount() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  calls_.clear();
  events_ = nullptr;
  ::close(fd_);
  fd_ = -1;
  if (registered_) {
    loop_.removeTickListener(this);
    registered_ = false;
  }
}

core::Result<std::shared_ptr<Call>> Iax2Trunk::dial(const DialRequest& request,
                                                    CallHandler& handler) {
  if (fd_ < 0) return core::makeError("trunk_stopped", "The IAX2 trunk is not running.");
  if (request.number.empty()) return core::makeError("invalid_number", "No number was given to call.");
  auto no = engine_->dial(request.number, request.callerNumber, request.callerName, nowMs());
  if (!no.ok()) return no.error();
  CallInfo info{"iax2:" + engine_->peerOf(*no), CallDirection::Outbound, request.number,
                request.callerNumber, request.callerName, MediaKind::Audio};
  auto call = std::make_shared<Iax2Call>(*this, *no, std::move(info));
  call->setHandler(&handler);
  calls_[*no] = call;
  return std::shared_ptr<Call>(call);
}

void Iax2Trunk::sendTo(const Address& to, const std::uint8_t* data, std::size_t len) {
  if (fd_ < 0) return;
  // UDP: a full socket buffer loses the frame like the network would (retransmission copes).
  (void)::sendto(fd_, data, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to.ss), to.len);
}

void Iax2Trunk::drainSocket() {
  std::uint8_t buf[kMaxDatagram + 1];
  auto now = nowMs();
  for (int i = 0; i < 4096; ++i) {
    Address from;
    from.len = sizeof(from.ss);
    ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from.ss), &from.len);
    if (n < 0) break;  // EAGAIN: drained (other errors: ICMP refusals, nothing to do)
    if (static_cast<std::size_t>(n) > kMaxDatagram) continue;
    engine_->onDatagram(buf, static_cast<std::size_t>(n), from, now);
  }
}

void Iax2Trunk::deliverMedia() {
  for (auto& [no, call] : calls_) {
    if (!call->answered() || call->ended()) continue;
    if (const VoiceFrame* f = engine_->popVoice(no)) call->deliver(*f);
  }
}

void Iax2Trunk::onTick() {
  if (fd_ < 0) return;
  drainSocket();
  engine_->poll(nowMs());
  deliverMedia();
  std::erase_if(calls_, [](const auto& kv) { return kv.second->ended() && kv.second.use_count() == 1; });
}

bool Iax2Trunk::busy() const {
  return std::any_of(calls_.begin(), calls_.end(),
                     [](const auto& kv) { return kv.second->answered() && !kv.second->ended(); });
}

void Iax2Trunk::onInboundCall(std::uint16_t no, const InboundCallInfo& in) {
  CallInfo info{"iax2:" + in.peer, CallDirection::Inbound, in.calledNumber, in.callerNumber,
                in.callerName, MediaKind::Audio};
  auto call = std::make_shared<Iax2Call>(*this, no, std::move(info));
  calls_[no] = call;
  spdlog::info("iax2: call from peer '{}' ({} {}) to '{}'", in.peer, in.callerNumber,
               in.callerName, in.calledNumber);
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
  });
}

Iax2Status Iax2Trunk::status() {
  Iax2Status st;
  loop_.runSync([&] {
    st.running = fd_ >= 0;
    st.bound = options_.bindAddress + ":" + std::to_string(boundPort_);
    st.registrations = engine_->registrations(nowMs());
    st.stats = engine_->stats();
    st.calls = static_cast<int>(calls_.size());
  });
  return st;
}

}  // namespace vfax::trunks::iax2
