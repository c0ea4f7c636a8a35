// Accounts on SqliteStore: users, web sessions and the audit log (schema step 5). Tokens and
// device owners live with their tables in sqlite_store.cc.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "store/detail/rows.h"
#include "store/detail/sqlite_db.h"
#include "store/sqlite_store.h"

namespace vfax::store {
namespace {

using core::Result;
using detail::notFound;
using detail::readAll;
using detail::readOne;
using detail::run;
using detail::Stmt;

constexpr const char* kUserColumns =
    "id, username, name, email, role, enabled, builtin, password_hash, created_at, updated_at";
constexpr const char* kSessionColumns =
    "id, user_id, hash, created_at, last_seen_at, expires_at, source";
constexpr const char* kAuditColumns =
    "id, at, user_id, username, credential, source, action, target, detail";

Result<core::User> readUser(const Stmt& s) {
  core::User u;
  u.id = s.int64(0);
  u.username = s.text(1);
  u.name = s.text(2);
  u.email = s.text(3);
  const std::string role = s.text(4);
  auto r = core::roleFromString(role);
  if (!r) {
    return core::makeError("storage_error",
                           fmt::format("The database holds an unknown role '{}'.", role));
  }
  u.role = *r;
  u.enabled = s.boolean(5);
  u.builtin = s.boolean(6);
  u.passwordHash = s.text(7);
  u.createdAt = s.int64(8);
  u.updatedAt = s.int64(9);
  return u;
}

Result<core::WebSession> readSession(const Stmt& s) {
  core::WebSession w;
  w.id = s.int64(0);
  w.userId = s.int64(1);
  w.hash = s.text(2);
  w.createdAt = s.int64(3);
  w.lastSeenAt = s.int64(4);
  w.expiresAt = s.int64(5);
  w.source = s.text(6);
  return w;
}

Result<core::AuditEntry> readAudit(const Stmt& s) {
  core::AuditEntry a;
  a.id = s.int64(0);
  a.at = s.int64(1);
  a.userId = s.optionalInt(2);
  a.username = s.text(3);
  a.credential = s.text(4);
  a.source = s.text(5);
  a.action = s.text(6);
  a.target = s.text(7);
  a.detail = s.text(8);
  return a;
}

core::Error usernameTaken(core::Error e, const std::string& username) {
  if (e.code == "conflict") e.message = fmt::format("There is already a user '{}'.", username);
  return e;
}

void bindUser(Stmt& st, const core::User& u) {
  st.bindText(u.username)
      .bindText(u.name)
      .bindText(u.email)
      .bindText(core::toString(u.role))
      .bindBool(u.enabled)
      .bindBool(u.builtin)
      .bindText(u.passwordHash)
      .bindInt(u.createdAt)
      .bindInt(u.updatedAt);
}

}  // namespace

// --- users

Result<std::vector<core::User>> SqliteStore::listUsers() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(fmt::format("SELECT {} FROM users ORDER BY id", kUserColumns));
  if (!st) return st.error();
  return readAll<core::User>(*db_, *st, readUser, "list the users");
}

Result<std::optional<core::User>> SqliteStore::user(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(fmt::format("SELECT {} FROM users WHERE id = ?", kUserColumns));
  if (!st) return st.error();
  st->bindInt(id);
  return readOne<core::User>(*db_, *st, readUser, "read a user");
}

Result<std::optional<core::User>> SqliteStore::userByName(const std::string& username) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(fmt::format("SELECT {} FROM users WHERE username = ?", kUserColumns));
  if (!st) return st.error();
  st->bindText(username);
  return readOne<core::User>(*db_, *st, readUser, "read a user");
}

Result<core::User> SqliteStore::insertUser(const core::User& u) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO users (username, name, email, role, enabled, builtin, password_hash, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  bindUser(*st, u);
  if (auto r = run(*db_, *st, "add the user"); !r) return usernameTaken(r.error(), u.username);
  core::User out = u;
  out.id = db_->lastInsertId();
  return out;
}

Result<void> SqliteStore::updateUser(const core::User& u) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE users SET username = ?, name = ?, email = ?, role = ?, enabled = ?, builtin = ?, "
      "password_hash = ?, created_at = ?, updated_at = ? WHERE id = ?");
  if (!st) return st.error();
  bindUser(*st, u);
  st->bindInt(u.id);
  if (auto r = run(*db_, *st, "update the user"); !r) return usernameTaken(r.error(), u.username);
  if (db_->changes() == 0) return notFound("user", u.id);
  return {};
}

