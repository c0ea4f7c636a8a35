#include "store/sqlite_store.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "store/detail/rows.h"
#include "store/detail/schema.h"
#include "store/detail/sqlite_db.h"

namespace vfax::store {
namespace {

using core::Error;
using core::Result;
using detail::notFound;
using detail::readAll;
using detail::readOne;
using detail::run;
using detail::Stmt;

// Column lists drive the INSERT, UPDATE and SELECT text alike, so the bind order in bindX() and
// the read order in readX() have one source to agree with. Every SELECT puts `id` first.
constexpr std::array<std::string_view, 26> kFaxColumns{
    "direction", "state",        "number",    "dial_string",   "extension",       "device_id",
    "pages",     "pages_total",  "remote_id", "created_at",    "updated_at",      "error",
    "priority",  "tag",          "notify",    "attempt_count", "next_attempt_at", "tsi",
    "fine",      "source_files", "caller_id", "cover_page",    "subject",         "comment",
    "origin",    "user_id"};
constexpr std::array<std::string_view, 14> kAttemptColumns{
    "fax_id",   "started_at", "ended_at",    "outcome", "finished",  "code",  "reason",
    "bit_rate", "ecm",        "compression", "pages",   "remote_id", "media", "codec"};
constexpr std::array<std::string_view, 9> kDeviceColumns{"kind",      "name",    "email",
                                                         "extension", "tsi",     "inbound_format",
                                                         "owner_id",  "members", "pin_hash"};
constexpr std::array<std::string_view, 7> kTokenColumns{
    "user_id", "name", "hash", "prefix", "created_at", "last_used_at", "expires_at"};

template <std::size_t N>
std::string insertSql(std::string_view table, const std::array<std::string_view, N>& cols) {
  std::string names;
  std::string marks;
  for (std::size_t i = 0; i < N; ++i) {
    names += (i != 0 ? ", " : "") + std::string(cols[i]);
    marks += i != 0 ? ", ?" : "?";
  }
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, marks);
}

template <std::size_t N>
std::string updateSql(std::string_view table, const std::array<std::string_view, N>& cols) {
  std::string sets;
  for (std::size_t i = 0; i < N; ++i) sets += (i != 0 ? ", " : "") + std::string(cols[i]) + " = ?";
  return fmt::format("UPDATE {} SET {} WHERE id = ?", table, sets);
}

template <std::size_t N>
std::string selectSql(std::string_view table, const std::array<std::string_view, N>& cols) {
  std::string names = "id";
  for (auto c : cols) names += ", " + std::string(c);
  return fmt::format("SELECT {} FROM {}", names, table);
}

struct Sql {
  std::string insertFax = insertSql("faxes", kFaxColumns);
  std::string updateFax = updateSql("faxes", kFaxColumns);
  std::string selectFax = selectSql("faxes", kFaxColumns);
  std::string insertAttempt = insertSql("attempts", kAttemptColumns);
  std::string updateAttempt = updateSql("attempts", kAttemptColumns);
  std::string selectAttempt = selectSql("attempts", kAttemptColumns);
  std::string insertDevice = insertSql("devices", kDeviceColumns);
  std::string updateDevice = updateSql("devices", kDeviceColumns);
  std::string selectDevice = selectSql("devices", kDeviceColumns);
  std::string insertToken = insertSql("tokens", kTokenColumns);
  std::string selectToken = selectSql("tokens", kTokenColumns);
};

const Sql& sql() {
  static const Sql kSql;
  return kSql;
}

Error corrupt(std::string_view what, std::string_view raw) {
  return core::makeError("storage_error",
                         fmt::format("The database holds an unknown {} '{}'.", what, raw));
}

template <typename E>
Result<E> decode(std::optional<E> (*fromString)(std::string_view), std::string_view what,
                 const std::string& raw) {
  if (auto v = fromString(raw)) return *v;
  return corrupt(what, raw);
}

Result<std::string> encodeFiles(const std::vector<std::string>& files) {
  try {
    return nlohmann::json(files).dump();
  } catch (const nlohmann::json::exception& e) {
    return core::makeError("storage_error",
                           fmt::format("A source file name cannot be stored: {}.", e.what()));
  }
}

Result<std::vector<std::string>> decodeFiles(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return corrupt("source file list", text);
  std::vector<std::string> files;
  for (const auto& item : j) {
    if (!item.is_string()) return corrupt("source file list", text);
    files.push_back(item.get<std::string>());
  }
  return files;
}

// --- faxes

Result<void> bindFax(Stmt& st, const core::Fax& f) {
  auto files = encodeFiles(f.sourceFiles);
  if (!files) return files.error();
  st.bindText(core::toString(f.direction))
      .bindText(core::toString(f.state))
      .bindText(f.number)
      .bindText(f.dialString)
      .bindText(f.extension)
      .bindOptionalInt(f.deviceId)
      .bindInt(f.pages)
      .bindInt(f.pagesTotal)
      .bindText(f.remoteId)
      .bindInt(f.createdAt)
      .bindInt(f.updatedAt)
      .bindText(f.error)
      .bindInt(f.priority)
      .bindText(f.tag)
      .bindText(f.notify)
      .bindInt(f.attemptCount)
      .bindInt(f.nextAttemptAt)
      .bindText(f.tsi)
      .bindBool(f.fine)
      .bindText(*files)
      .bindText(f.callerId)
      .bindBool(f.coverPage)
      .bindText(f.subject)
      .bindText(f.comment)
      .bindText(f.origin)
      .bindOptionalInt(f.userId);
  return {};
}

Result<core::Fax> readFax(const Stmt& st) {
  core::Fax f;
  f.id = st.int64(0);
  auto direction = decode(core::directionFromString, "fax direction", st.text(1));
  if (!direction) return direction.error();
  f.direction = *direction;
  auto state = decode(core::faxStateFromString, "fax state", st.text(2));
  if (!state) return state.error();
  f.state = *state;
  f.number = st.text(3);
  f.dialString = st.text(4);
  f.extension = st.text(5);
  f.deviceId = st.optionalInt(6);
  f.pages = st.int32(7);
  f.pagesTotal = st.int32(8);
  f.remoteId = st.text(9);
  f.createdAt = st.int64(10);
  f.updatedAt = st.int64(11);
  f.error = st.text(12);
  f.priority = st.int32(13);
  f.tag = st.text(14);
  f.notify = st.text(15);
  f.attemptCount = st.int32(16);
  f.nextAttemptAt = st.int64(17);
  f.tsi = st.text(18);
  f.fine = st.boolean(19);
  auto files = decodeFiles(st.text(20));
  if (!files) return files.error();
  f.sourceFiles = std::move(*files);
  f.callerId = st.text(21);
  f.coverPage = st.boolean(22);
  f.subject = st.text(23);
  f.comment = st.text(24);
  f.origin = st.text(25);
  f.userId = st.optionalInt(26);
  return f;
}

// --- attempts

void bindAttempt(Stmt& st, const core::Attempt& a) {
  st.bindInt(a.faxId)
      .bindInt(a.startedAt)
      .bindInt(a.endedAt)
      .bindText(core::toString(a.outcome))
      .bindBool(a.finished)
      .bindInt(a.code)
      .bindText(a.reason)
      .bindInt(a.bitRate)
      .bindBool(a.ecm)
      .bindText(a.compression)
      .bindInt(a.pages)
      .bindText(a.remoteId)
      .bindText(core::toString(a.media))
      .bindText(a.codec);
}

Result<core::Attempt> readAttempt(const Stmt& st) {
  core::Attempt a;
  a.id = st.int64(0);
  a.faxId = st.int64(1);
  a.startedAt = st.int64(2);
  a.endedAt = st.int64(3);
  auto outcome = decode(core::outcomeClassFromString, "attempt outcome", st.text(4));
  if (!outcome) return outcome.error();
  a.outcome = *outcome;
  a.finished = st.boolean(5);
  a.code = st.int32(6);
  a.reason = st.text(7);
  a.bitRate = st.int32(8);
  a.ecm = st.boolean(9);
  a.compression = st.text(10);
  a.pages = st.int32(11);
  a.remoteId = st.text(12);
  auto media = decode(core::faxMediaFromString, "attempt media", st.text(13));
  if (!media) return media.error();
  a.media = *media;
  a.codec = st.text(14);
  return a;
}

// --- devices

void bindDevice(Stmt& st, const core::Device& d) {
  st.bindText(core::toString(d.kind))
      .bindText(d.name)
      .bindText(d.email)
      .bindText(d.extension)
      .bindText(d.tsi)
      .bindText(core::toString(d.inboundFormat))
      .bindOptionalInt(d.owner)
      .bindText(nlohmann::json(d.members).dump())
      .bindText(d.pinHash);
}

Result<std::vector<std::int64_t>> decodeIds(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return corrupt("list of members", text);
  std::vector<std::int64_t> ids;
  for (const auto& item : j) {
    if (!item.is_number_integer()) return corrupt("list of members", text);
    ids.push_back(item.get<std::int64_t>());
  }
  return ids;
}

Result<core::Device> readDevice(const Stmt& st) {
  core::Device d;
  d.id = st.int64(0);
  auto kind = decode(core::deviceKindFromString, "device kind", st.text(1));
  if (!kind) return kind.error();
  d.kind = *kind;
  d.name = st.text(2);
  d.email = st.text(3);
  d.extension = st.text(4);
  d.tsi = st.text(5);
  auto format = decode(core::inboundFormatFromString, "inbound format", st.text(6));
  if (!format) return format.error();
  d.inboundFormat = *format;
  d.owner = st.optionalInt(7);
  auto members = decodeIds(st.text(8));
  if (!members) return members.error();
  d.members = std::move(*members);
  d.pinHash = st.text(9);
  return d;
}

Error extensionTaken(Error e, const std::string& extension) {
  if (e.code == "conflict") {
    e.message = fmt::format("Another device already has the extension {}.", extension);
  }
  return e;
}

// --- tokens

core::ApiToken readToken(const Stmt& st) {
  core::ApiToken t;
  t.id = st.int64(0);
  t.userId = st.optionalInt(1).value_or(0);
  t.name = st.text(2);
  t.hash = st.text(3);
  t.prefix = st.text(4);
  t.createdAt = st.int64(5);
  t.lastUsedAt = st.int64(6);
  t.expiresAt = st.int64(7);
  return t;
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<detail::Db> db) : db_(std::move(db)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schemaVersion() { return detail::latestSchemaVersion(); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  auto db = detail::Db::open(path);
  if (!db) return db.error();
  if (auto r = detail::migrate(**db); !r) return r.error();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db)));
}

