#include "store/detail/schema.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace vfax::store::detail {
namespace {

// Append only: a step that shipped is never edited, a change is a new step. Enums are stored
// as their string forms (core::toString) so that the file reads well and survives reordering.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> kSteps = {
      // 1: the initial schema.
      R"sql(
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT everywhere: ids are never reused, so an id in a log, an e-mail, a fax folder
-- name or an API cursor never comes to mean a different record.
CREATE TABLE devices (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind           TEXT NOT NULL,
  name           TEXT NOT NULL,
  email          TEXT NOT NULL,
  extension      TEXT NOT NULL UNIQUE,
  tsi            TEXT NOT NULL DEFAULT '',
  inbound_format TEXT NOT NULL
);

CREATE TABLE faxes (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  direction       TEXT NOT NULL,
  state           TEXT NOT NULL,
  number          TEXT NOT NULL DEFAULT '',
  dial_string     TEXT NOT NULL DEFAULT '',
  extension       TEXT NOT NULL DEFAULT '',
  device_id       INTEGER REFERENCES devices(id) ON DELETE SET NULL,
  pages           INTEGER NOT NULL DEFAULT 0,
  pages_total     INTEGER NOT NULL DEFAULT 0,
  remote_id       TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  error           TEXT NOT NULL DEFAULT '',
  priority        INTEGER NOT NULL DEFAULT 0,
  tag             TEXT NOT NULL DEFAULT '',
  notify          TEXT NOT NULL DEFAULT '',
  attempt_count   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  tsi             TEXT NOT NULL DEFAULT '',
  fine            INTEGER NOT NULL DEFAULT 1,
  source_files    TEXT NOT NULL DEFAULT '[]',  -- JSON array of names, in order
  caller_id       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX faxes_by_direction ON faxes(direction, id DESC);
CREATE INDEX faxes_by_direction_state ON faxes(direction, state, id DESC);
CREATE INDEX faxes_by_state ON faxes(state, id DESC);
CREATE INDEX faxes_by_created ON faxes(created_at);
-- Also keeps ON DELETE SET NULL from scanning every fax when a device goes.
CREATE INDEX faxes_by_device ON faxes(device_id, id DESC);

CREATE TABLE attempts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  fax_id      INTEGER NOT NULL REFERENCES faxes(id) ON DELETE CASCADE,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER NOT NULL DEFAULT 0,
  outcome     TEXT NOT NULL,
  finished    INTEGER NOT NULL DEFAULT 0,
  code        INTEGER NOT NULL DEFAULT 0,
  reason      TEXT NOT NULL DEFAULT '',
  bit_rate    INTEGER NOT NULL DEFAULT 0,
  ecm         INTEGER NOT NULL DEFAULT 0,
  compression TEXT NOT NULL DEFAULT '',
  pages       INTEGER NOT NULL DEFAULT 0,
  remote_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_fax ON attempts(fax_id, started_at, id);

CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL DEFAULT '',
  admin        INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0
);
)sql",
      // 2: cover page and origin of a job.
      R"sql(
ALTER TABLE faxes ADD COLUMN cover_page INTEGER NOT NULL DEFAULT 0;
ALTER TABLE faxes ADD COLUMN subject    TEXT NOT NULL DEFAULT '';
ALTER TABLE faxes ADD COLUMN comment    TEXT NOT NULL DEFAULT '';
ALTER TABLE faxes ADD COLUMN origin     TEXT NOT NULL DEFAULT '';  -- api, mail, print, ...
)sql",
      // 3: the mail gateway: its settings, the outbox, and the mails already turned into faxes.
      R"sql(
CREATE TABLE mail_settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE mail_outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT NOT NULL,
  fax_id          INTEGER,
  fax_state       TEXT NOT NULL DEFAULT '',
  previous_state  TEXT NOT NULL DEFAULT '',
  recipient       TEXT NOT NULL,
  subject         TEXT NOT NULL DEFAULT '',
  message         TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_attempt_at, id);

CREATE TABLE mail_processed (
  key        TEXT PRIMARY KEY,
  message_id TEXT NOT NULL DEFAULT '',
  state      TEXT NOT NULL,
  fax_ids    TEXT NOT NULL DEFAULT '[]',
  outcome    TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
      // 4: reserved for the IAX2 trunk.
      R"sql(
SELECT 1;
)sql",
      // 5: accounts. Users (with a built-in admin that owns the tokens from before accounts),
      // device owners and team members, tokens and web sessions of users, who submitted a job,
      // and the audit log. Tokens from before that were not admin tokens go to a user `api` with
      // the role user, which sees nothing until an admin gives it devices.
      R"sql(
CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name          TEXT NOT NULL DEFAULT '',
  email         TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL,
  enabled       INTEGER NOT NULL DEFAULT 1,
  builtin       INTEGER NOT NULL DEFAULT 0,
  password_hash TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
INSERT INTO users (username, name, role, builtin, created_at, updated_at)
  VALUES ('admin', 'Administrator', 'admin', 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
          CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
INSERT INTO users (username, name, role, created_at, updated_at)
  SELECT 'api', 'API tokens from before accounts', 'user',
         CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE EXISTS (SELECT 1 FROM tokens WHERE admin = 0);

ALTER TABLE devices ADD COLUMN owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE devices ADD COLUMN members  TEXT NOT NULL DEFAULT '[]';  -- JSON array of user ids

ALTER TABLE tokens ADD COLUMN user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE tokens SET user_id = (SELECT id FROM users WHERE username = 'admin') WHERE admin = 1;
UPDATE tokens SET user_id = (SELECT id FROM users WHERE username = 'api') WHERE admin = 0;
CREATE INDEX tokens_by_user ON tokens(user_id);

ALTER TABLE faxes ADD COLUMN user_id INTEGER;  -- no reference: a job outlives its sender
CREATE INDEX faxes_by_user ON faxes(user_id, created_at);

CREATE TABLE sessions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash         TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  source       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE audit (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  user_id    INTEGER,
  username   TEXT NOT NULL DEFAULT '',
  credential TEXT NOT NULL DEFAULT '',
  source     TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL,
  target     TEXT NOT NULL DEFAULT '',
  detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_at ON audit(at);
)sql",
      // 6: Mail-to-Fax sender authentication: a device's PIN (argon2id hash, '' = none), and the
      // rejection replies of the last hour per recipient, counted for the reply limit.
      R"sql(
ALTER TABLE devices ADD COLUMN pin_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX mail_outbox_by_recipient ON mail_outbox(recipient, kind, created_at);
)sql",
      // 7: what each attempt's fax data went over (a call may switch from audio to T.38) and the
      // audio codec its trunk negotiated. Attempts from before were all audio.
      R"sql(
ALTER TABLE attempts ADD COLUMN media TEXT NOT NULL DEFAULT 'audio';  -- audio | t38
ALTER TABLE attempts ADD COLUMN codec TEXT NOT NULL DEFAULT '';       -- PCMA, PCMU, slinear, ''
)sql",
  };
  return kSteps;
}

}  // namespace

int latestSchemaVersion() { return static_cast<int>(migrations().size()); }

core::Result<void> migrate(Db& db) {
  const std::int64_t latest = latestSchemaVersion();
  auto check = [&](std::int64_t version, std::int64_t appId) -> core::Result<void> {
    if (appId != 0 && appId != kApplicationId) {
      return core::makeError(
          "storage_error",
          fmt::format("The file {} is an SQLite database of another program (application id "
                      "{:#x}), not a vfax database.",
                      db.path(), appId));
    }
    if (version > latest) {
      return core::makeError(
          "storage_error",
          fmt::format("The database {} has schema version {}, newer than this vfax knows ({}). "
                      "It was written by a newer vfax; run that version or restore a backup.",
                      db.path(), version, latest));
    }
    return {};
  };

  auto appId = db.queryInt("PRAGMA application_id", "read the application id");
  if (!appId) return appId.error();
  auto version = db.queryInt("PRAGMA user_version", "read the schema version");
  if (!version) return version.error();
  if (auto r = check(*version, *appId); !r) return r;
  if (*version == latest) return {};

  Transaction tx(db);
  if (auto r = tx.begin(); !r) return r;
  // Read again under the write lock: another process may have migrated in the meantime.
  version = db.queryInt("PRAGMA user_version", "read the schema version");
  if (!version) return version.error();
  if (auto r = check(*version, *appId); !r) return r;
  if (*version == latest) return {};
  if (*version == 0) {
    auto objects = db.queryInt("SELECT count(*) FROM sqlite_schema", "inspect the database");
    if (!objects) return objects.error();
    if (*objects != 0) {
      return core::makeError(
          "storage_error",
          fmt::format("The file {} is an SQLite database with tables of its own, not a vfax "
                      "database; vfax will not write into it.",
                      db.path()));
    }
  }
  const auto& steps = migrations();
  for (std::int64_t v = *version; v < latest; ++v) {
    auto r = db.exec(steps[static_cast<std::size_t>(v)],
                     fmt::format("apply schema migration {}", v + 1));
    if (!r) return r;
  }
  // PRAGMAs take no bound parameters; both values are integers we control.
  if (auto r = db.exec(
          fmt::format("PRAGMA user_version={}; PRAGMA application_id={};", latest, kApplicationId),
          "record the schema version");
      !r) {
    return r;
  }
  return tx.commit();
}

}  // namespace vfax::store::detail
