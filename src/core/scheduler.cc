#include "core/scheduler.h"
#include "core/log_safe.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace vfax::core {

namespace fs = std::filesystem;

namespace {

// Outcomes where calling again cannot help.
bool retryable(OutcomeClass cls) {
  return cls == OutcomeClass::Busy || cls == OutcomeClass::NoAnswer ||
         cls == OutcomeClass::Dropped || cls == OutcomeClass::Refused;
}

}  // namespace

void Scheduler::logIfError(const Result<void>& r, const char* what) {
  if (!r) spdlog::error("{}: {}", what, logSafe(r.error().message, 600));
}

Scheduler::Scheduler(Store& store, Documents& documents, Telephony& telephony, const Clock& clock,
                     ServiceOptions options)
    : store_(store),
      documents_(documents),
      telephony_(telephony),
      clock_(clock),
      options_(std::move(options)) {}

Scheduler::~Scheduler() { stop(); }

Result<void> Scheduler::start() {
  auto s = store_.loadSettings();
  if (!s) return s.error();
  settingsChanged(*s);
  std::error_code ec;
  fs::create_directories(fs::path(options_.dataDir) / "faxes", ec);
  if (ec) {
    return makeError("storage_error",
                     "cannot create " + options_.dataDir + "/faxes: " + ec.message());
  }
  workers_ = std::make_unique<WorkerPool>(options_.conversionWorkers);
  if (auto r = recover(); !r) return r;
  thread_ = std::thread([this] { run(); });
  return {};
}

void Scheduler::stop() {
  bool join = false;
  std::deque<std::function<void()>> unrun;
  {
    std::lock_guard lock(queueMutex_);
    join = !stopping_ && thread_.joinable();
    stopping_ = true;
    if (!join) unrun.swap(queue_);
  }
  // With no thread to run them, queued tasks are dropped here (outside the lock: dropping a
  // call()'s task answers its caller).
  unrun.clear();
  if (!join) return;
  queueCv_.notify_all();
  thread_.join();
  // Conversions finishing now post to a stopped queue; their jobs stay `converting` in the store
  // and are redone after the next start. Those still running are ended rather than waited for
  // (an endless PostScript job would hold the stop until its CPU limit).
  documents_.stopConversions();
  workers_.reset();
}

void Scheduler::post(std::function<void()> fn) {
  {
    std::lock_guard lock(queueMutex_);
    if (stopping_) return;
    queue_.push_back(std::move(fn));
  }
  queueCv_.notify_one();
}

void Scheduler::kick() {
  {
    std::lock_guard lock(queueMutex_);
    kicked_ = true;
  }
  queueCv_.notify_one();
}

