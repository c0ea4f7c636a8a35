#pragma once
// Gateways that report back (status mails, fax-to-email) observe every change of a fax's state.
#include "core/model.h"

namespace vfax::core {

class FaxObserver {
 public:
  virtual ~FaxObserver() = default;
  /// Called on the scheduler thread after the new state is stored; `fax` is the stored record
  /// with its attempts. Must not block for long: queue the work (e.g. into a durable outbox).
  /// A new record (a job queued, an inbound call being received) comes with previous == state.
  virtual void onFaxStateChanged(const Fax& fax, FaxState previous) = 0;
  /// Scheduler thread: pages confirmed / received or the remote id changed while the state did
  /// not (the stored record, as above). Must not block.
  virtual void onFaxProgress(const Fax& fax) { (void)fax; }
  /// Scheduler thread: the fax (as it was) and its files were deleted, on request (DELETE
  /// /faxes/{id}) or by the retention cleanup. Must not block.
  virtual void onFaxDeleted(const Fax& fax) { (void)fax; }
  /// After a retention cleanup deleted the faxes created before `cutoff` (scheduler thread):
  /// a chance to drop the observer's own records of that age.
  virtual void onRetentionCleanup(Millis cutoff) { (void)cutoff; }
};

}  // namespace vfax::core
