// core::MailStore on SqliteStore: mail settings, the outbox and the processed-mail records
// (schema step 3; step 5 indexes the outbox by recipient for the reply limit).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/detail/sqlite_db.h"
#include "store/sqlite_store.h"

namespace vfax::store {
namespace {

using core::OutboxMail;
using core::Result;
using detail::Stmt;

constexpr const char* kOutboxColumns =
    "id, kind, fax_id, fax_state, previous_state, recipient, subject, message, state, attempts, "
    "next_attempt_at, last_error, created_at, sent_at";

Result<OutboxMail> readMail(const Stmt& s) {
  OutboxMail m;
  m.id = s.int64(0);
  m.kind = s.text(1);
  m.faxId = s.optionalInt(2);
  m.faxState = s.text(3);
  m.previousState = s.text(4);
  m.recipient = s.text(5);
  m.subject = s.text(6);
  m.message = s.text(7);
  const std::string state = s.text(8);
  auto st = core::outboxStateFromString(state);
  if (!st) {
    return core::makeError("storage_error",
                           fmt::format("The database holds an unknown outbox state '{}'.", state));
  }
  m.state = *st;
  m.attempts = s.int32(9);
  m.nextAttemptAt = s.int64(10);
  m.lastError = s.text(11);
  m.createdAt = s.int64(12);
  m.sentAt = s.int64(13);
  return m;
}

Result<std::vector<OutboxMail>> readMails(detail::Db& db, Stmt& st) {
  std::vector<OutboxMail> out;
  for (;;) {
    const int rc = st.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db.error(rc, "read the mail outbox");
    auto m = readMail(st);
    if (!m) return m.error();
    out.push_back(std::move(*m));
  }
}

Result<void> runDone(detail::Db& db, Stmt& st, std::string_view doing) {
  const int rc = st.step();
  if (rc != SQLITE_DONE) return db.error(rc, doing);
  return {};
}

}  // namespace

Result<std::map<std::string, std::string>> SqliteStore::loadMailSettings() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT key, value FROM mail_settings");
  if (!st) return st.error();
  std::map<std::string, std::string> out;
  for (;;) {
    const int rc = st->step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db_->error(rc, "read the mail settings");
    out[st->text(0)] = st->text(1);
  }
}

Result<void> SqliteStore::saveMailSettings(const std::map<std::string, std::string>& values) {
  std::lock_guard lock(mu_);
  detail::Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r;
  for (const auto& [k, v] : values) {
    auto st = db_->prepare(
        "INSERT INTO mail_settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!st) return st.error();
    st->bindText(k).bindText(v);
    if (auto r = runDone(*db_, *st, "store a mail setting"); !r) return r;
  }
  return tx.commit();
}

Result<std::int64_t> SqliteStore::enqueueMail(const OutboxMail& m) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO mail_outbox (kind, fax_id, fax_state, previous_state, recipient, subject, "
      "message, state, attempts, next_attempt_at, last_error, created_at, sent_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bindText(m.kind)
      .bindOptionalInt(m.faxId)
      .bindText(m.faxState)
      .bindText(m.previousState)
      .bindText(m.recipient)
      .bindText(m.subject)
      .bindText(m.message)
      .bindText(core::toString(m.state))
      .bindInt(m.attempts)
      .bindInt(m.nextAttemptAt)
      .bindText(m.lastError)
      .bindInt(m.createdAt)
      .bindInt(m.sentAt);
  if (auto r = runDone(*db_, *st, "queue a mail"); !r) return r.error();
  return db_->lastInsertId();
}

Result<std::vector<OutboxMail>> SqliteStore::dueMails(core::Millis now, int limit) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      fmt::format("SELECT {} FROM mail_outbox WHERE state = 'pending' AND next_attempt_at <= ? "
                  "ORDER BY next_attempt_at, id LIMIT ?",
                  kOutboxColumns));
  if (!st) return st.error();
  st->bindInt(now).bindInt(limit);
  return readMails(*db_, *st);
}

Result<std::vector<OutboxMail>> SqliteStore::listOutbox(int limit) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      fmt::format("SELECT {} FROM mail_outbox ORDER BY id DESC LIMIT ?", kOutboxColumns));
  if (!st) return st.error();
  st->bindInt(limit <= 0 ? -1 : limit);
  return readMails(*db_, *st);
}

Result<int> SqliteStore::countMailsTo(const std::string& kind, const std::string& recipient,
                                      core::Millis since) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT COUNT(*) FROM mail_outbox WHERE recipient = ? AND kind = ? AND created_at >= ?");
  if (!st) return st.error();
  st->bindText(recipient).bindText(kind).bindInt(since);
  const int rc = st->step();
  if (rc != SQLITE_ROW) return db_->error(rc, "count the replies to a sender");
  return static_cast<int>(st->int64(0));
}

