#pragma once
// core::Store on one SQLite file: the embedded default store of vfaxd.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/mail_store.h"
#include "core/store.h"

namespace vfax::store {

namespace detail {
class Db;
class Stmt;
}  // namespace detail

/// One connection, serialised by a mutex; prepared statements are cached on it. Every call
/// commits before it returns (WAL, synchronous=FULL), so a kill -9 right after loses nothing.
/// Errors: `conflict` for a duplicate extension or token hash, `not_found` when an update or
/// delete hits no row (or a record refers to a missing fax/device), `storage_error` otherwise.
class SqliteStore final : public core::Store, public core::MailStore {
 public:
  /// Opens or creates the database at `path` (":memory:" works for throwaway use) and applies
  /// any pending schema migrations. Fails clearly for a file that is not a vfax database or
  /// that a newer vfax wrote.
  static core::Result<std::unique_ptr<SqliteStore>> open(const std::string& path);

  /// The schema version this build writes (PRAGMA user_version).
  static int schemaVersion();

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  core::Result<core::Settings> loadSettings() override;
  core::Result<void> saveSettings(const core::Settings& s) override;

  core::Result<std::vector<core::Device>> listDevices() override;
  core::Result<std::optional<core::Device>> device(std::int64_t id) override;
  core::Result<std::optional<core::Device>> deviceByExtension(
      const std::string& extension) override;
  core::Result<core::Device> insertDevice(const core::Device& d) override;
  core::Result<void> updateDevice(const core::Device& d) override;
  core::Result<bool> deleteDevice(std::int64_t id) override;

  /// Ignores f.id and f.attempts (attempts are written with insertAttempt); the result carries
  /// the new id and no attempts, as fax(id) would return it. Group commit: inserts from several
  /// threads that arrive while one is being committed go in the next transaction together and
  /// share its fsync; each is still durable when its call returns, and a row that fails (its
  /// device deleted meanwhile) fails alone.
  core::Result<core::Fax> insertFax(const core::Fax& f) override;
  core::Result<void> updateFax(const core::Fax& f) override;
  core::Result<std::optional<core::Fax>> fax(std::int64_t id) override;
  /// Newest first. limit <= 0 means no limit.
  core::Result<std::vector<core::Fax>> listFaxes(const core::FaxQuery& q) override;
  /// SQLite's EXPLAIN QUERY PLAN of listFaxes(q), one line per step (tests check the indexes).
  core::Result<std::string> explainListFaxes(const core::FaxQuery& q);
  core::Result<std::vector<std::int64_t>> faxIdsCreatedBefore(core::Millis cutoff) override;
  core::Result<std::vector<core::FaxCount>> countFaxes() override;
  /// `not_found` if there is no such fax.
  core::Result<void> deleteFax(std::int64_t id) override;

  core::Result<std::int64_t> insertAttempt(const core::Attempt& a) override;
  core::Result<void> updateAttempt(const core::Attempt& a) override;
  core::Result<void> deleteAttempt(std::int64_t id) override;

  core::Result<core::ApiToken> insertToken(const core::ApiToken& t) override;
  core::Result<std::vector<core::ApiToken>> listTokens(
      std::optional<std::int64_t> userId = {}) override;
  core::Result<std::optional<core::ApiToken>> tokenByHash(const std::string& hash) override;
  core::Result<bool> deleteToken(std::int64_t id) override;
  core::Result<void> touchToken(std::int64_t id, core::Millis when) override;

  core::Result<std::int64_t> pagesSubmittedSince(std::int64_t userId, core::Millis since) override;

  // Accounts, in sqlite_accounts.cc.
  core::Result<std::vector<core::User>> listUsers() override;
  core::Result<std::optional<core::User>> user(std::int64_t id) override;
  core::Result<std::optional<core::User>> userByName(const std::string& username) override;
  core::Result<core::User> insertUser(const core::User& u) override;
  core::Result<void> updateUser(const core::User& u) override;
  core::Result<bool> deleteUser(std::int64_t id) override;
  core::Result<core::WebSession> insertSession(const core::WebSession& s) override;
  core::Result<std::optional<core::WebSession>> sessionByHash(const std::string& hash) override;
  core::Result<void> touchSession(std::int64_t id, core::Millis when) override;
  core::Result<bool> deleteSession(std::int64_t id) override;
  core::Result<int> deleteSessionsOfUser(std::int64_t userId,
                                         std::optional<std::int64_t> keep) override;
  core::Result<int> pruneSessions(core::Millis now, core::Millis idleCutoff) override;
  core::Result<void> insertAudit(const std::vector<core::AuditEntry>& entries) override;
  core::Result<std::vector<core::AuditEntry>> listAudit(const core::AuditQuery& q) override;
  core::Result<int> pruneAudit(core::Millis cutoff) override;

  core::Result<std::optional<std::string>> meta(const std::string& key) override;
  core::Result<void> setMeta(const std::string& key, const std::string& value) override;

  // core::MailStore, in sqlite_mail.cc.
  core::Result<std::map<std::string, std::string>> loadMailSettings() override;
  core::Result<void> saveMailSettings(const std::map<std::string, std::string>& values) override;
  core::Result<std::int64_t> enqueueMail(const core::OutboxMail& m) override;
  core::Result<std::vector<core::OutboxMail>> dueMails(core::Millis now, int limit) override;
  core::Result<std::vector<core::OutboxMail>> mailsMissedByACrash(core::Millis since) override;
  core::Result<std::vector<core::OutboxMail>> listOutbox(int limit) override;
  core::Result<int> countMailsTo(const std::string& kind, const std::string& recipient,
                                 core::Millis since) override;
  core::Result<void> updateMail(const core::OutboxMail& m) override;
  core::Result<std::optional<core::ProcessedMail>> processedMail(const std::string& key) override;
  core::Result<void> saveProcessedMail(const core::ProcessedMail& p) override;
  core::Result<int> pruneMail(core::Millis cutoff, bool processedToo) override;

 private:
  explicit SqliteStore(std::unique_ptr<detail::Db> db);

  struct PendingInsert {
    const core::Fax* fax = nullptr;
    std::optional<core::Result<core::Fax>> result;  // set under groupMu_ once committed
  };
  std::vector<core::Result<core::Fax>> insertGroup(const std::vector<PendingInsert*>& group);
  core::Result<core::Fax> insertOne(const core::Fax& f);  // lock held

  static std::string faxQueryWhere(const core::FaxQuery& q);
  static void bindFaxQuery(detail::Stmt& st, const core::FaxQuery& q);
  core::Result<std::vector<core::Attempt>> attemptsOf(std::int64_t faxId);  // lock held
  core::Result<void> fillAttempts(std::vector<core::Fax>& faxes);           // lock held

  std::mutex mu_;
  std::unique_ptr<detail::Db> db_;
  // Group commit of insertFax: the waiting inserts and whether one thread is committing a group.
  std::mutex groupMu_;
  std::condition_variable groupCv_;
  std::vector<PendingInsert*> pendingInserts_;
  bool groupCommitting_ = false;
};

}  // namespace vfax::store
