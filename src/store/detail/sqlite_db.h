#pragma once
// A thin layer over one sqlite3 connection: cached prepared statements, sequential binding,
// transactions, and the mapping of sqlite result codes to domain errors. Not thread-safe by
// itself; SqliteStore serialises all use behind its mutex.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"

namespace vfax::store::detail {

/// A cached statement in use. Bind values in column order, then step. The destructor resets the
/// statement so the cache can hand it out again.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Distinct names on purpose: an overload set would let a const char* silently bind as bool.
  Stmt& bindInt(std::int64_t v);
  Stmt& bindBool(bool v);
  Stmt& bindText(std::string_view v);
  Stmt& bindOptionalInt(const std::optional<std::int64_t>& v);

  /// SQLITE_ROW, SQLITE_DONE, or an error code (a failed bind is reported here).
  int step();

  std::int64_t int64(int col) const;
  int int32(int col) const;
  bool boolean(int col) const;
  std::string text(int col) const;
  std::optional<std::int64_t> optionalInt(int col) const;

 private:
  sqlite3_stmt* s_;
  int next_ = 1;
  int bindRc_ = SQLITE_OK;
};

class Db {
 public:
  /// Opens (creating if needed) the file and sets the connection's pragmas: WAL,
  /// synchronous=FULL, foreign keys, busy timeout.
  static core::Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }

  /// The statement for `sql`, prepared once per connection and reused. One Stmt per SQL text
  /// may be alive at a time (the cache hands out the same sqlite3_stmt).
  core::Result<Stmt> prepare(const std::string& sql);
  /// Runs one or more statements without caching (pragmas, DDL, BEGIN/COMMIT).
  core::Result<void> exec(const std::string& sql, std::string_view doing);
  /// Runs a statement that yields a single integer (e.g. PRAGMA user_version).
  core::Result<std::int64_t> queryInt(const std::string& sql, std::string_view doing);

  /// A domain error for a failed call: unique violations become `conflict`, foreign key
  /// violations `not_found`, anything else `storage_error` with sqlite's own message.
  core::Error error(int rc, std::string_view doing) const;

  std::int64_t lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

/// BEGIN IMMEDIATE on construction via begin(); rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  core::Result<void> begin();
  core::Result<void> commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace vfax::store::detail
