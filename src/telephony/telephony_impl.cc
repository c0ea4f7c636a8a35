#include "telephony/telephony_impl.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "fax/fax_session.h"

namespace vfax::telephony {

using core::CallOutcome;
using core::OutcomeClass;
using trunks::HangupCause;
using trunks::HangupReason;
using trunks::kSamplesPerTick;

namespace {

int ticksFor(int ms) { return std::max(1, ms / trunks::kTickMs); }

CallOutcome outcomeFromHangup(const HangupCause& cause, bool answered) {
  OutcomeClass cls = OutcomeClass::Dropped;
  switch (cause.reason) {
    case HangupReason::Busy:
      cls = OutcomeClass::Busy;
      break;
    case HangupReason::NoAnswer:
      cls = OutcomeClass::NoAnswer;
      break;
    case HangupReason::Rejected:
    case HangupReason::Unreachable:
      cls = OutcomeClass::Refused;
      break;
    case HangupReason::Canceled:
      cls = OutcomeClass::Canceled;
      break;
    case HangupReason::Failure:
      cls = OutcomeClass::Dropped;
      break;
    case HangupReason::Normal:
      cls = answered ? OutcomeClass::Dropped : OutcomeClass::NoAnswer;
      break;
  }
  std::string text = cause.text.empty() ? "the far end hung up" : cause.text;
  return CallOutcome{cls, cause.code, text};
}

fax::FaxResult resultOf(CallOutcome outcome) {
  fax::FaxResult r;
  r.outcome = std::move(outcome);
  return r;
}

HangupCause causeForReject(const CallOutcome& reason) {
  if (reason.cls == OutcomeClass::Busy || reason.reason.empty()) return trunks::busyCause();
  return HangupCause{HangupReason::Rejected, 21, reason.reason};
}

}  // namespace

/// One call and its fax session. Lives on the loop thread; owned by TelephonyImpl::calls_.
class CallContext final : public trunks::CallHandler, public fax::FaxSessionEvents {
 public:
  enum class State { Ringing, Offered, Active, Lingering, Done };

  CallContext(TelephonyImpl& owner, std::uint64_t id, core::Direction dir)
      : owner_(owner), id_(id), direction_(dir), startedAt_(owner.clock_.now()) {}

  ~CallContext() override {
    if (call_) call_->setHandler(nullptr);
  }

  // --- trunks::CallHandler ---
  void onAnswered() override {
    if (state_ != State::Ringing) return;
    fax::FaxSessionOptions o = sessionOptions();
    o.calling = true;
    o.direction = fax::FaxDirection::Send;
    o.tiffPath = out_.tiffPath;
    o.localIdent = out_.tsi;
    o.headerInfo = out_.headerInfo;
    if (!startSession(o)) return;
    if (owner_.events_) owner_.events_->onOutboundAnswered(faxId_);
  }

  void onAudio(const std::int16_t* samples, std::size_t n) override {
    if (session_ && !session_->finished()) {
      session_->rxAudio(samples, n);
      rxSamples_ += static_cast<int>(n);
    }
  }

  void onT38(const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) override {
    if (session_) session_->rxT38(ifp, len, seq);
  }

  void onHangup(const HangupCause& cause) override {
    farEndGone_ = true;
    switch (state_) {
      case State::Ringing:
        report(resultOf(outcomeFromHangup(cause, false)));
        done();
        break;
      case State::Offered:
        break;  // reported when the decision arrives (if it accepted)
      case State::Active:
        session_->hangup(outcomeFromHangup(cause, true));  // reports through onFaxFinished
        done();
        break;
      case State::Lingering:
        done();
        break;
      case State::Done:
        break;
    }
  }

  // --- fax::FaxSessionEvents ---
  void onFaxPage(int pages, const std::string& remoteId) override {
    if (!owner_.events_ || faxId_ == 0) return;
    if (direction_ == core::Direction::Out) {
      owner_.events_->onOutboundProgress(faxId_, pages, remoteId);
    } else {
      owner_.events_->onInboundProgress(faxId_, pages, remoteId);
    }
  }

  void onFaxFinished(const fax::FaxResult& result) override {
    report(result);
    if (state_ == State::Active) {
      state_ = State::Lingering;
      lingerTicks_ = ticksFor(owner_.options_.lingerMs);
    }
  }