// --- settings

Result<core::Settings> SqliteStore::loadSettings() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT key, value FROM settings");
  if (!st) return st.error();
  core::Settings s;
  for (;;) {
    int rc = st->step();
    if (rc == SQLITE_DONE) return s;
    if (rc != SQLITE_ROW) return db_->error(rc, "read the settings");
    std::string key = st->text(0);
    if (auto r = core::assignSetting(s, key, st->text(1)); !r) {
      return core::makeError("storage_error", fmt::format("The stored setting {} is not valid: {}",
                                                          key, r.error().message));
    }
  }
}

Result<void> SqliteStore::saveSettings(const core::Settings& s) {
  std::lock_guard lock(mu_);
  detail::Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r;
  for (const auto& [key, value] : core::toMap(s)) {
    auto st = db_->prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!st) return st.error();
    st->bindText(key).bindText(value);
    if (auto r = run(*db_, *st, "save the settings"); !r) return r;
  }
  return tx.commit();
}

// --- devices

Result<std::vector<core::Device>> SqliteStore::listDevices() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectDevice + " ORDER BY id");
  if (!st) return st.error();
  return readAll<core::Device>(*db_, *st, readDevice, "list the devices");
}

Result<std::optional<core::Device>> SqliteStore::device(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectDevice + " WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  return readOne<core::Device>(*db_, *st, readDevice, "read a device");
}