Result<bool> SqliteStore::deleteUser(std::int64_t id) {
  std::lock_guard lock(mu_);
  detail::Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r.error();
  // Team memberships are a JSON list per device: drop the user from each list that has them.
  auto teams = db_->prepare(
      "SELECT id, members FROM devices WHERE EXISTS "
      "(SELECT 1 FROM json_each(devices.members) WHERE value = ?)");
  if (!teams) return teams.error();
  teams->bindInt(id);
  struct Row {
    std::int64_t device;
    std::string members;
  };
  auto rows = readAll<Row>(
      *db_, *teams,
      [](const Stmt& s) -> Result<Row> {
        return Row{s.int64(0), s.text(1)};
      },
      "find the user's teams");
  if (!rows) return rows.error();
  for (const auto& row : *rows) {
    auto j = nlohmann::json::parse(row.members, nullptr, false);
    std::vector<std::int64_t> kept;
    if (j.is_array()) {
      for (const auto& v : j)
        if (v.is_number_integer() && v.get<std::int64_t>() != id)
          kept.push_back(v.get<std::int64_t>());
    }
    auto up = db_->prepare("UPDATE devices SET members = ? WHERE id = ?");
    if (!up) return up.error();
    up->bindText(nlohmann::json(kept).dump()).bindInt(row.device);
    if (auto r = run(*db_, *up, "update a team"); !r) return r.error();
  }
  // Tokens and sessions go by ON DELETE CASCADE, owned devices lose their owner (SET NULL).
  auto st = db_->prepare("DELETE FROM users WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "delete the user"); !r) return r.error();
  const bool deleted = db_->changes() > 0;
  if (auto r = tx.commit(); !r) return r.error();
  return deleted;
}

// --- sessions

Result<core::WebSession> SqliteStore::insertSession(const core::WebSession& s) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO sessions (user_id, hash, created_at, last_seen_at, expires_at, source) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bindInt(s.userId)
      .bindText(s.hash)
      .bindInt(s.createdAt)
      .bindInt(s.lastSeenAt)
      .bindInt(s.expiresAt)
      .bindText(s.source);
  if (auto r = run(*db_, *st, "add the session"); !r) return r.error();
  core::WebSession out = s;
  out.id = db_->lastInsertId();
  return out;
}

Result<std::optional<core::WebSession>> SqliteStore::sessionByHash(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(fmt::format("SELECT {} FROM sessions WHERE hash = ?", kSessionColumns));
  if (!st) return st.error();
  st->bindText(hash);
  return readOne<core::WebSession>(*db_, *st, readSession, "look up a session");
}

Result<void> SqliteStore::touchSession(std::int64_t id, core::Millis when) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE sessions SET last_seen_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(when).bindInt(id);
  return run(*db_, *st, "record the session's use");
}

Result<bool> SqliteStore::deleteSession(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM sessions WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "end the session"); !r) return r.error();
  return db_->changes() > 0;
}

Result<int> SqliteStore::deleteSessionsOfUser(std::int64_t userId,
                                              std::optional<std::int64_t> keep) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM sessions WHERE user_id = ? AND id != ?");
  if (!st) return st.error();
  st->bindInt(userId).bindInt(keep.value_or(0));
  if (auto r = run(*db_, *st, "end the user's sessions"); !r) return r.error();
  return db_->changes();
}

Result<int> SqliteStore::pruneSessions(core::Millis now, core::Millis idleCutoff) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?");
  if (!st) return st.error();
  st->bindInt(now).bindInt(idleCutoff);
  if (auto r = run(*db_, *st, "drop old sessions"); !r) return r.error();
  return db_->changes();
}

// --- audit

Result<void> SqliteStore::insertAudit(const std::vector<core::AuditEntry>& entries) {
  if (entries.empty()) return {};
  std::lock_guard lock(mu_);
  detail::Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r;
  for (const auto& a : entries) {
    auto st = db_->prepare(
        "INSERT INTO audit (at, user_id, username, credential, source, action, target, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    st->bindInt(a.at)
        .bindOptionalInt(a.userId)
        .bindText(a.username)
        .bindText(a.credential)
        .bindText(a.source)
        .bindText(a.action)
        .bindText(a.target)
        .bindText(a.detail);
    if (auto r = run(*db_, *st, "write the audit log"); !r) return r;
  }
  return tx.commit();
}

Result<std::vector<core::AuditEntry>> SqliteStore::listAudit(const core::AuditQuery& q) {
  std::lock_guard lock(mu_);
  // Fixed text: absent filters bind values that match everything.
  auto st = db_->prepare(fmt::format(
      "SELECT {} FROM audit WHERE (? = 0 OR id < ?) AND (? = 0 OR user_id = ?) "
      "AND (? = '' OR action = ? OR (substr(?, -1) = '.' AND substr(action, 1, length(?)) = ?)) "
      "ORDER BY id DESC LIMIT ?",
      kAuditColumns));
  if (!st) return st.error();
  st->bindInt(q.beforeId).bindInt(q.beforeId);
  st->bindInt(q.userId ? 1 : 0).bindInt(q.userId.value_or(0));
  for (int i = 0; i < 5; ++i) st->bindText(q.action);
  st->bindInt(q.limit > 0 ? q.limit : -1);
  return readAll<core::AuditEntry>(*db_, *st, readAudit, "read the audit log");
}

Result<int> SqliteStore::pruneAudit(core::Millis cutoff) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM audit WHERE at < ?");
  if (!st) return st.error();
  st->bindInt(cutoff);
  if (auto r = run(*db_, *st, "prune the audit log"); !r) return r.error();
  return db_->changes();
}

}  // namespace vfax::store