  void onT38Packet(const std::uint8_t* ifp, std::size_t len) override {
    if (call_) call_->sendT38(ifp, len);
  }

  // --- driven by TelephonyImpl ---
  void tick() {
    switch (state_) {
      case State::Ringing:
        if (++ringTicks_ >= ticksFor(owner_.options_.ringTimeoutMs)) {
          call_->hangup(HangupCause{HangupReason::NoAnswer, 19, "no answer"});
          report(resultOf(CallOutcome{OutcomeClass::NoAnswer, 19, "no answer"}));
          done();
        }
        break;
      case State::Active:
      case State::Lingering:
        pumpMedia();
        if (state_ == State::Lingering && --lingerTicks_ <= 0) {
          call_->hangup(trunks::normalCause());
          done();
        }
        break;
      default:
        break;
    }
  }

  /// Our side ends the call: cancel (hangup(faxId)) or shutdown.
  void endLocally(const CallOutcome& outcome) {
    switch (state_) {
      case State::Ringing:
      case State::Offered:
        if (call_) call_->hangup(trunks::normalCause(outcome.reason));
        if (state_ == State::Ringing || faxId_ != 0) report(resultOf(outcome));
        done();
        break;
      case State::Active:
        session_->hangup(outcome);
        call_->hangup(trunks::normalCause(outcome.reason));
        done();
        break;
      case State::Lingering:
        call_->hangup(trunks::normalCause());
        done();
        break;
      case State::Done:
        break;
    }
  }

  void setOutbound(const core::OutboundCall& call) {
    out_ = call;
    faxId_ = call.faxId;
  }
  void setCall(std::shared_ptr<trunks::Call> call, State state) {
    call_ = std::move(call);
    call_->setHandler(this);
    state_ = state;
  }

  void decided(const core::InboundDecision& d) {
    if (state_ != State::Offered) return;
    if (!d.accept) {
      if (!farEndGone_) call_->reject(causeForReject(d.rejectReason));
      done();
      return;
    }
    faxId_ = d.faxId;
    if (farEndGone_ || call_->ended()) {
      report(resultOf(CallOutcome{OutcomeClass::Dropped, 0,
                                  "the caller hung up before the call was answered"}));
      done();
      return;
    }
    fax::FaxSessionOptions o = sessionOptions();
    o.calling = false;
    o.direction = fax::FaxDirection::Receive;
    o.tiffPath = d.rxTiffPath;
    o.localIdent = d.csid;
    startedAt_ = owner_.clock_.now();
    if (!startSession(o)) return;
    call_->answer();
  }

  /// Reports the error as the call's result and ends it.
  void failLocally(const std::string& code, const std::string& message) {
    (void)code;
    report(resultOf(CallOutcome{OutcomeClass::LocalError, 0, message}));
    if (call_ && !call_->ended()) call_->hangup(trunks::normalCause(message));
    done();
  }

  State state() const { return state_; }
  std::int64_t faxId() const { return faxId_; }
  core::Direction direction() const { return direction_; }
  bool mediaActive() const { return state_ == State::Active || state_ == State::Lingering; }

 private:
  fax::FaxSessionOptions sessionOptions() const {
    fax::FaxSessionOptions o;
    o.transport = call_->media() == trunks::MediaKind::T38 ? fax::FaxTransport::T38
                                                           : fax::FaxTransport::Audio;
    o.noProgressTimeoutMs = owner_.options_.noProgressTimeoutMs;
    o.maxDurationMs = owner_.options_.maxCallDurationMs;
    o.protocolLog = owner_.options_.protocolLog;
    return o;
  }

  bool startSession(const fax::FaxSessionOptions& o) {
    auto session = fax::FaxSession::create(o, *this);
    if (!session.ok()) {
      failLocally(session.error().code, session.error().message);
      return false;
    }
    session_ = std::move(*session);
    state_ = State::Active;
    return true;
  }

  void pumpMedia() {
    if (!session_) return;
    if (session_->transport() == fax::FaxTransport::Audio) {
      // A far end that sends nothing must still advance the session's clock (its timers run
      // on received samples).
      if (rxSamples_ == 0 && !session_->finished()) {
        std::int16_t silence[kSamplesPerTick] = {};
        session_->rxAudio(silence, kSamplesPerTick);
      }
      rxSamples_ = 0;
      std::int16_t buf[kSamplesPerTick];
      session_->txAudio(buf, kSamplesPerTick);
      if (call_ && !call_->ended()) call_->sendAudio(buf, kSamplesPerTick);
    } else {
      session_->tick(kSamplesPerTick);
    }
  }