void Scheduler::run() {
  for (;;) {
    std::deque<std::function<void()>> batch;
    bool doDispatch = false;
    {
      std::unique_lock lock(queueMutex_);
      auto wakeAt = std::chrono::system_clock::time_point(std::chrono::milliseconds(nextWake_));
      queueCv_.wait_until(lock, wakeAt, [this] { return stopping_ || kicked_ || !queue_.empty(); });
      batch.swap(queue_);
      if (stopping_) {
        // Drain what was posted before the stop (e.g. calls ended by the shutdown), no new work.
        lock.unlock();
        for (auto& fn : batch) fn();
        return;
      }
      doDispatch = kicked_ || clock_.now() >= nextWake_;
      kicked_ = false;
    }
    for (auto& fn : batch) fn();
    if (doDispatch || !batch.empty()) {
      maybeRunScheduledCleanup();
      maybeRunHousekeeping();
      maybeExpireHeld();
      dispatch();
      std::lock_guard lock(queueMutex_);
      if (nextHeldCheckAt_ > 0) nextWake_ = std::min(nextWake_, nextHeldCheckAt_);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Settings and small helpers

void Scheduler::settingsChanged(const Settings& s) {
  {
    std::lock_guard lock(settingsMutex_);
    settings_ = s;
  }
  // The cleanup schedule is scheduler-thread state.
  post([this, schedule = s.cleanupSchedule] {
    cleanupCron_.reset();
    nextCleanupAt_ = 0;
    if (schedule.empty()) return;
    if (auto cron = CronSchedule::parse(schedule)) {
      cleanupCron_ = *cron;
      nextCleanupAt_ = static_cast<Millis>(cleanupCron_->next(clock_.now() / 1000)) * 1000;
    }
  });
  kick();
}

Settings Scheduler::currentSettings() {
  std::lock_guard lock(settingsMutex_);
  return settings_;
}

NumberPlan Scheduler::numberPlan() { return NumberPlan(currentSettings()); }

std::string Scheduler::faxDir(std::int64_t id) const {
  return (fs::path(options_.dataDir) / "faxes" / std::to_string(id)).string();
}

int Scheduler::outboundCalls() const { return outboundCount_.load(); }
int Scheduler::inboundCalls() const { return inboundCount_.load(); }

Millis Scheduler::retryDelay(OutcomeClass cls) const {
  switch (cls) {
    case OutcomeClass::Busy:
      return options_.retryBusy;
    case OutcomeClass::NoAnswer:
      return options_.retryNoAnswer;
    case OutcomeClass::Dropped:
      return options_.retryDropped;
    default:
      return options_.retryOther;
  }
}

std::optional<Fax> Scheduler::loadFax(std::int64_t id) {
  auto f = store_.fax(id);
  if (!f) {
    spdlog::error("fax {}: {}", id, logSafe(f.error().message, 600));
    return std::nullopt;
  }
  return *f;
}

void Scheduler::setState(Fax& fax, FaxState state, const std::string& error, bool report) {
  const FaxState previous = fax.state;
  if (previous != state) {
    spdlog::info("fax {} ({}): {} -> {}{}{}", fax.id, toString(fax.direction), toString(fax.state),
                 toString(state), error.empty() ? "" : ": ", logSafe(error, 600));
  }
  fax.state = state;
  if (!error.empty()) fax.error = error;
  fax.updatedAt = clock_.now();
  auto saved = store_.updateFax(fax);
  logIfError(saved, "saving fax");
  track(fax);
  if (saved && previous != state && report) notify(fax.id, previous);
}

void Scheduler::track(const Fax& fax) {
  if (fax.direction != Direction::Out) return;
  if (fax.state == FaxState::Queued) {
    runQueue_.putQueued(fax.id, fax.priority);
  } else if (fax.state == FaxState::Waiting) {
    runQueue_.putWaiting(fax.id, fax.priority, fax.dialString, fax.nextAttemptAt);
  } else {
    runQueue_.remove(fax.id);
  }
}

void Scheduler::notify(std::int64_t id, FaxState previous) {
  if (observers_.empty()) return;
  auto fax = loadFax(id);
  if (!fax) return;
  for (auto* o : observers_) o->onFaxStateChanged(*fax, previous);
}

void Scheduler::notifyProgress(std::int64_t id) {
  if (observers_.empty()) return;
  auto fax = loadFax(id);
  if (!fax) return;
  for (auto* o : observers_) o->onFaxProgress(*fax);
}

void Scheduler::notifyDeleted(const Fax& fax) {
  for (auto* o : observers_) o->onFaxDeleted(fax);
}

void Scheduler::notifyCreated(std::int64_t id) {
  if (auto fax = loadFax(id)) notify(id, fax->state);
}

std::string Scheduler::csidFor(const std::optional<Device>& device) {
  auto plan = numberPlan();
  if (device) return device->tsi.empty() ? plan.defaultTsi(device->extension) : device->tsi;
  return plan.defaultTsi("");
}

void Scheduler::closeAttempt(std::int64_t attemptId, std::int64_t faxId, const CallResult& r) {
  Attempt a;
  a.id = attemptId;
  a.faxId = faxId;
  a.startedAt = r.startedAt;
  a.endedAt = r.endedAt ? r.endedAt : clock_.now();
  a.finished = true;
  a.outcome = r.outcome.cls;
  a.code = r.outcome.code;
  a.reason = r.outcome.reason;
  a.bitRate = r.bitRate;
  a.ecm = r.ecm;
  a.compression = r.compression;
  a.pages = r.pages;
  a.remoteId = r.remoteId;
  a.media = r.media;
  a.codec = r.codec;
  if (a.startedAt == 0) {
    // Keep the start the attempt was created with.
    if (auto f = loadFax(faxId)) {
      for (const auto& old : f->attempts) {
        if (old.id == attemptId) a.startedAt = old.startedAt;
      }
    }
  }
  logIfError(store_.updateAttempt(a), "saving attempt");
}

// ---------------------------------------------------------------------------------------------
// Call events

void Scheduler::onOutboundAnswered(std::int64_t faxId) {
  post([this, faxId] {
    auto it = calls_.find(faxId);
    if (it == calls_.end() || it->second.cancelRequested) return;
    if (auto fax = loadFax(faxId); fax && fax->state == FaxState::Dialing) {
      setState(*fax, FaxState::Sending);
    }
  });
}

void Scheduler::onOutboundProgress(std::int64_t faxId, int pagesConfirmed,
                                   const std::string& remoteId) {
  post([this, faxId, pagesConfirmed, remoteId] {
    auto it = calls_.find(faxId);
    if (it == calls_.end() || it->second.cancelRequested) return;
    auto fax = loadFax(faxId);
    if (!fax) return;
    const bool changed =
        fax->pages != pagesConfirmed || (!remoteId.empty() && fax->remoteId != remoteId);
    fax->pages = pagesConfirmed;
    if (!remoteId.empty()) fax->remoteId = remoteId;
    const FaxState before = fax->state;
    setState(*fax, before == FaxState::Dialing ? FaxState::Sending : before);
    if (changed && fax->state == before) notifyProgress(faxId);
  });
}

void Scheduler::onOutboundFinished(std::int64_t faxId, const CallResult& result) {
  post([this, faxId, result] {
    finishOutbound(faxId, result);
    kick();
  });
}

void Scheduler::finishOutbound(std::int64_t faxId, const CallResult& result) {
  auto it = calls_.find(faxId);
  if (it == calls_.end()) {
    spdlog::warn("fax {}: end of an unknown outbound call", faxId);
    return;
  }
  const ActiveCall call = it->second;
  calls_.erase(it);
  outboundCount_.fetch_sub(1);
  if (result.outcome.cls == OutcomeClass::Unavailable) {
    waitForTrunk(faxId, call, result);
    return;
  }
  trunkBackoff_.erase(faxId);  // a call was placed: the trunk works again
  CallResult r = result;
  bool shutdown = false;
  if (shuttingDown_ && !call.cancelRequested && r.outcome.cls != OutcomeClass::Ok) {
    // The call was ended by vfaxd stopping: resume at once after the next start.
    r.outcome = {OutcomeClass::Dropped, r.outcome.code, "call ended by vfaxd shutting down"};
    shutdown = true;
  }
  closeAttempt(call.attemptId, faxId, r);

  auto fax = loadFax(faxId);
  if (!fax) return;
  // Done means the receiver confirmed every page, however the call ended afterwards (a cancel or
  // a shutdown after the last MCF cannot take the fax back).
  const bool delivered = fax->pagesTotal > 0 && r.pages >= fax->pagesTotal;
  if (fax->state == FaxState::Canceled && !delivered) return;
  if (!r.remoteId.empty()) fax->remoteId = r.remoteId;
  fax->pages = r.pages;
  const Settings s = currentSettings();
  if (delivered) {
    fax->error.clear();
    setState(*fax, FaxState::Done);
    return;
  }
  std::string reason =
      r.outcome.reason.empty() ? std::string(toString(r.outcome.cls)) : r.outcome.reason;
  if (r.outcome.cls == OutcomeClass::Ok) {
    reason = "the receiver confirmed " + std::to_string(r.pages) + " of " +
             std::to_string(fax->pagesTotal) + " pages";
  }
  const bool again = (retryable(r.outcome.cls) || r.outcome.cls == OutcomeClass::Ok) &&
                     (fax->attemptCount < s.sendAttempts || shutdown);
  if (!again) {
    setState(*fax, FaxState::Failed, reason);
    return;
  }
  if (shutdown) fax->attemptCount = std::max(0, fax->attemptCount - 1);
  fax->nextAttemptAt = clock_.now() + (shutdown ? 0 : retryDelay(r.outcome.cls));
  fax->error = reason;  // the last reason, visible while waiting
  setState(*fax, FaxState::Waiting);
}

// No call was placed (temporary trunk trouble: a peer not registered yet, the trunk not bound,
// local congestion, ...). That is never the job's fault, so it never fails the job: it waits with
// a back-off of its own, spends no attempt, keeps no attempt row (hours of waiting for a peer
// would pile up thousands) and shows in `error` what it waits for. The attempt is first closed
// as `unavailable`, so that recovery can undo it the same way after a crash in between.
void Scheduler::waitForTrunk(std::int64_t faxId, const ActiveCall& call, const CallResult& result) {
  closeAttempt(call.attemptId, faxId, result);
  auto fax = loadFax(faxId);
  if (!fax) return;
  fax->attemptCount = std::max(0, fax->attemptCount - 1);
  fax->pages = 0;
  if (fax->state == FaxState::Canceled) {
    trunkBackoff_.erase(faxId);
    logIfError(store_.updateFax(*fax), "saving fax");
  } else {
    Millis& backoff = trunkBackoff_[faxId];
    backoff = backoff == 0 ? options_.retryUnavailable
                           : std::min(backoff * 2, options_.retryUnavailableMax);
    // While vfaxd stops, the trunk is going away too: the job resumes at once after the start.
    fax->nextAttemptAt = clock_.now() + (shuttingDown_ ? 0 : backoff);
    fax->error =
        result.outcome.reason.empty() ? "no trunk can place the call yet" : result.outcome.reason;
    // Not reported to observers: for a status mail the job never left `waiting`, and a mail per
    // try while a peer is down for hours would be spam.
    setState(*fax, FaxState::Waiting, {}, /*report=*/false);
  }
  logIfError(store_.deleteAttempt(call.attemptId), "removing an attempt that placed no call");
}

void Scheduler::onInboundOffered(const InboundOffer& offer,
                                 std::function<void(InboundDecision)> decide) {
  post([this, offer, decide = std::move(decide)] { acceptInbound(offer, decide); });
}

void Scheduler::acceptInbound(const InboundOffer& offer,
                              const std::function<void(InboundDecision)>& decide) {
  const Settings s = currentSettings();
  if (inboundCalls() + outboundCalls() >= s.totalLines) {
    spdlog::info("inbound call for {} from {}: all {} lines busy", logSafe(offer.calledNumber),
                 logSafe(offer.callerNumber), s.totalLines);
    decide(InboundDecision{.accept = false,
                           .rejectReason = {OutcomeClass::Busy, 17, "all lines busy"},
                           .faxId = 0,
                           .rxTiffPath = {},
                           .csid = {}});
    return;
  }
  std::optional<Device> device;
  if (auto d = store_.deviceByExtension(offer.calledNumber); d && *d) device = **d;
  if (!device && !options_.defaultInboundExtension.empty()) {
    if (auto d = store_.deviceByExtension(options_.defaultInboundExtension); d && *d) device = **d;
  }
  const Millis now = clock_.now();
  Fax fax;
  fax.direction = Direction::In;
  fax.state = FaxState::Receiving;
  fax.number = offer.callerNumber;
  fax.extension = offer.calledNumber;
  fax.callerId = offer.callerName;
  if (device) fax.deviceId = device->id;
  fax.createdAt = now;
  fax.updatedAt = now;
  auto stored = store_.insertFax(fax);
  if (!stored) {
    spdlog::error("inbound call for {}: cannot store it: {}", logSafe(offer.calledNumber),
                  logSafe(stored.error().message, 600));
    decide(InboundDecision{.accept = false,
                           .rejectReason = {OutcomeClass::LocalError, 0, "storage error"},
                           .faxId = 0,
                           .rxTiffPath = {},
                           .csid = {}});
    return;
  }
  std::error_code ec;
  fs::create_directories(faxDir(stored->id), ec);
  Attempt a;
  a.faxId = stored->id;
  a.startedAt = now;
  auto attemptId = store_.insertAttempt(a);
  calls_[stored->id] =
      ActiveCall{Direction::In, offer.callerNumber, attemptId ? *attemptId : 0, false};
  inboundCount_.fetch_add(1);
  notifyCreated(stored->id);
  spdlog::info("fax {}: receiving for extension {} ({}) from {}", stored->id,
               logSafe(offer.calledNumber), logSafe(device ? device->name : "no device"),
               logSafe(offer.callerNumber));
  decide(InboundDecision{.accept = true,
                         .rejectReason = {},
                         .faxId = stored->id,
                         .rxTiffPath = faxDir(stored->id) + "/fax.tif",
                         .csid = csidFor(device)});
}

void Scheduler::onInboundProgress(std::int64_t faxId, int pagesReceived,
                                  const std::string& remoteId) {
  post([this, faxId, pagesReceived, remoteId] {
    auto fax = loadFax(faxId);
    if (!fax || fax->state != FaxState::Receiving) return;
    const bool changed =
        fax->pages != pagesReceived || (!remoteId.empty() && fax->remoteId != remoteId);
    fax->pages = pagesReceived;
    fax->pagesTotal = pagesReceived;
    if (!remoteId.empty()) fax->remoteId = remoteId;
    setState(*fax, fax->state);
    if (changed) notifyProgress(faxId);
  });
}

void Scheduler::onInboundFinished(std::int64_t faxId, const CallResult& result) {
  post([this, faxId, result] {
    finishInbound(faxId, result);
    kick();
  });
}

void Scheduler::finishInbound(std::int64_t faxId, const CallResult& result) {
  auto it = calls_.find(faxId);
  if (it == calls_.end()) return;
  const ActiveCall call = it->second;
  calls_.erase(it);
  inboundCount_.fetch_sub(1);
  if (call.attemptId) closeAttempt(call.attemptId, faxId, result);
  auto fax = loadFax(faxId);
  if (!fax) return;
  fax->pages = result.pages;
  fax->pagesTotal = result.pages;
  if (!result.remoteId.empty()) fax->remoteId = result.remoteId;
  const bool ok = result.outcome.cls == OutcomeClass::Ok && result.pages > 0;
  // The state changes once the PDF exists, so that a `received` fax can always be downloaded.
  logIfError(store_.updateFax(*fax), "saving fax");
  const FaxState finalState = ok ? FaxState::Received : FaxState::Failed;
  std::string error =
      ok ? std::string()
         : (result.outcome.reason.empty() ? "no pages received" : result.outcome.reason);
  workers_->post(
      [this, faxId, finalState, error] { makeInboundDocuments(faxId, finalState, error); });
}

// Worker thread: PDF and preview of what arrived, then the final state on the scheduler thread.
void Scheduler::makeInboundDocuments(std::int64_t faxId, FaxState finalState, std::string error) {
  const std::string dir = faxDir(faxId);
  std::error_code ec;
  if (fs::exists(dir + "/fax.tif", ec) && fs::file_size(dir + "/fax.tif", ec) > 0) {
    auto pdf = documents_.faxToPdf(dir + "/fax.tif", dir + "/document.pdf", dir + "/preview.png");
    if (!pdf)
      spdlog::warn("fax {}: no PDF of the received pages: {}", faxId,
                   logSafe(pdf.error().message, 600));
  }
  post([this, faxId, finalState, error] {
    auto fax = loadFax(faxId);
    if (fax && fax->state == FaxState::Receiving) setState(*fax, finalState, error);
  });
}

// ---------------------------------------------------------------------------------------------
// Cancel, lines, cleanup

Result<Fax> Scheduler::cancelJob(std::int64_t id) {
  auto fax = loadFax(id);
  if (!fax) return makeError("not_found", "there is no fax " + std::to_string(id));
  if (fax->direction != Direction::Out) {
    return makeError("conflict",
                     "fax " + std::to_string(id) + " is inbound; only jobs can be canceled");
  }
  if (isFinal(fax->state)) {
    return makeError("conflict", "fax " + std::to_string(id) + " is already " +
                                     std::string(toString(fax->state)));
  }
  auto it = calls_.find(id);
  if (it != calls_.end()) {
    it->second.cancelRequested = true;
    telephony_.hangup(id);
  }
  if (converting_.erase(id) > 0) documents_.cancelConversion(faxDir(id) + "/fax.tif");
  trunkBackoff_.erase(id);
  setState(*fax, FaxState::Canceled, "canceled by the user");
  return *fax;
}

Result<std::optional<Fax>> Scheduler::removeFax(std::int64_t id) {
  auto fax = loadFax(id);
  if (!fax) return makeError("not_found", "there is no fax " + std::to_string(id));
  if (fax->state == FaxState::Receiving) {
    return makeError(
        "conflict", "fax " + std::to_string(id) + " is being received; delete it once it is final");
  }
  if (!isFinal(fax->state) && fax->state != FaxState::Held) {
    auto canceled = cancelJob(id);
    if (!canceled) return canceled.error();
    return std::optional<Fax>(*canceled);
  }
  if (calls_.contains(id)) {
    // Canceled, but its call is still being hung up: the call's end updates the record.
    return makeError("conflict", "the call of fax " + std::to_string(id) +
                                     " is still ending; delete it in a moment");
  }
  // Record first, then the folder: a crash in between leaves a folder without a record, which
  // nothing shows; never a record without its documents.
  if (auto r = store_.deleteFax(id); !r) return r.error();
  // Moved aside first: a page being rendered into the folder right now cannot keep it alive.
  std::error_code ec;
  const fs::path gone = fs::path(faxDir(id)).concat(".deleted");
  fs::rename(faxDir(id), gone, ec);
  fs::remove_all(ec ? fs::path(faxDir(id)) : gone, ec);
  if (ec) spdlog::warn("fax {}: its folder stays: {}", id, ec.message());
  spdlog::info("fax {} ({}): deleted", id, toString(fax->direction));
  notifyDeleted(*fax);
  return std::optional<Fax>();
}

void Scheduler::maybeRunHousekeeping() {
  if (!housekeeping_ || clock_.now() < nextHousekeepingAt_) return;
  nextHousekeepingAt_ = clock_.now() + kHousekeepingEvery;
  housekeeping_();
}

LineStatus Scheduler::lineStatus() {
  const Settings s = currentSettings();
  LineStatus l;
  l.total = s.totalLines;
  l.reservedInbound = s.reservedInboundLines;
  l.inbound = inboundCalls();
  l.outbound = outboundCalls();
  l.inUse = l.inbound + l.outbound;
  if (auto counts = store_.countFaxes()) {
    for (const auto& c : *counts) {
      if (c.direction == Direction::Out &&
          (c.state == FaxState::Queued || c.state == FaxState::Converting ||
           c.state == FaxState::Waiting)) {
        l.queued += static_cast<int>(c.count);
      }
    }
  }
  return l;
}

}  // namespace vfax::core