Result<std::vector<OutboxMail>> SqliteStore::mailsMissedByACrash(core::Millis since) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT f.id, f.direction, f.state, f.notify FROM faxes f WHERE f.updated_at >= ? AND ("
      "(f.direction = 'out' AND f.state IN ('done', 'failed', 'canceled') AND f.notify != '' "
      " AND NOT EXISTS (SELECT 1 FROM mail_outbox o WHERE o.fax_id = f.id "
      "  AND o.kind IN ('status', 'print_expired') AND o.fax_state = f.state)) OR "
      "(f.direction = 'in' AND f.state = 'received' AND f.device_id IS NOT NULL "
      " AND NOT EXISTS (SELECT 1 FROM mail_outbox o WHERE o.fax_id = f.id "
      "  AND o.kind = 'fax_received'))) ORDER BY f.id");
  if (!st) return st.error();
  st->bindInt(since);
  std::vector<OutboxMail> out;
  for (int rc = st->step();; rc = st->step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return db_->error(rc, "find mails a crash left out");
    OutboxMail m;
    m.faxId = st->int64(0);
    const bool inbound = st->text(1) == "in";
    m.kind = inbound ? "fax_received" : "status";
    m.faxState = st->text(2);
    if (!inbound) m.recipient = st->text(3);
    out.push_back(std::move(m));
  }
  return out;
}

Result<void> SqliteStore::updateMail(const OutboxMail& m) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE mail_outbox SET recipient = ?, subject = ?, message = ?, state = ?, attempts = ?, "
      "next_attempt_at = ?, last_error = ?, sent_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bindText(m.recipient)
      .bindText(m.subject)
      .bindText(m.message)
      .bindText(core::toString(m.state))
      .bindInt(m.attempts)
      .bindInt(m.nextAttemptAt)
      .bindText(m.lastError)
      .bindInt(m.sentAt)
      .bindInt(m.id);
  if (auto r = runDone(*db_, *st, "update a queued mail"); !r) return r;
  if (db_->changes() == 0)
    return core::makeError("not_found", fmt::format("there is no queued mail {}", m.id));
  return {};
}

Result<std::optional<core::ProcessedMail>> SqliteStore::processedMail(const std::string& key) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT key, message_id, state, fax_ids, outcome, created_at FROM mail_processed WHERE key = "
      "?");
  if (!st) return st.error();
  st->bindText(key);
  const int rc = st->step();
  if (rc == SQLITE_DONE) return std::optional<core::ProcessedMail>{};
  if (rc != SQLITE_ROW) return db_->error(rc, "read a processed mail");
  core::ProcessedMail p;
  p.key = st->text(0);
  p.messageId = st->text(1);
  p.state = st->text(2);
  auto ids = nlohmann::json::parse(st->text(3), nullptr, false);
  if (ids.is_array()) {
    for (const auto& id : ids) {
      if (id.is_number_integer()) p.faxIds.push_back(id.get<std::int64_t>());
    }
  }
  p.outcome = st->text(4);
  p.createdAt = st->int64(5);
  return std::optional<core::ProcessedMail>(std::move(p));
}

Result<void> SqliteStore::saveProcessedMail(const core::ProcessedMail& p) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO mail_processed (key, message_id, state, fax_ids, outcome, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, "
      "state = excluded.state, fax_ids = excluded.fax_ids, outcome = excluded.outcome");
  if (!st) return st.error();
  st->bindText(p.key)
      .bindText(p.messageId)
      .bindText(p.state)
      .bindText(nlohmann::json(p.faxIds).dump())
      .bindText(p.outcome)
      .bindInt(p.createdAt);
  return runDone(*db_, *st, "record a processed mail");
}

Result<int> SqliteStore::pruneMail(core::Millis cutoff, bool processedToo) {
  std::lock_guard lock(mu_);
  int deleted = 0;
  auto outbox = db_->prepare("DELETE FROM mail_outbox WHERE state != 'pending' AND created_at < ?");
  if (!outbox) return outbox.error();
  outbox->bindInt(cutoff);
  if (auto r = runDone(*db_, *outbox, "prune the outbox"); !r) return r.error();
  deleted += db_->changes();
  if (processedToo) {
    // A `pending` record marks a mail whose jobs may be half stored: it must outlive any cleanup.
    auto processed =
        db_->prepare("DELETE FROM mail_processed WHERE state != 'pending' AND created_at < ?");
    if (!processed) return processed.error();
    processed->bindInt(cutoff);
    if (auto r = runDone(*db_, *processed, "prune processed mails"); !r) return r.error();
    deleted += db_->changes();
  }
  return deleted;
}

}  // namespace vfax::store