Result<std::optional<core::Device>> SqliteStore::deviceByExtension(const std::string& extension) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectDevice + " WHERE extension = ?");
  if (!st) return st.error();
  st->bindText(extension);
  return readOne<core::Device>(*db_, *st, readDevice, "read a device");
}

Result<core::Device> SqliteStore::insertDevice(const core::Device& d) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().insertDevice);
  if (!st) return st.error();
  bindDevice(*st, d);
  if (auto r = run(*db_, *st, "add the device"); !r) return extensionTaken(r.error(), d.extension);
  core::Device out = d;
  out.id = db_->lastInsertId();
  return out;
}

Result<void> SqliteStore::updateDevice(const core::Device& d) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().updateDevice);
  if (!st) return st.error();
  bindDevice(*st, d);
  st->bindInt(d.id);
  if (auto r = run(*db_, *st, "update the device"); !r) {
    return extensionTaken(r.error(), d.extension);
  }
  if (db_->changes() == 0) return notFound("device", d.id);
  return {};
}

Result<bool> SqliteStore::deleteDevice(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM devices WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "delete the device"); !r) return r.error();
  return db_->changes() > 0;
}

// --- faxes

Result<core::Fax> SqliteStore::insertFax(const core::Fax& f) {
  PendingInsert mine{&f, std::nullopt};
  std::unique_lock group(groupMu_);
  pendingInserts_.push_back(&mine);
  // One thread at a time commits everything waiting; the others wait for its outcome, or for
  // their turn when they came after it took the group.
  while (!mine.result) {
    if (groupCommitting_) {
      groupCv_.wait(group);
      continue;
    }
    groupCommitting_ = true;
    std::vector<PendingInsert*> taken;
    taken.swap(pendingInserts_);
    group.unlock();
    auto results = insertGroup(taken);
    group.lock();
    for (std::size_t i = 0; i < taken.size(); ++i) taken[i]->result = std::move(results[i]);
    groupCommitting_ = false;
    groupCv_.notify_all();
  }
  return std::move(*mine.result);
}

