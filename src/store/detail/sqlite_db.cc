#include "store/detail/sqlite_db.h"

#include <fmt/format.h>

#include <utility>

namespace vfax::store::detail {
namespace {

// Long enough to ride out another process's checkpoint or migration, short enough that a stuck
// writer shows up as an error instead of a hang.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

Stmt::Stmt(Stmt&& other) noexcept
    : s_(std::exchange(other.s_, nullptr)), next_(other.next_), bindRc_(other.bindRc_) {}

Stmt::~Stmt() {
  if (s_ != nullptr) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::bindInt(std::int64_t v) {
  int rc = sqlite3_bind_int64(s_, next_++, v);
  if (bindRc_ == SQLITE_OK) bindRc_ = rc;
  return *this;
}

Stmt& Stmt::bindBool(bool v) { return bindInt(v ? 1 : 0); }

Stmt& Stmt::bindText(std::string_view v) {
  int rc = sqlite3_bind_text64(s_, next_++, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bindRc_ == SQLITE_OK) bindRc_ = rc;
  return *this;
}

Stmt& Stmt::bindOptionalInt(const std::optional<std::int64_t>& v) {
  if (v) return bindInt(*v);
  int rc = sqlite3_bind_null(s_, next_++);
  if (bindRc_ == SQLITE_OK) bindRc_ = rc;
  return *this;
}

int Stmt::step() {
  if (bindRc_ != SQLITE_OK) return bindRc_;
  return sqlite3_step(s_);
}

std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(s_, col); }
int Stmt::int32(int col) const { return sqlite3_column_int(s_, col); }
bool Stmt::boolean(int col) const { return sqlite3_column_int(s_, col) != 0; }

std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

std::optional<std::int64_t> Stmt::optionalInt(int col) const {
  if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s_, col);
}

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return core::makeError("storage_error",
                           fmt::format("Could not open the database {}: {}.", path, msg));
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);

  // The first statement that reads the file: a file that is not SQLite fails here (NOTADB).
  auto mode = db->prepare("PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  {
    Stmt st = std::move(*mode);
    rc = st.step();
    if (rc != SQLITE_ROW) return db->error(rc, "switch the database to WAL mode");
    std::string got = st.text(0);
    // An in-memory database reports "memory"; it cannot do WAL and needs no durability.
    if (got != "wal" && got != "memory") {
      return core::makeError("storage_error",
                             fmt::format("The database {} could not switch to WAL mode (it is "
                                         "in {} mode).",
                                         path, got));
    }
  }
  // synchronous=FULL makes each commit fsync the WAL, so what a call accepted survives kill -9
  // and power loss alike.
  if (auto r =
          db->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", "set the database pragmas");
      !r) {
    return r.error();
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, st] : cache_) sqlite3_finalize(st);
  sqlite3_close_v2(db_);
}

core::Result<Stmt> Db::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return error(rc, "prepare a statement");
  }
  cache_.emplace(sql, st);
  return Stmt(st);
}

core::Result<void> Db::exec(const std::string& sql, std::string_view doing) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, doing);
  return {};
}

core::Result<std::int64_t> Db::queryInt(const std::string& sql, std::string_view doing) {
  auto st = prepare(sql);
  if (!st) return st.error();
  int rc = st->step();
  if (rc != SQLITE_ROW) return error(rc, doing);
  return st->int64(0);
}

core::Error Db::error(int rc, std::string_view doing) const {
  if ((rc & 0xff) == SQLITE_NOTADB) {
    return core::makeError("storage_error",
                           fmt::format("The file {} is not a vfax database (sqlite: {}).", path_,
                                       sqlite3_errmsg(db_)));
  }
  std::string msg = fmt::format("Could not {} in {}: {}.", doing, path_, sqlite3_errmsg(db_));
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return core::makeError("conflict", std::move(msg));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return core::makeError("not_found", std::move(msg));
    default:
      return core::makeError("storage_error", std::move(msg));
  }
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK", "roll back");
}

core::Result<void> Transaction::begin() {
  // IMMEDIATE takes the write lock up front, so a read-then-write cannot fail half way with
  // SQLITE_BUSY when another connection writes.
  auto r = db_.exec("BEGIN IMMEDIATE", "begin a transaction");
  if (r) open_ = true;
  return r;
}

core::Result<void> Transaction::commit() {
  auto r = db_.exec("COMMIT", "commit");
  if (r) open_ = false;
  return r;
}

}  // namespace vfax::store::detail
