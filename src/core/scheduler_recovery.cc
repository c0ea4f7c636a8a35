// Recovery after a crash or restart of vfaxd: nothing the store holds is lost; calls cut by the
// crash count as failed attempts.
#include "core/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace vfax::core {

namespace fs = std::filesystem;

Result<void> Scheduler::recover() {
  auto active = store_.listFaxes(
      FaxQuery{.direction = std::nullopt,
               .states = {FaxState::Converting, FaxState::Waiting, FaxState::Dialing,
                          FaxState::Sending, FaxState::Receiving},
               .deviceId = std::nullopt,
               .deviceIds = std::nullopt,
               .beforeId = 0,
               .limit = 1'000'000,
               .withAttempts = true});
  if (!active) return active.error();
  const Millis now = clock_.now();
  const Settings s = currentSettings();
  for (Fax fax : *active) {
    // An attempt closed as `unavailable` placed no call; waitForTrunk() removes it right after
    // saving the job as waiting. A crash in between left it here: remove it, and when the job was
    // not saved yet, undo the attempt there too. Never a failed job for want of a trunk.
    if (fax.direction == Direction::Out && !fax.attempts.empty() && fax.attempts.back().finished &&
        fax.attempts.back().outcome == OutcomeClass::Unavailable) {
      const Attempt tried = fax.attempts.back();
      fax.attempts.pop_back();
      if (fax.state == FaxState::Dialing || fax.state == FaxState::Sending) {
        fax.attemptCount = std::max(0, fax.attemptCount - 1);
        fax.pages = 0;
        fax.nextAttemptAt = now;
        fax.error = tried.reason;
        setState(fax, FaxState::Waiting, {}, /*report=*/false);
      }
      logIfError(store_.deleteAttempt(tried.id),
                 "recovery: removing an attempt that placed no call");
      continue;
    }
    // The last attempt that ended before the crash tells what the call achieved: the crash may have
    // come between recording it and the state change that follows.
    const Attempt* lastFinished = nullptr;
    bool lastIsFinished = false;
    for (const auto& a : fax.attempts) {
      lastIsFinished = a.finished;
      if (a.finished) {
        lastFinished = &a;
        continue;
      }
      CallResult cut;
      cut.outcome = {OutcomeClass::Dropped, 0, "call cut by a restart of vfaxd"};
      cut.startedAt = a.startedAt;
      cut.endedAt = now;
      // fax.pages is what this call achieved: pages received (in), or confirmed by the
      // receiver's MCF (out; reset when the call was placed, saved on each confirmation).
      // A waiting job's unfinished attempt placed no call yet (its pages are an older call's).
      cut.pages = fax.direction == Direction::Out && fax.state == FaxState::Waiting ? 0 : fax.pages;
      cut.remoteId = fax.remoteId;
      closeAttempt(a.id, fax.id, cut);
    }
    const bool lastOk = lastIsFinished && lastFinished &&
                        lastFinished->outcome == OutcomeClass::Ok && lastFinished->pages > 0;
    if (fax.state == FaxState::Converting) {
      setState(fax, FaxState::Queued);
    } else if (fax.state == FaxState::Waiting) {
      continue;  // only its unfinished attempt (a crash right after recording it) needed closing
    } else if (fax.direction == Direction::Out) {
      // Delivered when the receiver confirmed every page, in a call recorded as ended or in
      // the call the crash cut (its confirmations were saved as they came): calling again would
      // send the fax twice.
      const int confirmed =
          lastIsFinished && lastFinished ? std::max(lastFinished->pages, fax.pages) : fax.pages;
      if (fax.pagesTotal > 0 && confirmed >= fax.pagesTotal) {
        fax.pages = confirmed;
        setState(fax, FaxState::Done);  // delivered; the crash only kept the state from saying so
      } else if (fax.attemptCount >= s.sendAttempts) {
        fax.pages = 0;
        setState(fax, FaxState::Failed, "call cut by a restart of vfaxd; no attempts left");
      } else {
        fax.pages = 0;
        fax.nextAttemptAt = now;  // our failure, not the remote's: go again at once
        setState(fax, FaxState::Waiting);
      }
    } else if (lastOk) {
      // Received in full; the PDF was still being made when vfaxd went away.
      const auto id = fax.id;
      workers_->post([this, id] { makeInboundDocuments(id, FaxState::Received, {}); });
    } else {
      spdlog::warn("fax {}: inbound call cut by a restart; keeping the {} page(s) that arrived",
                   fax.id, fax.pages);
      const auto id = fax.id;
      setState(fax, FaxState::Failed, "call cut by a restart of vfaxd");
      workers_->post([this, id] { makeInboundDocuments(id, FaxState::Failed, {}); });
    }
  }
  // The runnable jobs, read once: from now on the scheduler keeps the index current, as the only
  // code that changes a job's state.
  auto runnable = store_.listFaxes(FaxQuery{.direction = Direction::Out,
                                            .states = {FaxState::Queued, FaxState::Waiting},
                                            .deviceId = std::nullopt,
                                            .deviceIds = std::nullopt,
                                            .beforeId = 0,
                                            .limit = 0,
                                            .withAttempts = false});
  if (!runnable) return runnable.error();
  std::error_code ec;
  for (const auto& fax : *runnable) {
    // A submission stores the record, then moves its staged folder to faxes/ID, then answers.
    // A crash in between left a queued job without documents that nobody was told of: it goes,
    // so that the submitter's retry (a client's, or the mail intake's on the same mail) makes
    // the one job, rather than a second one beside a job failing for want of its files.
    if (fax.state == FaxState::Queued && fax.attemptCount == 0 && !fs::exists(faxDir(fax.id), ec) &&
        !ec) {
      spdlog::warn("recovery: fax {} was cut before its documents were in place; removed", fax.id);
      logIfError(store_.deleteFax(fax.id), "recovery: removing a job without documents");
      continue;
    }
    track(fax);
  }
  spdlog::info("recovery: {} job(s) queued or waiting", runQueue_.size());
  // Staging folders of submissions that never got their record (or lost it just above).
  for (const auto& entry : fs::directory_iterator(fs::path(options_.dataDir) / "faxes", ec)) {
    if (entry.path().filename().string().rfind("tmp-", 0) == 0) fs::remove_all(entry.path(), ec);
  }
  return {};
}

}  // namespace vfax::core
