// Dispatch: conversions for queued jobs, calls for waiting jobs within the line limits.
#include "core/scheduler.h"

#include "core/destination_policy.h"
#include "core/log_safe.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

namespace vfax::core {

namespace fs = std::filesystem;

void Scheduler::dispatch() {
  if (shuttingDown_) return;
  const Millis now = clock_.now();
  const Settings s = currentSettings();
  Millis wake = now + kIdleWake;
  if (nextCleanupAt_ > 0) wake = std::min(wake, nextCleanupAt_);

  // Conversions, best first; at most one per worker in flight, the rest wait in `queued`.
  while (static_cast<int>(converting_.size()) < options_.conversionWorkers) {
    auto next = runQueue_.firstQueued();
    if (!next) break;
    auto fax = loadIndexed(next->id, FaxState::Queued);
    if (!fax) {
      wake = std::min(wake, now + kStoreRetry);
      break;
    }
    if (*fax) startConversion(**fax);  // leaves the index through setState
  }

  // Calls: the due jobs, priority first, then age, each destination's best first. Only the
  // heads of the destinations are visited; a destination at its limit is passed over as a whole.
  if (const Millis due = runQueue_.promoteDue(now); due > 0) wake = std::min(wake, due);
  std::map<std::string, int> perDestination;
  for (const auto& [id, call] : calls_) {
    if (call.direction == Direction::Out) ++perDestination[call.destination];
  }
  const int outboundLimit = s.totalLines - s.reservedInboundLines;
  std::optional<RunQueue::Key> head;
  while (outboundCalls() < outboundLimit && outboundCalls() + inboundCalls() < s.totalLines) {
    head = runQueue_.nextHead(head);
    if (!head) break;
    const std::string destination = runQueue_.destinationOf(head->id);
    if (perDestination[destination] >= options_.maxCallsPerDestination) continue;
    auto fax = loadIndexed(head->id, FaxState::Waiting);
    if (!fax) {
      wake = std::min(wake, now + kStoreRetry);
      break;
    }
    if (!*fax) continue;
    ++perDestination[destination];
    placeCall(**fax);  // leaves the index through setState; the destination's next job follows
  }
  std::lock_guard lock(queueMutex_);
  nextWake_ = wake;
}

// The job the index names, as stored. Empty when the store says it is gone or in another state
// (the store is right: the index forgets it); an error leaves the index as it is, to try again.
Result<std::optional<Fax>> Scheduler::loadIndexed(std::int64_t id, FaxState expected) {
  auto stored = store_.fax(id);
  if (!stored) {
    spdlog::error("dispatch: fax {}: {}", id, logSafe(stored.error().message, 600));
    return stored.error();
  }
  if (!*stored || (*stored)->state != expected) {
    runQueue_.remove(id);
    return std::optional<Fax>();
  }
  return stored;
}

void Scheduler::startConversion(Fax fax) {
  converting_.insert(fax.id);
  setState(fax, FaxState::Converting);
  if (fax.sourceFiles.size() == 1 && fax.sourceFiles.front() == kReadySource) {
    // Pages made before (a preview sent, a fax sent again): nothing to convert, but the same way
    // on to `waiting`, with the same checks.
    std::error_code ec;
    Result<int> pages = fax.pagesTotal;
    if (!fs::is_regular_file(faxDir(fax.id) + "/" + kReadySource, ec) || fax.pagesTotal <= 0) {
      pages = makeError("conversion_failed", "the pages to send are missing");
    }
    post([this, id = fax.id, pages = std::move(pages)] { conversionDone(id, pages); });
    return;
  }
  ConvertRequest req;
  const std::string dir = faxDir(fax.id);
  for (const auto& name : fax.sourceFiles) req.inputs.push_back(dir + "/" + name);
  req.outputTiff = dir + "/fax.tif";
  req.fine = fax.fine;
  if (fax.coverPage) {
    std::string sender = options_.headerName;
    if (fax.deviceId) {
      if (auto d = store_.device(*fax.deviceId); d && *d) sender = (*d)->name;
    }
    documents_.fillCoverPage(fax, sender, currentSettings(), clock_.now(),
                             (fs::path(options_.dataDir) / "templates").string(), &req);
  }
  const auto id = fax.id;
  workers_->post([this, id, req, dir] {
    Result<int> pages = documents_.toFax(req);
    if (pages) {
      auto pdf = documents_.faxToPdf(req.outputTiff, dir + "/document.pdf", dir + "/preview.png");
      if (!pdf)
        spdlog::warn("fax {}: no PDF of the converted pages: {}", id,
                     logSafe(pdf.error().message, 600));
    }
    post([this, id, pages = std::move(pages)] { conversionDone(id, pages); });
  });
}

void Scheduler::conversionDone(std::int64_t id, Result<int> pages) {
  converting_.erase(id);
  auto fax = loadFax(id);
  if (!fax || fax->state != FaxState::Converting) return;  // canceled meanwhile
  if (!pages) {
    setState(*fax, FaxState::Failed, pages.error().message);
    return;
  }
  if (*pages <= 0) {
    setState(*fax, FaxState::Failed, "the documents have no pages");
    return;
  }
  // The daily page limit, now that the pages are known: what the user's other jobs of today
  // have, plus these (submit() could only check what was known then).
  const int limit = currentSettings().dailyPageLimit;
  if (limit > 0 && fax->userId) {
    auto used = store_.pagesSubmittedSince(*fax->userId, startOfLocalDay(clock_.now()));
    // A job with ready pages counts in `used` already (its pages_total is set).
    const std::int64_t others = used ? *used - fax->pagesTotal : 0;
    if (used && others + *pages > limit) {
      setState(*fax, FaxState::Failed,
               "destination_not_allowed: the daily page limit of " + std::to_string(limit) +
                   " pages would be passed (" + std::to_string(others) + " sent today, " +
                   std::to_string(*pages) + " in this fax; setting daily_page_limit)");
      return;
    }
  }
  fax->pagesTotal = *pages;
  fax->nextAttemptAt = clock_.now();
  setState(*fax, FaxState::Waiting);
}

void Scheduler::placeCall(Fax fax) {
  // The policy may have been tightened since the job was accepted: asked again before each dial.
  if (fax.extension.empty()) {
    const Settings s = currentSettings();
    if (auto allowed = checkDestination(NumberPlan(s).describe(fax.number), s); !allowed) {
      setState(fax, FaxState::Failed, allowed.error().code + ": " + allowed.error().message);
      return;
    }
  }
  Attempt a;
  a.faxId = fax.id;
  a.startedAt = clock_.now();
  auto attemptId = store_.insertAttempt(a);
  if (!attemptId) {
    spdlog::error("fax {}: cannot record the attempt: {}", fax.id,
                  logSafe(attemptId.error().message, 600));
    return;
  }
  fax.attemptCount += 1;
  fax.pages = 0;
  setState(fax, FaxState::Dialing);
  calls_[fax.id] = ActiveCall{Direction::Out, fax.dialString, *attemptId, false};
  outboundCount_.fetch_add(1);

  OutboundCall call;
  call.faxId = fax.id;
  call.dialString = fax.dialString;
  call.internal = !fax.extension.empty();
  call.extension = fax.extension;
  call.tiffPath = faxDir(fax.id) + "/fax.tif";
  call.tsi = fax.tsi;
  call.headerInfo = options_.headerName;
  const Settings s = currentSettings();
  call.callerId = "+" + s.countryCode + s.areaCode + s.baseNumber;  // presented as E.164
  if (fax.deviceId) {
    if (auto d = store_.device(*fax.deviceId); d && *d) {
      call.headerInfo = (*d)->name;
      call.callerId += (*d)->extension;
    }
  }
  telephony_.placeCall(call);
}

}  // namespace vfax::core