std::vector<Result<core::Fax>> SqliteStore::insertGroup(const std::vector<PendingInsert*>& group) {
  std::lock_guard lock(mu_);
  std::vector<Result<core::Fax>> results;
  if (group.size() == 1) {
    results.push_back(insertOne(*group[0]->fax));  // its own transaction, as any other write
    return results;
  }
  auto failAll = [&](const Error& e) {
    results.assign(group.size(), Result<core::Fax>(e));
    return results;
  };
  if (auto r = db_->exec("BEGIN IMMEDIATE", "start a group of new faxes"); !r)
    return failAll(r.error());
  for (const auto* pending : group) {
    // A savepoint per row: a failing row is undone alone and the others still commit.
    if (auto r = db_->exec("SAVEPOINT one_fax", "add the fax"); !r) {
      results.push_back(r.error());
      continue;
    }
    auto row = insertOne(*pending->fax);
    if (!row) (void)db_->exec("ROLLBACK TO one_fax", "undo the fax");
    (void)db_->exec("RELEASE one_fax", "add the fax");
    results.push_back(std::move(row));
  }
  if (auto r = db_->exec("COMMIT", "commit a group of new faxes"); !r) {
    (void)db_->exec("ROLLBACK", "undo a group of new faxes");
    return failAll(r.error());  // nothing of the group is stored
  }
  return results;
}

Result<core::Fax> SqliteStore::insertOne(const core::Fax& f) {
  auto st = db_->prepare(sql().insertFax);
  if (!st) return st.error();
  if (auto r = bindFax(*st, f); !r) return r.error();
  if (auto r = run(*db_, *st, "add the fax"); !r) return r.error();
  core::Fax out = f;
  out.id = db_->lastInsertId();
  out.attempts.clear();
  return out;
}

Result<void> SqliteStore::updateFax(const core::Fax& f) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().updateFax);
  if (!st) return st.error();
  if (auto r = bindFax(*st, f); !r) return r;
  st->bindInt(f.id);
  if (auto r = run(*db_, *st, "update the fax"); !r) return r;
  if (db_->changes() == 0) return notFound("fax", f.id);
  return {};
}

Result<std::optional<core::Fax>> SqliteStore::fax(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectFax + " WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  auto found = readOne<core::Fax>(*db_, *st, readFax, "read a fax");
  if (!found || !found->has_value()) return found;
  auto attempts = attemptsOf(id);
  if (!attempts) return attempts.error();
  (*found)->attempts = std::move(*attempts);
  return found;
}

// The WHERE clause of a fax list. The text varies only with which filters are present and how many
// states, so the statement cache stays small.
std::string SqliteStore::faxQueryWhere(const core::FaxQuery& q) {
  std::string where;
  auto add = [&where](std::string_view cond) {
    where += where.empty() ? " WHERE " : " AND ";
    where += cond;
  };
  if (q.direction) add("direction = ?");
  if (!q.states.empty()) {
    std::string marks;
    for (std::size_t i = 0; i < q.states.size(); ++i) marks += i != 0 ? ", ?" : "?";
    add("state IN (" + marks + ")");
  }
  if (q.deviceId) add("device_id = ?");
  // One statement text for any number of devices: the ids travel as one JSON array.
  if (q.deviceIds) add("device_id IN (SELECT value FROM json_each(?))");
  if (q.beforeId > 0) add("id < ?");
  // A substring cannot use an index; the scan runs in id order (the primary key, no sort) and
  // stops at the limit, and the other filters narrow it first when they can use theirs.
  if (!q.text.empty()) add("(number LIKE ? ESCAPE '\\' OR remote_id LIKE ? ESCAPE '\\')");
  if (q.since) add("created_at >= ?");
  if (q.until) add("created_at < ?");
  return where;
}

