#pragma once
// Internal to core: previews of faxes not queued yet (POST /faxes/preview). Each lives in
// DATA/previews/<id>/ (fax.tif, document.pdf, preview.png, meta.json) and belongs to the user who
// made it; it expires after `ttl` and each user keeps at most `perUser` (the oldest go first).
// Sending one (POST /faxes preview=<id>) takes its folder: the job's pages are the preview's.
// Thread-safe.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/model.h"
#include "core/result.h"

namespace vfax::core {

/// What a preview was made of: the fields of POST /faxes that shaped its pages, and the others,
/// so that sending it queues exactly what was seen.
struct PreviewRecord {
  std::string id;          // 32 lower-case hex digits
  std::int64_t owner = 0;  // the user who made it
  Millis createdAt = 0;
  Millis expiresAt = 0;
  int pages = 0;
  std::string to;  // may be empty
  std::optional<std::int64_t> deviceId;
  std::string tag;
  int priority = 0;
  std::string notify;
  bool fine = true;
  bool cover = false;
  std::string subject;
  std::string comment;
};

class Previews {
 public:
  Previews(std::string dir, const Clock& clock, Millis ttl, int perUser);

  /// Creates the folder, removes expired previews and half-made ones (tmp-*).
  Result<void> start();
  /// A fresh folder to convert into; commit() or discard() it.
  Result<std::string> stage();
  void discard(const std::string& stagingDir);
  /// Gives the staged folder its id and record; drops the owner's oldest beyond the limit.
  Result<PreviewRecord> commit(const std::string& stagingDir, PreviewRecord record);
  /// The owner's live preview; anything else (another user's, expired, malformed id) is
  /// not_found.
  Result<PreviewRecord> get(std::int64_t owner, const std::string& id);
  /// get(), then the folder is moved to `to` (a new path on the same file system) and the
  /// preview is gone.
  Result<PreviewRecord> take(std::int64_t owner, const std::string& id, const std::string& to);
  std::string folder(const std::string& id) const;
  /// Removes every expired preview; returns how many.
  int removeExpired();

 private:
  std::optional<PreviewRecord> load(const std::string& id) const;
  std::vector<PreviewRecord> all() const;

  std::string dir_;
  const Clock& clock_;
  Millis ttl_;
  int perUser_;
  std::mutex mu_;  // commit/take/removal: one at a time
};

}  // namespace vfax::core
