#pragma once
// The persistence port. src/store/ implements it (SQLite now, PostgreSQL later). Every call is
// durable when it returns (SQLite: WAL, synchronous=FULL), so a kill -9 loses nothing it accepted.
// Implementations are safe to call from several threads.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/settings.h"

namespace vfax::core {

struct FaxQuery {
  std::optional<Direction> direction;
  std::vector<FaxState> states;  // empty: any
  std::optional<std::int64_t> deviceId;
  /// Set: only faxes of these devices (a user's view; empty: none at all).
  std::optional<std::vector<std::int64_t>> deviceIds;
  std::int64_t beforeId = 0;  // cursor: only ids < beforeId (0: no limit); newest first
  int limit = 50;
  bool withAttempts = true;
  /// Set: only faxes whose number or remote id contains this text (case-insensitive).
  std::string text{};
  std::optional<Millis> since{};  // created_at >= since
  std::optional<Millis> until{};  // created_at < until
};

struct AuditQuery {
  std::int64_t beforeId = 0;  // cursor: only ids < beforeId (0: no limit); newest first
  int limit = 100;
  std::optional<std::int64_t> userId;
  std::string action;  // "" = any; "fax." matches every action starting with it
};

struct FaxCount {
  Direction direction = Direction::Out;
  FaxState state = FaxState::Queued;
  std::int64_t count = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Settings (absent keys keep their defaults).
  virtual Result<Settings> loadSettings() = 0;
  virtual Result<void> saveSettings(const Settings& s) = 0;

  // Devices. Extensions are unique: insert/update give error code `conflict` on a duplicate.
  virtual Result<std::vector<Device>> listDevices() = 0;
  virtual Result<std::optional<Device>> device(std::int64_t id) = 0;
  virtual Result<std::optional<Device>> deviceByExtension(const std::string& extension) = 0;
  virtual Result<Device> insertDevice(const Device& d) = 0;  // returns it with its id
  virtual Result<void> updateDevice(const Device& d) = 0;
  virtual Result<bool> deleteDevice(std::int64_t id) = 0;  // faxes keep their record, device unset

  // Faxes (both directions). insertFax returns the fax with id, created/updated set by caller.
  virtual Result<Fax> insertFax(const Fax& f) = 0;
  virtual Result<void> updateFax(const Fax& f) = 0;  // all fields but attempts
  virtual Result<std::optional<Fax>> fax(std::int64_t id) = 0;
  virtual Result<std::vector<Fax>> listFaxes(const FaxQuery& q) = 0;
  virtual Result<std::vector<std::int64_t>> faxIdsCreatedBefore(Millis cutoff) = 0;
  /// How many faxes there are per direction and state (for /metrics and /lines).
  virtual Result<std::vector<FaxCount>> countFaxes() = 0;
  virtual Result<void> deleteFax(std::int64_t id) = 0;  // with its attempts

  // Attempts. insertAttempt returns the id.
  virtual Result<std::int64_t> insertAttempt(const Attempt& a) = 0;
  virtual Result<void> updateAttempt(const Attempt& a) = 0;
  /// Removes the record of an attempt that placed no call (temporary trunk trouble), so that hours
  /// of waiting for a peer do not pile up rows. `not_found` if there is no such attempt.
  virtual Result<void> deleteAttempt(std::int64_t id) = 0;

  /// Pages of the outbound jobs `userId` submitted since `since` (for the daily page limit).
  virtual Result<std::int64_t> pagesSubmittedSince(std::int64_t userId, Millis since) = 0;

  // Users. Usernames are unique regardless of case: insert/update give `conflict`. Deleting a
  // user deletes their tokens and sessions, unsets them as device owner and drops them from teams.
  virtual Result<std::vector<User>> listUsers() = 0;
  virtual Result<std::optional<User>> user(std::int64_t id) = 0;
  virtual Result<std::optional<User>> userByName(const std::string& username) = 0;
  virtual Result<User> insertUser(const User& u) = 0;
  virtual Result<void> updateUser(const User& u) = 0;
  virtual Result<bool> deleteUser(std::int64_t id) = 0;

  // API tokens.
  virtual Result<ApiToken> insertToken(const ApiToken& t) = 0;
  /// Every token, or only those of one user.
  virtual Result<std::vector<ApiToken>> listTokens(std::optional<std::int64_t> userId = {}) = 0;
  virtual Result<std::optional<ApiToken>> tokenByHash(const std::string& hash) = 0;
  virtual Result<bool> deleteToken(std::int64_t id) = 0;
  virtual Result<void> touchToken(std::int64_t id, Millis when) = 0;

  // Web sessions.
  virtual Result<WebSession> insertSession(const WebSession& s) = 0;
  virtual Result<std::optional<WebSession>> sessionByHash(const std::string& hash) = 0;
  virtual Result<void> touchSession(std::int64_t id, Millis when) = 0;
  virtual Result<bool> deleteSession(std::int64_t id) = 0;
  /// Logs a user out everywhere (but `keep`, the session that asked, if set).
  virtual Result<int> deleteSessionsOfUser(std::int64_t userId,
                                           std::optional<std::int64_t> keep) = 0;
  /// Drops sessions past their absolute end or idle since before `idleCutoff`.
  virtual Result<int> pruneSessions(Millis now, Millis idleCutoff) = 0;

  // Audit log.
  virtual Result<void> insertAudit(const std::vector<AuditEntry>& entries) = 0;  // one transaction
  virtual Result<std::vector<AuditEntry>> listAudit(const AuditQuery& q) = 0;
  virtual Result<int> pruneAudit(Millis cutoff) = 0;

  // Small key/value facts (e.g. the secret key for token hashing, last cleanup time).
  virtual Result<std::optional<std::string>> meta(const std::string& key) = 0;
  virtual Result<void> setMeta(const std::string& key, const std::string& value) = 0;
};

}  // namespace vfax::core