Result<std::vector<core::Fax>> SqliteStore::listFaxes(const core::FaxQuery& q) {
  const std::string where = faxQueryWhere(q);
  std::string text = sql().selectFax + where + " ORDER BY id DESC LIMIT ?";

  std::lock_guard lock(mu_);
  auto st = db_->prepare(text);
  if (!st) return st.error();
  bindFaxQuery(*st, q);
  auto faxes = readAll<core::Fax>(*db_, *st, readFax, "list the faxes");
  if (!faxes || !q.withAttempts) return faxes;
  if (auto r = fillAttempts(*faxes); !r) return r.error();
  return faxes;
}

void SqliteStore::bindFaxQuery(Stmt& st, const core::FaxQuery& q) {
  if (q.direction) st.bindText(core::toString(*q.direction));
  for (auto s : q.states) st.bindText(core::toString(s));
  if (q.deviceId) st.bindInt(*q.deviceId);
  if (q.deviceIds) st.bindText(nlohmann::json(*q.deviceIds).dump());
  if (q.beforeId > 0) st.bindInt(q.beforeId);
  if (!q.text.empty()) {
    // LIKE with the wildcards of the text taken literally; SQLite's LIKE ignores ASCII case.
    std::string pattern = "%";
    for (char c : q.text) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    st.bindText(pattern);
    st.bindText(pattern);
  }
  if (q.since) st.bindInt(*q.since);
  if (q.until) st.bindInt(*q.until);
  st.bindInt(q.limit > 0 ? q.limit : -1);  // SQLite reads a negative LIMIT as none
}

Result<std::string> SqliteStore::explainListFaxes(const core::FaxQuery& q) {
  const std::string where = faxQueryWhere(q);
  std::lock_guard lock(mu_);
  auto st =
      db_->prepare("EXPLAIN QUERY PLAN " + sql().selectFax + where + " ORDER BY id DESC LIMIT ?");
  if (!st) return st.error();
  bindFaxQuery(*st, q);
  auto rows = readAll<std::string>(
      *db_, *st, [](const Stmt& s) -> Result<std::string> { return s.text(3); }, "explain");
  if (!rows) return rows.error();
  std::string plan;
  for (const auto& r : *rows) plan += r + "\n";
  return plan;
}

Result<std::int64_t> SqliteStore::pagesSubmittedSince(std::int64_t userId, core::Millis since) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT COALESCE(SUM(pages_total), 0) FROM faxes "
      "WHERE user_id = ? AND created_at >= ? AND direction = 'out' AND state NOT IN ('canceled', "
      "'held')");
  if (!st) return st.error();
  st->bindInt(userId).bindInt(since);
  auto n = readOne<std::int64_t>(
      *db_, *st, [](const Stmt& s) -> Result<std::int64_t> { return s.int64(0); },
      "count the pages sent today");
  if (!n) return n.error();
  return n->value_or(0);
}

Result<std::vector<std::int64_t>> SqliteStore::faxIdsCreatedBefore(core::Millis cutoff) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT id FROM faxes WHERE created_at < ? ORDER BY id");
  if (!st) return st.error();
  st->bindInt(cutoff);
  return readAll<std::int64_t>(
      *db_, *st, [](const Stmt& s) -> Result<std::int64_t> { return s.int64(0); },
      "find old faxes");
}

Result<std::vector<core::FaxCount>> SqliteStore::countFaxes() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT direction, state, COUNT(*) FROM faxes GROUP BY direction, state");
  if (!st) return st.error();
  return readAll<core::FaxCount>(
      *db_, *st,
      [](const Stmt& s) -> Result<core::FaxCount> {
        auto direction = decode(core::directionFromString, "fax direction", s.text(0));
        if (!direction) return direction.error();
        auto state = decode(core::faxStateFromString, "fax state", s.text(1));
        if (!state) return state.error();
        return core::FaxCount{*direction, *state, s.int64(2)};
      },
      "count faxes");
}