  void report(const fax::FaxResult& r) {
    if (reported_) return;
    reported_ = true;
    if (!owner_.events_) return;
    if (direction_ == core::Direction::In && faxId_ == 0) return;  // never accepted
    core::CallResult result;
    result.outcome = r.outcome;
    result.pages = r.pages;
    result.bitRate = r.bitRate;
    result.ecm = r.ecm;
    result.compression = r.compression;
    result.remoteId = r.remoteId;
    result.startedAt = startedAt_;
    result.endedAt = owner_.clock_.now();
    if (direction_ == core::Direction::Out) {
      owner_.events_->onOutboundFinished(faxId_, result);
    } else {
      owner_.events_->onInboundFinished(faxId_, result);
    }
  }

  void done() {
    if (state_ == State::Done) return;
    state_ = State::Done;
    owner_.scheduleSweep();
  }

  TelephonyImpl& owner_;
  std::uint64_t id_;
  core::Direction direction_;
  core::Millis startedAt_;
  std::int64_t faxId_ = 0;
  core::OutboundCall out_;
  std::shared_ptr<trunks::Call> call_;
  std::unique_ptr<fax::FaxSession> session_;
  State state_ = State::Ringing;
  bool reported_ = false;
  bool farEndGone_ = false;
  int ringTicks_ = 0;
  int lingerTicks_ = 0;
  int rxSamples_ = 0;
};

TelephonyImpl::TelephonyImpl(TelephonyOptions options, const core::Clock* clock)
    : options_(options),
      clock_(clock ? *clock : systemClock_),
      loop_(std::make_shared<trunks::EventLoop>(trunks::EventLoopOptions{options.realtime})) {
  loopback_ = std::make_unique<trunks::LoopbackTrunk>(
      *loop_, trunks::LoopbackOptions{options.loopbackMedia, options.loopbackLaw});
}

TelephonyImpl::~TelephonyImpl() { stop(); }

void TelephonyImpl::setExternalTrunk(std::unique_ptr<trunks::Trunk> trunk) {
  external_ = std::move(trunk);
}

void TelephonyImpl::setEvents(core::CallEvents* events) { events_ = events; }

void TelephonyImpl::start() {
  if (started_) return;
  started_ = true;
  // The loopback trunk ticks first: it delivers the previous tick's media, then we send.
  auto r = loopback_->start(*this);
  (void)r;
  if (external_) {
    auto er = external_->start(*this);
    if (!er.ok())
      spdlog::error("telephony: trunk {} failed to start: {}", external_->name(),
                    er.error().message);
  }
  loop_->addTickListener(this);
  loop_->start();
}

void TelephonyImpl::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  loop_->runSync([this] {
    for (auto& [id, ctx] : calls_) {
      ctx->endLocally(CallOutcome{OutcomeClass::Dropped, 0, "vfaxd is stopping"});
    }
    loopback_->stop();
    if (external_) external_->stop();
  });
  loop_->stop();  // runs what the hangups posted, then joins
  loop_->removeTickListener(this);
  calls_.clear();
  updateActive();
}

void TelephonyImpl::placeCall(const core::OutboundCall& call) {
  if (!started_ || stopped_) {
    if (events_) {
      core::CallResult r;
      r.outcome = CallOutcome{OutcomeClass::LocalError, 0, "telephony is not running"};
      events_->onOutboundFinished(call.faxId, r);
    }
    return;
  }
  loop_->post([this, call] { doPlaceCall(call); });
}

void TelephonyImpl::hangup(std::int64_t faxId) {
  loop_->post([this, faxId] { doHangup(faxId); });
}

