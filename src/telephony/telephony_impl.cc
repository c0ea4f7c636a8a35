#include "telephony/telephony_impl.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>

#include "core/log_safe.h"
#include "fax/fax_session.h"

namespace vfax::telephony {

using core::CallOutcome;
using core::OutcomeClass;
using reactor::kSamplesPerTick;
using trunks::HangupCause;
using trunks::HangupReason;

namespace {

int ticksFor(int ms) { return std::max(1, ms / reactor::kTickMs); }

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
    case HangupReason::Unavailable:
      cls = answered ? OutcomeClass::Dropped : OutcomeClass::Unavailable;
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
    stopRingTimer();
    if (call_) call_->setHandler(nullptr);
  }

  // --- trunks::CallHandler ---
  void onAnswered() override {
    if (state_ != State::Ringing) return;
    stopRingTimer();
    fax::FaxSessionOptions o = sessionOptions();
    o.calling = true;
    o.direction = fax::FaxDirection::Send;
    o.tiffPath = out_.tiffPath;
    o.localIdent = out_.tsi;
    o.headerInfo = out_.headerInfo;
    base_ = o;
    if (!startSession(o)) return;
    setPhase(core::CallPhase::Training);
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

  void onMediaChanged(trunks::MediaKind media) override {
    media_ = media;
    if (state_ != State::Active || !session_ || session_->finished()) {
      owner_.updateActive();
      return;
    }
    if (transportOf(media) == session_->transport()) return;
    switchSession(transportOf(media));
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
  void onFaxTonesHeard() override {
    // Once per call: a trunk that refuses (488) keeps the call in audio and is not asked again;
    // one that cannot switch at all answers false.
    if (t38Requested_ || !call_ || call_->ended()) return;
    t38Requested_ = true;
    // Asked from the loop, not from inside the session's callback: a trunk that reported the
    // switch at once would otherwise have us replace the session while it runs.
    owner_.loop_->post([&owner = owner_, id = id_] {
      auto it = owner.calls_.find(id);
      if (it != owner.calls_.end()) it->second->askForT38();
    });
  }

  void askForT38() {
    if (state_ != State::Active || !call_ || call_->ended()) return;
    if (call_->media() == trunks::MediaKind::T38) return;
    const bool asked = call_->requestT38();
    spdlog::debug("telephony: fax {} heard fax tones; T.38 {}", faxId_,
                  asked ? "requested" : "not available on this call");
  }

  void onFaxPhase(fax::FaxPhase phase) override {
    if (session_) {
      const auto st = session_->stats();
      bitRate_ = st.bitRate;
      ecm_ = st.ecm;
      pages_ = pagesBefore_ + st.pages;
    }
    switch (phase) {
      case fax::FaxPhase::B:
        setPhase(core::CallPhase::Training);
        break;
      case fax::FaxPhase::C:
      case fax::FaxPhase::D:
        setPhase(direction_ == core::Direction::Out ? core::CallPhase::Sending
                                                    : core::CallPhase::Receiving);
        break;
      case fax::FaxPhase::E:
        setPhase(core::CallPhase::Ending);
        break;
    }
  }

  void onFaxPage(int sessionPages, const std::string& remoteId) override {
    const int pages = pagesBefore_ + sessionPages;
    if (!remoteId.empty()) remoteId_ = remoteId;
    if (pages != pages_) {
      pages_ = pages;
      owner_.updateActive();
    }
    if (!owner_.events_ || faxId_ == 0) return;
    if (direction_ == core::Direction::Out) {
      owner_.events_->onOutboundProgress(faxId_, pages, remoteId);
    } else {
      owner_.events_->onInboundProgress(faxId_, pages, remoteId);
    }
  }

  void onFaxFinished(const fax::FaxResult& sessionResult) override {
    fax::FaxResult result = sessionResult;
    result.pages += pagesBefore_;
    if (result.remoteId.empty()) result.remoteId = remoteId_;
    pages_ = result.pages;
    if (result.bitRate) bitRate_ = result.bitRate;
    setPhase(core::CallPhase::Ending);
    report(result);
    if (state_ == State::Active) {
      state_ = State::Lingering;
      lingerTicks_ = ticksFor(owner_.options_.lingerMs);
    }
  }

  void onT38Packet(const std::uint8_t* ifp, std::size_t len) override {
    if (call_) call_->sendT38(ifp, len);
  }

  void onMediaTick() override {
    if (state_ != State::Active && state_ != State::Lingering) return;
    pumpMedia();
    if (state_ == State::Lingering && --lingerTicks_ <= 0) {
      call_->hangup(trunks::normalCause());
      done();
    }
  }

  // --- driven by TelephonyImpl ---
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
    owner_.byFax_[faxId_] = this;
  }
  void setCall(std::shared_ptr<trunks::Call> call, State state) {
    call_ = std::move(call);
    call_->setHandler(this);
    state_ = state;
    if (state == State::Ringing) {
      // Wall clock, whatever the media pacing: a far end that never answers is a real-time fact.
      ringTimer_ = owner_.loop_->after(
          static_cast<std::int64_t>(owner_.options_.ringTimeoutMs) * 1000, [this] {
            ringTimer_ = 0;
            if (state_ != State::Ringing) return;
            call_->hangup(HangupCause{HangupReason::NoAnswer, 19, "no answer"});
            report(resultOf(CallOutcome{OutcomeClass::NoAnswer, 19, "no answer"}));
            done();
          });
    }
  }

  void decided(const core::InboundDecision& d) {
    if (state_ != State::Offered) return;
    if (!d.accept) {
      if (!farEndGone_) call_->reject(causeForReject(d.rejectReason));
      done();
      return;
    }
    faxId_ = d.faxId;
    owner_.byFax_[faxId_] = this;
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
    base_ = o;
    rxSegments_ = {o.tiffPath};
    if (!startSession(o)) return;
    setPhase(core::CallPhase::Training);
    call_->answer();
  }

  /// Reports the error as the call's result and ends it. Temporary trunk trouble (nothing was
  /// dialled) is Unavailable: the scheduler retries it without spending an attempt.
  void failLocally(const std::string& code, const std::string& message) {
    const OutcomeClass cls =
        trunks::isTemporaryDialError(code) ? OutcomeClass::Unavailable : OutcomeClass::LocalError;
    report(resultOf(CallOutcome{cls, 0, message}));
    if (call_ && !call_->ended()) call_->hangup(trunks::normalCause(message));
    done();
  }

  State state() const { return state_; }
  /// For /lines: a call with a fax that is not over (an inbound call not accepted yet has none).
  std::optional<core::CallStatus> status() const {
    if (faxId_ == 0 || state_ == State::Done) return std::nullopt;
    core::CallStatus s;
    s.faxId = faxId_;
    s.direction = direction_;
    if (direction_ == core::Direction::Out) {
      s.number = out_.internal ? out_.extension : out_.dialString;
    } else if (call_) {
      s.number = call_->info().callerNumber;
    }
    s.trunk = call_ ? call_->info().trunk : (out_.internal ? "loopback" : std::string());
    s.phase = state_ == State::Lingering ? core::CallPhase::Ending : phase_;
    s.pages = pages_;
    s.bitRate = bitRate_;
    s.ecm = ecm_;
    s.startedAt = startedAt_;
    s.media = currentMedia();
    if (call_) s.codec = call_->info().codec;
    return s;
  }
  std::int64_t faxId() const { return faxId_; }
  core::Direction direction() const { return direction_; }
  const std::string& trunkName() const {
    static const std::string none;
    return call_ ? call_->info().trunk : none;
  }

 private:
  static fax::FaxTransport transportOf(trunks::MediaKind m) {
    return m == trunks::MediaKind::T38 ? fax::FaxTransport::T38 : fax::FaxTransport::Audio;
  }

  /// What the fax data goes over now: the session's transport once there is one.
  core::FaxMedia currentMedia() const {
    if (session_) {
      return session_->transport() == fax::FaxTransport::T38 ? core::FaxMedia::T38
                                                             : core::FaxMedia::Audio;
    }
    const trunks::MediaKind m = call_ ? call_->media() : media_;
    return m == trunks::MediaKind::T38 ? core::FaxMedia::T38 : core::FaxMedia::Audio;
  }

  /// The call switched media (T.38 re-INVITE, or back to audio): a T.30 session cannot move
  /// between the modems and a T.38 terminal, so the current one ends without a result and a new
  /// one of the other transport starts the fax again from phase B. Sending: from the first page
  /// the receiver has not confirmed yet, so no page goes twice. Receiving: pages that arrived
  /// stay in their file; the new session writes the next file, and the files are joined in
  /// order before the result is reported (joinReceivedPages).
  void switchSession(fax::FaxTransport transport) {
    const auto st = session_->stats();
    const int done = pagesBefore_ + st.pages;
    session_.reset();  // no result: the call goes on
    pagesBefore_ = done;
    pages_ = done;
    spdlog::info("telephony: fax {} switches to {} after {} page(s)", faxId_,
                 transport == fax::FaxTransport::T38 ? "T.38" : "audio", done);
    fax::FaxSessionOptions o = base_;
    o.transport = transport;
    if (direction_ == core::Direction::Out) {
      o.startPage = done;
      auto total = fax::tiffPageCount(o.tiffPath);
      if (total.ok() && done >= *total) {
        // Every page was confirmed before the switch: the fax is complete.
        fax::FaxResult r;
        r.outcome = CallOutcome{OutcomeClass::Ok, 0, "all pages confirmed"};
        r.pages = done;
        r.bitRate = bitRate_;
        r.ecm = ecm_;
        r.remoteId = remoteId_;
        finishedMedia_ = transport;
        setPhase(core::CallPhase::Ending);
        report(r);
        state_ = State::Lingering;
        lingerTicks_ = ticksFor(owner_.options_.lingerMs);
        return;
      }
    } else if (st.pages > 0) {
      o.tiffPath = base_.tiffPath + ".part" + std::to_string(rxSegments_.size() + 1);
      rxSegments_.push_back(o.tiffPath);
    } else {
      o.tiffPath = rxSegments_.back();  // nothing arrived in it: write it afresh
    }
    if (!startSession(o)) return;
    setPhase(core::CallPhase::Training);
  }

  /// Receiving over several sessions: the pages of the later files go after the first file's,
  /// in order; the joined file is the one the scheduler reads. A file that cannot be joined is
  /// left beside it (logged), never deleted.
  void joinReceivedPages() {
    if (rxSegments_.size() < 2) return;
    const std::string& dst = rxSegments_.front();
    for (std::size_t i = 1; i < rxSegments_.size(); ++i) {
      const std::string& part = rxSegments_[i];
      if (::access(part.c_str(), R_OK) != 0) continue;  // its session received nothing
      if (auto r = fax::appendTiffPages(dst, part); !r) {
        spdlog::error("telephony: fax {}: {}", faxId_, core::logSafe(r.error().message, 600));
        continue;
      }
      ::unlink(part.c_str());
    }
    rxSegments_.resize(1);
  }

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
    if (direction_ == core::Direction::In) joinReceivedPages();
    core::CallResult result;
    result.outcome = r.outcome;
    result.pages = r.pages;
    result.bitRate = r.bitRate;
    result.ecm = r.ecm;
    result.compression = r.compression;
    result.remoteId = r.remoteId;
    result.startedAt = startedAt_;
    result.endedAt = owner_.clock_.now();
    result.media = finishedMedia_
                       ? (*finishedMedia_ == fax::FaxTransport::T38 ? core::FaxMedia::T38
                                                                    : core::FaxMedia::Audio)
                       : currentMedia();
    if (call_) result.codec = call_->info().codec;
    if (direction_ == core::Direction::Out) {
      owner_.events_->onOutboundFinished(faxId_, result);
    } else {
      owner_.events_->onInboundFinished(faxId_, result);
    }
  }