Result<void> SqliteStore::deleteFax(std::int64_t id) {
  std::lock_guard lock(mu_);
  // Attempts go with it through ON DELETE CASCADE, in the same statement and so atomically.
  auto st = db_->prepare("DELETE FROM faxes WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "delete the fax"); !r) return r;
  if (db_->changes() == 0) return notFound("fax", id);
  return {};
}

Result<std::vector<core::Attempt>> SqliteStore::attemptsOf(std::int64_t faxId) {
  auto st = db_->prepare(sql().selectAttempt + " WHERE fax_id = ? ORDER BY started_at, id");
  if (!st) return st.error();
  st->bindInt(faxId);
  return readAll<core::Attempt>(*db_, *st, readAttempt, "read the attempts");
}

Result<void> SqliteStore::fillAttempts(std::vector<core::Fax>& faxes) {
  // One indexed lookup per fax: in-process SQLite has no round trip to save, and this keeps
  // the statement text fixed.
  for (auto& f : faxes) {
    auto attempts = attemptsOf(f.id);
    if (!attempts) return attempts.error();
    f.attempts = std::move(*attempts);
  }
  return {};
}

// --- attempts

Result<std::int64_t> SqliteStore::insertAttempt(const core::Attempt& a) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().insertAttempt);
  if (!st) return st.error();
  bindAttempt(*st, a);
  if (auto r = run(*db_, *st, "add the attempt"); !r) {
    if (r.error().code == "not_found") return notFound("fax", a.faxId);
    return r.error();
  }
  return db_->lastInsertId();
}

Result<void> SqliteStore::updateAttempt(const core::Attempt& a) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().updateAttempt);
  if (!st) return st.error();
  bindAttempt(*st, a);
  st->bindInt(a.id);
  if (auto r = run(*db_, *st, "update the attempt"); !r) {
    if (r.error().code == "not_found") return notFound("fax", a.faxId);
    return r;
  }
  if (db_->changes() == 0) return notFound("attempt", a.id);
  return {};
}

Result<void> SqliteStore::deleteAttempt(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM attempts WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "delete the attempt"); !r) return r;
  if (db_->changes() == 0) return notFound("attempt", id);
  return {};
}

// --- tokens

Result<core::ApiToken> SqliteStore::insertToken(const core::ApiToken& t) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().insertToken);
  if (!st) return st.error();
  st->bindInt(t.userId)
      .bindText(t.name)
      .bindText(t.hash)
      .bindText(t.prefix)
      .bindInt(t.createdAt)
      .bindInt(t.lastUsedAt)
      .bindInt(t.expiresAt);
  if (auto r = run(*db_, *st, "add the API token"); !r) {
    Error e = r.error();
    if (e.code == "conflict") e.message = "An API token with the same secret already exists.";
    return e;
  }
  core::ApiToken out = t;
  out.id = db_->lastInsertId();
  return out;
}

Result<std::vector<core::ApiToken>> SqliteStore::listTokens(std::optional<std::int64_t> userId) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectToken +
                         (userId ? " WHERE user_id = ? ORDER BY id" : " ORDER BY id"));
  if (!st) return st.error();
  if (userId) st->bindInt(*userId);
  return readAll<core::ApiToken>(
      *db_, *st, [](const Stmt& s) -> Result<core::ApiToken> { return readToken(s); },
      "list the API tokens");
}

Result<std::optional<core::ApiToken>> SqliteStore::tokenByHash(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql().selectToken + " WHERE hash = ?");
  if (!st) return st.error();
  st->bindText(hash);
  return readOne<core::ApiToken>(
      *db_, *st, [](const Stmt& s) -> Result<core::ApiToken> { return readToken(s); },
      "look up an API token");
}

Result<bool> SqliteStore::deleteToken(std::int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM tokens WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(id);
  if (auto r = run(*db_, *st, "delete the API token"); !r) return r.error();
  return db_->changes() > 0;
}

Result<void> SqliteStore::touchToken(std::int64_t id, core::Millis when) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bindInt(when).bindInt(id);
  if (auto r = run(*db_, *st, "record the API token's use"); !r) return r;
  if (db_->changes() == 0) return notFound("API token", id);
  return {};
}

// --- meta

Result<std::optional<std::string>> SqliteStore::meta(const std::string& key) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT value FROM meta WHERE key = ?");
  if (!st) return st.error();
  st->bindText(key);
  return readOne<std::string>(
      *db_, *st, [](const Stmt& s) -> Result<std::string> { return s.text(0); }, "read a fact");
}

Result<void> SqliteStore::setMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!st) return st.error();
  st->bindText(key).bindText(value);
  return run(*db_, *st, "store a fact");
}

}  // namespace vfax::store
