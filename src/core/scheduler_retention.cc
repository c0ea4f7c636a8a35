// Retention: cleanup now (API, CLI) and on the admin's cron schedule.
#include "core/scheduler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

namespace vfax::core {

namespace fs = std::filesystem;

Result<int> Scheduler::cleanupNow(std::optional<int> olderThanDays) {
  const int days = olderThanDays.value_or(currentSettings().retentionDays);
  if (days < 0) return makeError("invalid_request", "older_than_days must not be negative");
  const Millis cutoff = clock_.now() - static_cast<Millis>(days) * 86'400'000;
  auto ids = store_.faxIdsCreatedBefore(cutoff);
  if (!ids) return ids.error();
  int deleted = 0;
  for (auto id : *ids) {
    auto fax = loadFax(id);
    if (!fax || !isFinal(fax->state) || calls_.contains(id)) continue;  // never a live one
    if (auto r = store_.deleteFax(id); !r) return r.error();
    std::error_code ec;
    fs::remove_all(faxDir(id), ec);
    notifyDeleted(*fax);
    ++deleted;
  }
  spdlog::info("cleanup: deleted {} fax(es) older than {} days", deleted, days);
  // The audit log follows the configured retention, whatever a manual cleanup asked for.
  const int keepDays = currentSettings().retentionDays;
  if (keepDays > 0) {
    auto pruned = store_.pruneAudit(clock_.now() - static_cast<Millis>(keepDays) * 86'400'000);
    if (!pruned) spdlog::warn("cleanup: audit log: {}", pruned.error().message);
  }
  for (auto* o : observers_) o->onRetentionCleanup(cutoff);
  return deleted;
}

void Scheduler::maybeRunScheduledCleanup() {
  if (!cleanupCron_ || nextCleanupAt_ == 0 || clock_.now() < nextCleanupAt_) return;
  auto r = cleanupNow(std::nullopt);
  if (!r) spdlog::error("scheduled cleanup: {}", r.error().message);
  nextCleanupAt_ = static_cast<Millis>(cleanupCron_->next(clock_.now() / 1000)) * 1000;
}

}  // namespace vfax::core