void TelephonyImpl::doPlaceCall(const core::OutboundCall& call) {
  std::uint64_t id = nextId_++;
  auto ctx = std::make_unique<CallContext>(*this, id, core::Direction::Out);
  CallContext& c = *ctx;
  c.setOutbound(call);
  calls_.emplace(id, std::move(ctx));
  updateActive();

  trunks::Trunk* trunk =
      call.internal ? static_cast<trunks::Trunk*>(loopback_.get()) : external_.get();
  if (!trunk) {
    c.failLocally("no_trunk", "no trunk configured for external numbers");
    return;
  }
  if (::access(call.tiffPath.c_str(), R_OK) != 0) {
    c.failLocally("document_unreadable", "the fax document " + call.tiffPath + " cannot be read");
    return;
  }
  trunks::DialRequest req;
  req.number = call.internal ? call.extension : call.dialString;
  req.callerNumber = call.callerId;
  req.callerName = call.headerInfo;
  auto dialed = trunk->dial(req, c);
  if (!dialed.ok()) {
    c.failLocally(dialed.error().code, dialed.error().message);
    return;
  }
  c.setCall(std::move(*dialed), CallContext::State::Ringing);
}

void TelephonyImpl::doHangup(std::int64_t faxId) {
  if (CallContext* c = findByFax(faxId)) {
    c->endLocally(CallOutcome{OutcomeClass::Canceled, 0, "canceled"});
  }
}

void TelephonyImpl::onInboundCall(std::shared_ptr<trunks::Call> call) {
  std::uint64_t id = nextId_++;
  auto ctx = std::make_unique<CallContext>(*this, id, core::Direction::In);
  CallContext& c = *ctx;
  c.setCall(call, CallContext::State::Offered);
  calls_.emplace(id, std::move(ctx));
  updateActive();
  if (!events_) {
    c.decided(core::InboundDecision{});
    return;
  }
  core::InboundOffer offer;
  offer.calledNumber = call->info().calledNumber;
  offer.callerNumber = call->info().callerNumber;
  offer.callerName = call->info().callerName;
  offer.trunk = call->info().trunk;
  std::weak_ptr<trunks::EventLoop> weakLoop = loop_;
  events_->onInboundOffered(offer, [this, weakLoop, id](core::InboundDecision d) {
    // The loop refuses posts once stopped, so `this` is only used while it is alive.
    if (auto loop = weakLoop.lock()) loop->post([this, id, d] { onDecision(id, d); });
  });
}

void TelephonyImpl::onDecision(std::uint64_t id, core::InboundDecision decision) {
  auto it = calls_.find(id);
  if (it == calls_.end()) {
    // The call is gone (the caller hung up and we cleaned up): an accepted fax still gets its
    // one Finished event.
    if (decision.accept && events_) {
      core::CallResult r;
      r.outcome =
          CallOutcome{OutcomeClass::Dropped, 0, "the caller hung up before the call was answered"};
      r.startedAt = r.endedAt = clock_.now();
      events_->onInboundFinished(decision.faxId, r);
    }
    return;
  }
  it->second->decided(decision);
}

CallContext* TelephonyImpl::findByFax(std::int64_t faxId) {
  for (auto& [id, ctx] : calls_) {
    if (ctx->faxId() == faxId && ctx->state() != CallContext::State::Done) return ctx.get();
  }
  return nullptr;
}

void TelephonyImpl::onTick() {
  for (auto& [id, ctx] : calls_) ctx->tick();
}

bool TelephonyImpl::busy() const {
  return std::any_of(calls_.begin(), calls_.end(),
                     [](const auto& kv) { return kv.second->mediaActive(); });
}

void TelephonyImpl::scheduleSweep() {
  updateActive();
  if (sweepPending_) return;
  sweepPending_ = true;
  // Not now: the context that is done may be on the call stack.
  loop_->post([this] { sweep(); });
}

void TelephonyImpl::sweep() {
  sweepPending_ = false;
  std::erase_if(calls_,
                [](const auto& kv) { return kv.second->state() == CallContext::State::Done; });
  updateActive();
}

std::vector<core::TrunkStatus> TelephonyImpl::trunkStatus() const {
  std::vector<core::TrunkStatus> out;
  out.push_back({"loopback", true, {}, 0});
  if (external_) out.push_back({external_->name(), true, {}, 0});
  return out;
}

void TelephonyImpl::updateActive() {
  int n = 0;
  for (auto& [id, ctx] : calls_) {
    if (ctx->state() != CallContext::State::Done) ++n;
  }
  active_ = n;
}

}  // namespace vfax::telephony