  void setPhase(core::CallPhase p) {
    phase_ = p;
    owner_.updateActive();  // publishes the call status snapshot
  }

  void done() {
    if (state_ == State::Done) return;
    state_ = State::Done;
    stopRingTimer();
    owner_.scheduleSweep();
  }

  void stopRingTimer() {
    if (ringTimer_ != 0) owner_.loop_->cancel(ringTimer_);
    ringTimer_ = 0;
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
  reactor::TimerId ringTimer_ = 0;
  int lingerTicks_ = 0;
  int rxSamples_ = 0;
  // For callStatus(): kept from the session's phase events (never per media tick).
  core::CallPhase phase_ = core::CallPhase::Dialing;
  int pages_ = 0;
  int bitRate_ = 0;
  bool ecm_ = false;
  // T.38 switching.
  trunks::MediaKind media_ = trunks::MediaKind::Audio;  // as the trunk last reported it
  fax::FaxSessionOptions base_;                         // the first session's options
  bool t38Requested_ = false;
  int pagesBefore_ = 0;  // pages done by the sessions that ended in a switch
  std::string remoteId_;
  std::optional<fax::FaxTransport> finishedMedia_;  // set when a switch completed the fax
  std::vector<std::string> rxSegments_;             // receiving: one file per session with pages
};

TelephonyImpl::TelephonyImpl(TelephonyOptions options, const core::Clock* clock)
    : options_(options),
      clock_(clock ? *clock : systemClock_),
      loop_(std::make_shared<reactor::EventLoop>(options.loopClock)) {
  loopback_ = std::make_unique<trunks::LoopbackTrunk>(
      *loop_, trunks::LoopbackOptions{options.loopbackMedia, options.loopbackLaw, options.realtime,
                                      options.loopbackSwitchToT38});
}

TelephonyImpl::~TelephonyImpl() {
  stop();
  // Trunks may only be destroyed with the loop stopped (their timers and sockets are its).
  loop_->stop();
  externals_.clear();
  loopback_.reset();
}

void TelephonyImpl::setExternalTrunk(std::unique_ptr<trunks::Trunk> trunk) {
  if (trunk) externals_.push_back(std::move(trunk));
}

TelephonyImpl::RouteChoice TelephonyImpl::route(const std::string& dialString) const {
  RouteChoice choice;
  if (externals_.empty()) {
    choice.why = "no trunk configured for external numbers";
    return choice;
  }
  if (routes_.empty()) {
    choice.trunk = externals_.front().get();
    return choice;
  }
  const OutboundRoute* best = nullptr;
  for (const auto& r : routes_) {
    if (dialString.compare(0, r.prefix.size(), r.prefix) != 0) continue;
    if (!best || r.prefix.size() > best->prefix.size()) best = &r;
  }
  if (!best) {
    choice.why = "no outbound route matches " + dialString;
    return choice;
  }
  std::string kind = best->trunk;
  if (auto colon = kind.find(':'); colon != std::string::npos) {
    choice.way = kind.substr(colon + 1);
    kind.resize(colon);
  }
  for (const auto& t : externals_) {
    if (t->name() == kind) choice.trunk = t.get();
  }
  if (!choice.trunk)
    choice.why =
        "the route for " + dialString + " names trunk " + best->trunk + ", which is not running";
  return choice;
}

void TelephonyImpl::setEvents(core::CallEvents* events) { events_ = events; }

void TelephonyImpl::start() {
  if (started_.exchange(true)) return;
  {
    std::lock_guard lock(statusMutex_);
    status_.push_back({loopback_->name(), false, "starting", 0});
    for (const auto& t : externals_) status_.push_back({t->name(), false, "starting", 0});
  }
  loop_->start();
  auto r = loop_->runSync([this] {
    (void)loopback_->start(*this);
    for (const auto& t : externals_) {
      if (auto er = t->start(*this); !er) {
        spdlog::error("telephony: trunk {} cannot work: {}", t->name(),
                      core::logSafe(er.error().message, 600));
        onTrunkState(t->name(), false, er.error().message);
      }
    }
  });
  if (!r) spdlog::error("telephony: starting the trunks: {}", r.error().message);
}

void TelephonyImpl::stop() {
  if (!started_ || stopped_.exchange(true)) return;
  // Every call is hung up and reported; the trunks release registrations and close their
  // sockets on loop timers, within the budget, while this thread waits.
  struct Pending {
    std::mutex m;
    std::condition_variable cv;
    int left = 0;
  };
  auto pending = std::make_shared<Pending>();
  auto r = loop_->runSync([this, pending] {
    for (auto& [id, ctx] : calls_) {
      ctx->endLocally(CallOutcome{OutcomeClass::Dropped, 0, "vfaxd is stopping"});
    }
    std::vector<trunks::Trunk*> trunks{loopback_.get()};
    for (const auto& t : externals_) trunks.push_back(t.get());
    pending->left = static_cast<int>(trunks.size());
    for (auto* t : trunks) {
      t->stop([pending] {
        std::lock_guard l(pending->m);
        if (--pending->left == 0) pending->cv.notify_all();
      });
    }
  });
  if (r) {
    std::unique_lock l(pending->m);
    if (!pending->cv.wait_for(l, std::chrono::milliseconds(options_.stopBudgetMs),
                              [&] { return pending->left == 0; })) {
      spdlog::warn("telephony: trunks did not stop within {} ms", options_.stopBudgetMs);
    }
  } else {
    spdlog::error("telephony: stopping: {}", r.error().message);
  }
  loop_->stop();  // runs what the hangups posted (their results), then joins
  const auto st = loop_->stats();
  spdlog::info(
      "telephony: stopped; media ticks {}, late {}, max lag {:.1f} ms; loop iterations of 15 ms "
      "or more {}, longest {:.1f} ms",
      st.ticks, st.lateTicks, static_cast<double>(st.maxLagUs) / 1000.0, st.longIterations,
      static_cast<double>(st.maxIterationUs) / 1000.0);
  calls_.clear();
  byFax_.clear();
  updateActive();
}

void TelephonyImpl::placeCall(const core::OutboundCall& call) {
  auto refuse = [&] {
    if (events_) {
      core::CallResult r;
      r.outcome = CallOutcome{OutcomeClass::Unavailable, 0, "telephony is not running"};
      events_->onOutboundFinished(call.faxId, r);
    }
  };
  if (!started_ || stopped_) {
    refuse();
    return;
  }
  if (!loop_->post([this, call] { doPlaceCall(call); })) refuse();
}

void TelephonyImpl::hangup(std::int64_t faxId) {
  loop_->post([this, faxId] { doHangup(faxId); });
}

void TelephonyImpl::doPlaceCall(const core::OutboundCall& call) {
  std::uint64_t id = nextId_++;
  auto ctx = std::make_unique<CallContext>(*this, id, core::Direction::Out);
  CallContext& c = *ctx;
  calls_.emplace(id, std::move(ctx));
  c.setOutbound(call);
  updateActive();

  RouteChoice choice;
  if (call.internal) {
    choice.trunk = loopback_.get();
  } else {
    choice = route(call.dialString);
  }
  trunks::Trunk* trunk = choice.trunk;
  if (!trunk) {
    c.failLocally("no_trunk", choice.why);
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
  req.route = choice.way;
  auto dialed = trunk->dial(req, c);
  if (!dialed.ok()) {
    c.failLocally(dialed.error().code, dialed.error().message);
    return;
  }
  c.setCall(std::move(*dialed), CallContext::State::Ringing);
  updateActive();
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
  std::weak_ptr<reactor::EventLoop> weakLoop = loop_;
  events_->onInboundOffered(offer, [this, weakLoop, id](core::InboundDecision d) {
    // The loop refuses posts once stopped, so `this` is only used while it is alive.
    if (auto loop = weakLoop.lock()) loop->post([this, id, d] { onDecision(id, d); });
  });
}

void TelephonyImpl::onTrunkState(const std::string& trunk, bool up, const std::string& reason) {
  std::lock_guard lock(statusMutex_);
  for (auto& st : status_) {
    if (st.name == trunk) {
      st.up = up;
      st.reason = up ? std::string() : reason;
      return;
    }
  }
  status_.push_back({trunk, up, up ? std::string() : reason, 0});
}

std::vector<core::TrunkStatus> TelephonyImpl::trunkStatus() const {
  std::lock_guard lock(statusMutex_);
  return status_;
}

core::MediaStats TelephonyImpl::mediaStats() const {
  auto st = loop_->stats();
  return core::MediaStats{st.ticks, st.lateTicks, st.maxLagUs, st.longIterations};
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
  auto it = byFax_.find(faxId);
  if (it == byFax_.end() || it->second->state() == CallContext::State::Done) return nullptr;
  return it->second;
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
  for (auto it = calls_.begin(); it != calls_.end();) {
    if (it->second->state() != CallContext::State::Done) {
      ++it;
      continue;
    }
    auto f = byFax_.find(it->second->faxId());
    if (f != byFax_.end() && f->second == it->second.get()) byFax_.erase(f);
    it = calls_.erase(it);
  }
  updateActive();
}

void TelephonyImpl::updateActive() {
  int n = 0;
  std::map<std::string, int> perTrunk;
  std::vector<core::CallStatus> calls;
  for (auto& [id, ctx] : calls_) {
    if (ctx->state() == CallContext::State::Done) continue;
    ++n;
    const std::string& t = ctx->trunkName();
    ++perTrunk[t.substr(0, t.find(':'))];  // "iax2:peer" counts for "iax2"
    if (auto s = ctx->status()) calls.push_back(std::move(*s));
  }
  active_ = n;
  std::lock_guard lock(statusMutex_);
  for (auto& st : status_) {
    auto it = perTrunk.find(st.name);
    st.calls = it == perTrunk.end() ? 0 : it->second;
  }
  if (calls != callSnapshot_) {
    callSnapshot_ = std::move(calls);
    callsVersion_.fetch_add(1);
  }
}

std::vector<core::CallStatus> TelephonyImpl::callStatus() const {
  std::lock_guard lock(statusMutex_);
  return callSnapshot_;
}

}  // namespace vfax::telephony
