// Held print jobs (Print-to-Fax): released to the queue with a number, or failed once they were
// held for print_hold_hours. A held job is never indexed by the run queue, so it is never dialled.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/log_safe.h"
#include "core/scheduler.h"

namespace vfax::core {

namespace fs = std::filesystem;

namespace {
constexpr Millis kHeldCheckEvery = 60'000;
constexpr const char* kHeldSource = "source-1.tiff";  // the held pages, converted again
}  // namespace

Result<Fax> Scheduler::releaseHeld(std::int64_t id, const Fax& drafted) {
  auto fax = loadFax(id);
  if (!fax) return makeError("not_found", "there is no fax " + std::to_string(id));
  if (fax->state != FaxState::Held) {
    return makeError("conflict", "fax " + std::to_string(id) + " is " +
                                     std::string(toString(fax->state)) + ", not held");
  }
  const std::string dir = faxDir(id);
  std::error_code ec;
  if (!fs::is_regular_file(dir + "/" + kReadySource, ec) || fax->pagesTotal <= 0) {
    return makeError("conflict", "fax " + std::to_string(id) + " has no pages to send");
  }
  if (drafted.coverPage) {
    // The cover page goes in front of the pages as they were held (and shown): those pages
    // become the source of a new conversion, which adds the cover.
    fs::copy_file(dir + "/" + kReadySource, dir + "/" + kHeldSource,
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return makeError("storage_error", "cannot prepare the pages: " + ec.message());
    fax->sourceFiles = {kHeldSource};
  } else {
    fax->sourceFiles = {kReadySource};
  }
  fax->number = drafted.number;
  fax->dialString = drafted.dialString;
  fax->extension = drafted.extension;
  fax->coverPage = drafted.coverPage;
  fax->subject = drafted.subject;
  fax->comment = drafted.comment;
  fax->notify = drafted.notify;
  fax->tag = drafted.tag;
  fax->priority = drafted.priority;
  fax->attemptCount = 0;
  fax->nextAttemptAt = 0;
  fax->error.clear();
  setState(*fax, FaxState::Queued);
  spdlog::info("fax {}: released to {}", id, logSafe(fax->number));
  kick();
  auto stored = loadFax(id);
  return stored ? *stored : *fax;
}

int Scheduler::expireHeld() {
  const Millis now = clock_.now();
  const int hours = currentSettings().printHoldHours;
  const Millis holdFor = static_cast<Millis>(hours) * options_.holdHour;
  Millis next = now + kHeldCheckEvery;
  int expired = 0;
  std::int64_t before = 0;
  for (;;) {
    FaxQuery q;
    q.direction = Direction::Out;
    q.states = {FaxState::Held};
    q.beforeId = before;
    q.limit = 500;
    q.withAttempts = false;
    auto page = store_.listFaxes(q);
    if (!page) {
      spdlog::error("held print jobs: {}", logSafe(page.error().message, 600));
      break;
    }
    for (auto& fax : *page) {
      if (fax.createdAt + holdFor <= now) {
        setState(fax, FaxState::Failed,
                 "the print job was held for " + std::to_string(hours) +
                     " hour(s) and nobody gave it a number (print_hold_hours)");
        ++expired;
      } else {
        next = std::min(next, fax.createdAt + holdFor);
      }
    }
    if (page->size() < 500) break;
    before = page->back().id;
  }
  nextHeldCheckAt_ = next;
  return expired;
}

void Scheduler::maybeExpireHeld() {
  if (shuttingDown_ || clock_.now() < nextHeldCheckAt_) return;
  expireHeld();
}

}  // namespace vfax::core
