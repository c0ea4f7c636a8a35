#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace vfax::store {
namespace {

namespace fs = std::filesystem;
using core::Attempt;
using core::Device;
using core::Direction;
using core::Fax;
using core::FaxQuery;
using core::FaxState;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vfax-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "vfax.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SqliteStore> openStore() {
    auto s = SqliteStore::open(path_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A second, raw connection: sees only what was committed to the file.
  std::int64_t rawInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
  void rawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string path_;
};

Device sampleDevice(const std::string& ext) {
  Device d;
  d.kind = core::DeviceKind::Team;
  d.name = "Sales " + ext;
  d.email = "sales" + ext + "@example.com";
  d.extension = ext;
  d.tsi = "+49 89 123456-" + ext;
  d.inboundFormat = core::InboundFormat::Inline;
  return d;
}

Fax sampleFax(Direction dir = Direction::Out, FaxState state = FaxState::Queued) {
  Fax f;
  f.direction = dir;
  f.state = state;
  f.number = "+4989123456";
  f.dialString = "0089123456";
  f.extension = "17";
  f.pages = 2;
  f.pagesTotal = 3;
  f.remoteId = "+49 89 999";
  f.createdAt = 1'700'000'000'123;
  f.updatedAt = 1'700'000'000'456;
  f.error = "busy twice";
  f.priority = 5;
  f.tag = "invoice \"42\"";
  f.notify = "me@example.com";
  f.attemptCount = 2;
  f.nextAttemptAt = 1'700'000'100'000;
  f.tsi = "+49 89 123456-17";
  f.fine = false;
  f.sourceFiles = {"0-cover.pdf", "1 scan, \"final\".tiff", "2-\xc3\xbc.png", "3-line\nbreak"};
  f.callerId = "Alice <100>";
  return f;
}

Attempt sampleAttempt(std::int64_t faxId, core::Millis start) {
  Attempt a;
  a.faxId = faxId;
  a.startedAt = start;
  a.endedAt = start + 60'000;
  a.outcome = core::OutcomeClass::Busy;
  a.finished = true;
  a.code = 17;
  a.reason = "user busy";
  a.bitRate = 14400;
  a.ecm = true;
  a.compression = "T.6";
  a.pages = 1;
  a.remoteId = "REMOTE";
  a.media = core::FaxMedia::T38;
  a.codec = "PCMA";
  return a;
}

void expectSameFax(const Fax& a, const Fax& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.number, b.number);
  EXPECT_EQ(a.dialString, b.dialString);
  EXPECT_EQ(a.extension, b.extension);
  EXPECT_EQ(a.deviceId, b.deviceId);
  EXPECT_EQ(a.pages, b.pages);
  EXPECT_EQ(a.pagesTotal, b.pagesTotal);
  EXPECT_EQ(a.remoteId, b.remoteId);
  EXPECT_EQ(a.createdAt, b.createdAt);
  EXPECT_EQ(a.updatedAt, b.updatedAt);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.tag, b.tag);
  EXPECT_EQ(a.notify, b.notify);
  EXPECT_EQ(a.attemptCount, b.attemptCount);
  EXPECT_EQ(a.nextAttemptAt, b.nextAttemptAt);
  EXPECT_EQ(a.tsi, b.tsi);
  EXPECT_EQ(a.fine, b.fine);
  EXPECT_EQ(a.sourceFiles, b.sourceFiles);
  EXPECT_EQ(a.callerId, b.callerId);
}

void expectSameAttempt(const Attempt& a, const Attempt& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.faxId, b.faxId);
  EXPECT_EQ(a.startedAt, b.startedAt);
  EXPECT_EQ(a.endedAt, b.endedAt);
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.finished, b.finished);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.bitRate, b.bitRate);
  EXPECT_EQ(a.ecm, b.ecm);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.pages, b.pages);
  EXPECT_EQ(a.remoteId, b.remoteId);
  EXPECT_EQ(a.media, b.media);
  EXPECT_EQ(a.codec, b.codec);
}

void expectSameDevice(const Device& a, const Device& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.extension, b.extension);
  EXPECT_EQ(a.tsi, b.tsi);
  EXPECT_EQ(a.inboundFormat, b.inboundFormat);
  EXPECT_EQ(a.pinHash, b.pinHash);
}

std::vector<std::int64_t> ids(const std::vector<Fax>& faxes) {
  std::vector<std::int64_t> out;
  for (const auto& f : faxes) out.push_back(f.id);
  return out;
}

// --- schema

TEST_F(SqliteStoreTest, FreshFileGetsLatestSchemaInWalMode) {
  ASSERT_NE(openStore(), nullptr);
  EXPECT_GE(SqliteStore::schemaVersion(), 1);
  EXPECT_EQ(rawInt("PRAGMA user_version"), SqliteStore::schemaVersion());
  EXPECT_EQ(rawInt("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN "
                   "('settings','devices','faxes','attempts','tokens','meta','users','sessions',"
                   "'audit')"),
            9);
  EXPECT_EQ(rawInt("SELECT count(*) FROM sqlite_schema WHERE type='index' AND "
                   "name LIKE 'faxes_by_%'"),
            6);
  // WAL mode is persistent: bytes 18 and 19 of the file header (read/write versions) are 2.
  std::ifstream in(path_, std::ios::binary);
  char header[20] = {};
  in.read(header, sizeof header);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
}

TEST_F(SqliteStoreTest, ReopenIsIdempotentAndKeepsData) {
  {
    auto s = openStore();
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->setMeta("k", "v").ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto s = openStore();
    ASSERT_NE(s, nullptr);
    auto v = s->meta("k");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->value_or(""), "v");
  }
  EXPECT_EQ(rawInt("PRAGMA user_version"), SqliteStore::schemaVersion());
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  ASSERT_NE(openStore(), nullptr);
  rawExec("PRAGMA user_version=" + std::to_string(SqliteStore::schemaVersion() + 1));
  auto s = SqliteStore::open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "storage_error");
  EXPECT_NE(s.error().message.find("newer"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find(std::to_string(SqliteStore::schemaVersion() + 1)),
            std::string::npos);
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsRefused) {
  {
    std::ofstream out(path_);
    out << "This is a text file, not SQLite. It has to be long enough to hold a header.\n";
    for (int i = 0; i < 100; ++i) out << "padding padding padding padding\n";
  }
  auto s = SqliteStore::open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "storage_error");
  EXPECT_NE(s.error().message.find("not a vfax database"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, AnotherProgramsDatabaseIsRefusedAndLeftAlone) {
  rawExec("CREATE TABLE stuff (x INTEGER); INSERT INTO stuff VALUES (1);");
  auto s = SqliteStore::open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "storage_error");
  EXPECT_NE(s.error().message.find("not a vfax database"), std::string::npos) << s.error().message;
  EXPECT_EQ(rawInt("SELECT count(*) FROM sqlite_schema"), 1);
  EXPECT_EQ(rawInt("PRAGMA user_version"), 0);

  rawExec("PRAGMA application_id=1234");
  s = SqliteStore::open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("another program"), std::string::npos) << s.error().message;
}

TEST_F(SqliteStoreTest, UnopenablePathGivesClearError) {
  auto s = SqliteStore::open((dir_ / "missing-dir" / "vfax.db").string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "storage_error");
  EXPECT_NE(s.error().message.find("missing-dir"), std::string::npos) << s.error().message;
}

TEST_F(SqliteStoreTest, InMemoryDatabaseWorks) {
  auto s = SqliteStore::open(":memory:");
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto d = (*s)->insertDevice(sampleDevice("10"));
  ASSERT_TRUE(d.ok());
}

// --- settings

TEST_F(SqliteStoreTest, SettingsDefaultThenRoundTrip) {
  auto s = openStore();
  ASSERT_NE(s, nullptr);
  auto loaded = s->loadSettings();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(core::toMap(*loaded), core::toMap(core::Settings{}));

  core::Settings changed;
  changed.totalLines = 8;
  changed.reservedInboundLines = 2;
  changed.countryCode = "1";
  changed.areaCode = "212";
  changed.baseNumber = "5550100";
  changed.outsideLinePrefix = "9";
  changed.internationalPrefix = "011";
  changed.nationalPrefix = "1";
  changed.mailToFaxMode = core::MailToFaxMode::BodyAndAttachments;
  changed.retentionDays = 90;
  changed.sendAttempts = 5;
  changed.cleanupSchedule = "0 3 * * *";
  ASSERT_TRUE(s->saveSettings(changed).ok());
  s.reset();

  s = openStore();
  loaded = s->loadSettings();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(core::toMap(*loaded), core::toMap(changed));
  EXPECT_EQ(loaded->mailToFaxMode, core::MailToFaxMode::BodyAndAttachments);
  EXPECT_EQ(loaded->totalLines, 8);
}

TEST_F(SqliteStoreTest, AbsentSettingKeysKeepDefaults) {
  ASSERT_NE(openStore(), nullptr);
  rawExec("INSERT INTO settings (key, value) VALUES ('retention_days', '7')");
  auto s = openStore();
  auto loaded = s->loadSettings();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  core::Settings expected;
  expected.retentionDays = 7;
  EXPECT_EQ(core::toMap(*loaded), core::toMap(expected));
}

TEST_F(SqliteStoreTest, CorruptStoredSettingIsAClearError) {
  ASSERT_NE(openStore(), nullptr);
  rawExec("INSERT INTO settings (key, value) VALUES ('total_lines', 'many')");
  auto s = openStore();
  auto loaded = s->loadSettings();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "storage_error");
  EXPECT_NE(loaded.error().message.find("total_lines"), std::string::npos);
}

// --- devices

TEST_F(SqliteStoreTest, DeviceRoundTripUpdateDelete) {
  auto s = openStore();
  auto a = s->insertDevice(sampleDevice("101"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  auto b = s->insertDevice(sampleDevice("102"));
  ASSERT_TRUE(b.ok());

  auto got = s->device(a->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  expectSameDevice(**got, *a);
  auto byExt = s->deviceByExtension("102");
  ASSERT_TRUE(byExt.ok() && byExt->has_value());
  expectSameDevice(**byExt, *b);
  EXPECT_FALSE(s->deviceByExtension("999")->has_value());
  EXPECT_FALSE(s->device(12345)->has_value());

  Device changed = *a;
  changed.kind = core::DeviceKind::User;
  changed.name = "Alice";
  changed.email = "alice@example.com";
  changed.extension = "103";
  changed.tsi = "";
  changed.inboundFormat = core::InboundFormat::Tiff;
  changed.pinHash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";  // stored as given
  ASSERT_TRUE(s->updateDevice(changed).ok());

  s = openStore();
  auto list = s->listDevices();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  expectSameDevice((*list)[0], changed);
  expectSameDevice((*list)[1], *b);

  Device ghost = changed;
  ghost.id = 9999;
  ghost.extension = "555";
  auto r = s->updateDevice(ghost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");

  EXPECT_TRUE(*s->deleteDevice(a->id));
  EXPECT_FALSE(*s->deleteDevice(a->id));
  EXPECT_EQ(s->listDevices()->size(), 1u);
}

TEST_F(SqliteStoreTest, DuplicateExtensionIsConflict) {
  auto s = openStore();
  ASSERT_TRUE(s->insertDevice(sampleDevice("200")).ok());
  auto other = s->insertDevice(sampleDevice("201"));
  ASSERT_TRUE(other.ok());

  auto dup = s->insertDevice(sampleDevice("200"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "conflict");
  EXPECT_NE(dup.error().message.find("200"), std::string::npos);

  Device moved = *other;
  moved.extension = "200";
  auto r = s->updateDevice(moved);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "conflict");
  // Nothing changed.
  EXPECT_EQ((*s->device(other->id))->extension, "201");
  EXPECT_EQ(s->listDevices()->size(), 2u);
}

TEST_F(SqliteStoreTest, DeletingDeviceKeepsFaxesWithDeviceUnset) {
  auto s = openStore();
  auto d = s->insertDevice(sampleDevice("300"));
  ASSERT_TRUE(d.ok());
  Fax f = sampleFax(Direction::In, FaxState::Received);
  f.deviceId = d->id;
  auto inserted = s->insertFax(f);
  ASSERT_TRUE(inserted.ok());
  EXPECT_EQ((*s->fax(inserted->id))->deviceId, d->id);

  ASSERT_TRUE(*s->deleteDevice(d->id));
  auto after = s->fax(inserted->id);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_FALSE((*after)->deviceId.has_value());
  EXPECT_EQ((*after)->number, f.number);
}

TEST_F(SqliteStoreTest, FaxForMissingDeviceIsNotFound) {
  auto s = openStore();
  Fax f = sampleFax();
  f.deviceId = 4242;
  auto r = s->insertFax(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");
}

// --- faxes and attempts

TEST_F(SqliteStoreTest, FaxRoundTripEveryField) {
  auto s = openStore();
  auto d = s->insertDevice(sampleDevice("400"));
  Fax f = sampleFax();
  f.deviceId = d->id;
  f.attempts.push_back(sampleAttempt(0, 1));  // ignored by insertFax
  auto inserted = s->insertFax(f);
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  EXPECT_GT(inserted->id, 0);
  EXPECT_TRUE(inserted->attempts.empty());
  f.id = inserted->id;

  s = openStore();
  auto got = s->fax(f.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  expectSameFax(**got, f);
  EXPECT_TRUE((*got)->attempts.empty());

  Fax changed = f;
  changed.direction = Direction::In;
  changed.state = FaxState::Failed;
  changed.number = "+1212555";
  changed.dialString = "";
  changed.extension = "";
  changed.deviceId.reset();
  changed.pages = 7;
  changed.pagesTotal = 9;
  changed.remoteId = "";
  changed.createdAt = 1;
  changed.updatedAt = 2;
  changed.error = "";
  changed.priority = -3;
  changed.tag = "";
  changed.notify = "";
  changed.attemptCount = 0;
  changed.nextAttemptAt = 0;
  changed.tsi = "";
  changed.fine = true;
  changed.sourceFiles = {};
  changed.callerId = "";
  ASSERT_TRUE(s->updateFax(changed).ok());
  s = openStore();
  got = s->fax(f.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  expectSameFax(**got, changed);

  Fax ghost = changed;
  ghost.id = 99999;
  auto r = s->updateFax(ghost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");
  EXPECT_FALSE(s->fax(99999)->has_value());
}

TEST_F(SqliteStoreTest, SourceFileNameThatIsNotUtf8IsRefused) {
  auto s = openStore();
  Fax f = sampleFax();
  f.sourceFiles = {"ok.pdf", "bad-\xff.pdf"};
  auto r = s->insertFax(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "storage_error");
  EXPECT_TRUE(s->listFaxes({})->empty());
}

TEST_F(SqliteStoreTest, EveryStateAndOutcomeRoundTrips) {
  auto s = openStore();
  const FaxState states[] = {FaxState::Queued,  FaxState::Converting, FaxState::Waiting,
                             FaxState::Dialing, FaxState::Sending,    FaxState::Done,
                             FaxState::Failed,  FaxState::Canceled,   FaxState::Receiving,
                             FaxState::Received};
  const core::OutcomeClass outcomes[] = {
      core::OutcomeClass::Ok,         core::OutcomeClass::Busy,    core::OutcomeClass::NoAnswer,
      core::OutcomeClass::Dropped,    core::OutcomeClass::Refused, core::OutcomeClass::Incompatible,
      core::OutcomeClass::LocalError, core::OutcomeClass::Canceled};
  auto f = s->insertFax(sampleFax());
  ASSERT_TRUE(f.ok());
  for (auto st : states) {
    Fax g = *f;
    g.state = st;
    ASSERT_TRUE(s->updateFax(g).ok());
    EXPECT_EQ((*s->fax(g.id))->state, st);
  }
  core::Millis t = 0;
  for (auto oc : outcomes) {
    Attempt a = sampleAttempt(f->id, ++t);
    a.outcome = oc;
    ASSERT_TRUE(s->insertAttempt(a).ok());
  }
  auto got = s->fax(f->id);
  ASSERT_EQ((*got)->attempts.size(), std::size(outcomes));
  for (std::size_t i = 0; i < std::size(outcomes); ++i) {
    EXPECT_EQ((*got)->attempts[i].outcome, outcomes[i]);
  }
  for (auto kind : {core::DeviceKind::User, core::DeviceKind::Team}) {
    for (auto fmt :
         {core::InboundFormat::Pdf, core::InboundFormat::Tiff, core::InboundFormat::Inline}) {
      Device d = sampleDevice(std::to_string(static_cast<int>(kind)) +
                              std::to_string(static_cast<int>(fmt)));
      d.kind = kind;
      d.inboundFormat = fmt;
      auto in = s->insertDevice(d);
      ASSERT_TRUE(in.ok());
      expectSameDevice(**s->device(in->id), *in);
    }
  }
}

TEST_F(SqliteStoreTest, AttemptsRoundTripOrderedByStart) {
  auto s = openStore();
  auto f = s->insertFax(sampleFax());
  ASSERT_TRUE(f.ok());
  // Inserted out of order on purpose.
  Attempt late = sampleAttempt(f->id, 5000);
  Attempt early = sampleAttempt(f->id, 1000);
  early.outcome = core::OutcomeClass::Ok;
  early.finished = false;
  early.endedAt = 0;
  early.ecm = false;
  early.compression = "T.4 2D";
  auto lateId = s->insertAttempt(late);
  auto earlyId = s->insertAttempt(early);
  ASSERT_TRUE(lateId.ok() && earlyId.ok());
  late.id = *lateId;
  early.id = *earlyId;

  s = openStore();
  auto got = s->fax(f->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_EQ((*got)->attempts.size(), 2u);
  expectSameAttempt((*got)->attempts[0], early);
  expectSameAttempt((*got)->attempts[1], late);

  early.finished = true;
  early.endedAt = 2000;
  early.outcome = core::OutcomeClass::Dropped;
  early.pages = 3;
  early.remoteId = "X";
  early.bitRate = 9600;
  early.reason = "carrier lost";
  early.code = 48;
  ASSERT_TRUE(s->updateAttempt(early).ok());
  got = s->fax(f->id);
  expectSameAttempt((*got)->attempts[0], early);

  Attempt ghost = early;
  ghost.id = 777777;
  auto r = s->updateAttempt(ghost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");

  auto orphan = s->insertAttempt(sampleAttempt(888888, 1));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, "not_found");
}

TEST_F(SqliteStoreTest, AttemptsOfASchemaBeforeMediaReadAsAudio) {
  auto s = openStore();
  auto f = s->insertFax(sampleFax());
  ASSERT_TRUE(f.ok());
  s.reset();
  // Back to schema 6 (no media, no codec), with an attempt written by that version.
  rawExec(
      "ALTER TABLE attempts DROP COLUMN media; ALTER TABLE attempts DROP COLUMN codec; "
      "PRAGMA user_version=6; INSERT INTO attempts (fax_id, started_at, outcome, finished) "
      "VALUES (" +
      std::to_string(f->id) + ", 1000, 'ok', 1);");
  s = openStore();
  EXPECT_EQ(rawInt("PRAGMA user_version"), SqliteStore::schemaVersion());
  auto got = s->fax(f->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_EQ((*got)->attempts.size(), 1u);
  EXPECT_EQ((*got)->attempts[0].media, core::FaxMedia::Audio);
  EXPECT_EQ((*got)->attempts[0].codec, "");

  Attempt audio = sampleAttempt(f->id, 2000);
  audio.media = core::FaxMedia::Audio;
  audio.codec = "PCMU";
  auto id = s->insertAttempt(audio);
  ASSERT_TRUE(id.ok());
  audio.id = *id;
  got = s->fax(f->id);
  ASSERT_EQ((*got)->attempts.size(), 2u);
  expectSameAttempt((*got)->attempts[1], audio);
}

TEST_F(SqliteStoreTest, UnknownAttemptMediaIsAClearError) {
  auto s = openStore();
  auto f = s->insertFax(sampleFax());
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(s->insertAttempt(sampleAttempt(f->id, 1)).ok());
  rawExec("UPDATE attempts SET media = 'carrier-pigeon'");
  auto got = s->fax(f->id);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("carrier-pigeon"), std::string::npos) << got.error().message;
}

TEST_F(SqliteStoreTest, DeletingFaxCascadesAttempts) {
  auto s = openStore();
  auto keep = s->insertFax(sampleFax());
  auto gone = s->insertFax(sampleFax());
  ASSERT_TRUE(keep.ok() && gone.ok());
  ASSERT_TRUE(s->insertAttempt(sampleAttempt(keep->id, 1)).ok());
  ASSERT_TRUE(s->insertAttempt(sampleAttempt(gone->id, 1)).ok());
  ASSERT_TRUE(s->insertAttempt(sampleAttempt(gone->id, 2)).ok());

  ASSERT_TRUE(s->deleteFax(gone->id).ok());
  EXPECT_FALSE(s->fax(gone->id)->has_value());
  EXPECT_EQ(rawInt("SELECT count(*) FROM attempts"), 1);
  EXPECT_EQ(rawInt("SELECT count(*) FROM attempts WHERE fax_id=" + std::to_string(gone->id)), 0);
  EXPECT_EQ((*s->fax(keep->id))->attempts.size(), 1u);

  auto again = s->deleteFax(gone->id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "not_found");
}

// An attempt that placed no call is removed on its own; its fax and other attempts stay.
TEST_F(SqliteStoreTest, DeletingAnAttemptKeepsTheRest) {
  auto s = openStore();
  auto f = s->insertFax(sampleFax());
  ASSERT_TRUE(f.ok());
  auto kept = s->insertAttempt(sampleAttempt(f->id, 1000));
  auto dropped = s->insertAttempt(sampleAttempt(f->id, 2000));
  ASSERT_TRUE(kept.ok() && dropped.ok());

  ASSERT_TRUE(s->deleteAttempt(*dropped).ok());
  s = openStore();  // durable, not just cached
  auto got = s->fax(f->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_EQ((*got)->attempts.size(), 1u);
  EXPECT_EQ((*got)->attempts[0].id, *kept);

  auto again = s->deleteAttempt(*dropped);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "not_found");
}

TEST_F(SqliteStoreTest, IdsAreNeverReused) {
  auto s = openStore();
  auto a = s->insertFax(sampleFax());
  ASSERT_TRUE(s->deleteFax(a->id).ok());
  auto b = s->insertFax(sampleFax());
  EXPECT_GT(b->id, a->id);
}

TEST_F(SqliteStoreTest, ListFiltersAndCursor) {
  auto s = openStore();
  auto d1 = s->insertDevice(sampleDevice("501"));
  auto d2 = s->insertDevice(sampleDevice("502"));
  struct Spec {
    Direction dir;
    FaxState state;
    std::optional<std::int64_t> device;
  };
  const Spec specs[] = {
      {Direction::Out, FaxState::Queued, d1->id},          // 1
      {Direction::Out, FaxState::Done, d1->id},            // 2
      {Direction::In, FaxState::Received, d2->id},         // 3
      {Direction::Out, FaxState::Failed, std::nullopt},    // 4
      {Direction::In, FaxState::Failed, d1->id},           // 5
      {Direction::Out, FaxState::Queued, d2->id},          // 6
      {Direction::In, FaxState::Receiving, std::nullopt},  // 7
  };
  std::vector<std::int64_t> id;
  core::Millis t = 100;
  for (const auto& sp : specs) {
    Fax f = sampleFax(sp.dir, sp.state);
    f.deviceId = sp.device;
    auto in = s->insertFax(f);
    ASSERT_TRUE(in.ok());
    id.push_back(in->id);
    ASSERT_TRUE(s->insertAttempt(sampleAttempt(in->id, t++)).ok());
  }

  FaxQuery all;
  auto r = s->listFaxes(all);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ids(*r), (std::vector<std::int64_t>{id[6], id[5], id[4], id[3], id[2], id[1], id[0]}));
  for (const auto& f : *r) EXPECT_EQ(f.attempts.size(), 1u);

  FaxQuery out;
  out.direction = Direction::Out;
  EXPECT_EQ(ids(*s->listFaxes(out)), (std::vector<std::int64_t>{id[5], id[3], id[1], id[0]}));

  FaxQuery in;
  in.direction = Direction::In;
  in.states = {FaxState::Failed, FaxState::Received};
  EXPECT_EQ(ids(*s->listFaxes(in)), (std::vector<std::int64_t>{id[4], id[2]}));

  FaxQuery failed;
  failed.states = {FaxState::Failed};
  EXPECT_EQ(ids(*s->listFaxes(failed)), (std::vector<std::int64_t>{id[4], id[3]}));

  FaxQuery byDevice;
  byDevice.deviceId = d1->id;
  EXPECT_EQ(ids(*s->listFaxes(byDevice)), (std::vector<std::int64_t>{id[4], id[1], id[0]}));

  FaxQuery combined;
  combined.direction = Direction::Out;
  combined.states = {FaxState::Queued};
  combined.deviceId = d2->id;
  EXPECT_EQ(ids(*s->listFaxes(combined)), (std::vector<std::int64_t>{id[5]}));

  // Page through everything two at a time with the cursor.
  FaxQuery page;
  page.limit = 2;
  page.withAttempts = false;
  std::vector<std::int64_t> seen;
  for (int guard = 0; guard < 10; ++guard) {
    auto p = s->listFaxes(page);
    ASSERT_TRUE(p.ok());
    if (p->empty()) break;
    EXPECT_LE(p->size(), 2u);
    for (const auto& f : *p) {
      EXPECT_TRUE(f.attempts.empty());
      seen.push_back(f.id);
    }
    page.beforeId = p->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{id[6], id[5], id[4], id[3], id[2], id[1], id[0]}));

  FaxQuery cursorWithFilter;
  cursorWithFilter.direction = Direction::Out;
  cursorWithFilter.beforeId = id[3];
  EXPECT_EQ(ids(*s->listFaxes(cursorWithFilter)), (std::vector<std::int64_t>{id[1], id[0]}));

  FaxQuery unlimited;
  unlimited.limit = 0;
  EXPECT_EQ(s->listFaxes(unlimited)->size(), 7u);

  FaxQuery none;
  none.states = {FaxState::Canceled};
  EXPECT_TRUE(s->listFaxes(none)->empty());
}

TEST_F(SqliteStoreTest, FaxIdsCreatedBefore) {
  auto s = openStore();
  std::vector<std::int64_t> id;
  for (core::Millis created : {100, 300, 200, 400}) {
    Fax f = sampleFax();
    f.createdAt = created;
    id.push_back(s->insertFax(f)->id);
  }
  auto old = s->faxIdsCreatedBefore(300);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(*old, (std::vector<std::int64_t>{id[0], id[2]}));
  EXPECT_TRUE(s->faxIdsCreatedBefore(100)->empty());
  EXPECT_EQ(s->faxIdsCreatedBefore(1000)->size(), 4u);
}

// --- tokens and meta

TEST_F(SqliteStoreTest, TokensRoundTrip) {
  auto s = openStore();
  auto admin = s->userByName("ADMIN");  // the built-in admin; names ignore case
  ASSERT_TRUE(admin.ok() && admin->has_value());
  EXPECT_TRUE((*admin)->builtin);
  core::User printerUser;
  printerUser.username = "printer";
  auto pu = s->insertUser(printerUser);
  ASSERT_TRUE(pu.ok()) << pu.error().message;
  core::ApiToken t;
  t.userId = (*admin)->id;
  t.name = "admin";
  t.hash = "abcdef0123";
  t.prefix = "vfx_ab";
  t.createdAt = 1000;
  t.lastUsedAt = 0;
  auto a = s->insertToken(t);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  core::ApiToken u = t;
  u.name = "printer";
  u.hash = "ffff";
  u.prefix = "vfx_ff";
  u.userId = pu->id;
  u.expiresAt = 99;
  auto b = s->insertToken(u);
  ASSERT_TRUE(b.ok());

  auto dup = s->insertToken(t);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "conflict");

  ASSERT_TRUE(s->touchToken(a->id, 5000).ok());
  auto r = s->touchToken(424242, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");

  s = openStore();
  auto found = s->tokenByHash("abcdef0123");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, a->id);
  EXPECT_EQ((*found)->name, "admin");
  EXPECT_EQ((*found)->prefix, "vfx_ab");
  EXPECT_EQ((*found)->userId, (*admin)->id);
  EXPECT_EQ((*found)->createdAt, 1000);
  EXPECT_EQ((*found)->lastUsedAt, 5000);
  EXPECT_FALSE(s->tokenByHash("nope")->has_value());

  auto list = s->listTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].name, "printer");
  EXPECT_EQ((*list)[1].expiresAt, 99);
  EXPECT_EQ(s->listTokens(pu->id)->size(), 1u);

  EXPECT_TRUE(*s->deleteToken(a->id));
  EXPECT_FALSE(*s->deleteToken(a->id));
  EXPECT_FALSE(s->tokenByHash("abcdef0123")->has_value());
  EXPECT_EQ(s->listTokens()->size(), 1u);
  // Deleting a user takes their tokens along.
  EXPECT_TRUE(*s->deleteUser(pu->id));
  EXPECT_EQ(s->listTokens()->size(), 0u);
}

TEST_F(SqliteStoreTest, UsersOwnersSessionsAndAudit) {
  auto s = openStore();
  core::User ann;
  ann.username = "ann";
  ann.email = "ann@example.com";
  ann.passwordHash = "$argon2id$x";
  auto a = s->insertUser(ann);
  ASSERT_TRUE(a.ok());
  core::User dup = ann;
  dup.username = "ANN";
  auto d = s->insertUser(dup);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "conflict");
  core::User bob;
  bob.username = "bob";
  auto b = s->insertUser(bob);
  ASSERT_TRUE(b.ok());

  core::Device own;
  own.name = "Ann";
  own.email = "ann@example.com";
  own.extension = "21";
  own.owner = a->id;
  auto dev = s->insertDevice(own);
  ASSERT_TRUE(dev.ok());
  core::Device team;
  team.kind = core::DeviceKind::Team;
  team.name = "Sales";
  team.email = "sales@example.com";
  team.extension = "30";
  team.members = {a->id, b->id};
  auto tdev = s->insertDevice(team);
  ASSERT_TRUE(tdev.ok());
  EXPECT_EQ((*s->device(tdev->id))->members, (std::vector<std::int64_t>{a->id, b->id}));

  core::WebSession ws;
  ws.userId = a->id;
  ws.hash = "h1";
  ws.createdAt = ws.lastSeenAt = 1000;
  ws.expiresAt = 10'000;
  auto sess = s->insertSession(ws);
  ASSERT_TRUE(sess.ok());
  EXPECT_EQ((*s->sessionByHash("h1"))->userId, a->id);
  EXPECT_EQ(*s->pruneSessions(5000, 500), 0);
  EXPECT_EQ(*s->pruneSessions(10'000, 500), 1);
  EXPECT_FALSE(s->sessionByHash("h1")->has_value());

  // Deleting Ann: her device keeps no owner, the team drops her.
  ASSERT_TRUE(*s->deleteUser(a->id));
  EXPECT_FALSE((*s->device(dev->id))->owner.has_value());
  EXPECT_EQ((*s->device(tdev->id))->members, (std::vector<std::int64_t>{b->id}));

  core::AuditEntry e1;
  e1.at = 100;
  e1.userId = b->id;
  e1.action = "fax.send";
  core::AuditEntry e2 = e1;
  e2.at = 200;
  e2.action = "login";
  ASSERT_TRUE(s->insertAudit({e1, e2}).ok());
  core::AuditQuery q;
  EXPECT_EQ(s->listAudit(q)->size(), 2u);
  q.action = "fax.";
  EXPECT_EQ(s->listAudit(q)->size(), 1u);
  q.action = "login";
  EXPECT_EQ(s->listAudit(q)->front().at, 200);
  EXPECT_EQ(*s->pruneAudit(150), 1);
}

TEST_F(SqliteStoreTest, MetaRoundTrip) {
  auto s = openStore();
  EXPECT_FALSE(s->meta("secret")->has_value());
  ASSERT_TRUE(s->setMeta("secret", std::string("a\0b", 3)).ok());
  ASSERT_TRUE(s->setMeta("last_cleanup", "1").ok());
  ASSERT_TRUE(s->setMeta("last_cleanup", "2").ok());
  s = openStore();
  EXPECT_EQ(**s->meta("secret"), std::string("a\0b", 3));
  EXPECT_EQ(**s->meta("last_cleanup"), "2");
}

// --- durability and concurrency

TEST_F(SqliteStoreTest, KillNineRightAfterReturnLosesNothing) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = SqliteStore::open(path_);
    if (!s.ok()) _exit(2);
    Fax f = sampleFax();
    f.tag = "survivor";
    if (!(*s)->insertFax(f).ok()) _exit(3);
    if (!(*s)->setMeta("written", "yes").ok()) _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  auto s = openStore();
  ASSERT_NE(s, nullptr);
  auto list = s->listFaxes({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].tag, "survivor");
  EXPECT_EQ(s->meta("written")->value_or(""), "yes");
}

// Concurrent inserts share transactions (group commit); each still answers for itself: a row that
// fails (a missing device) fails alone, every other is stored once, with an id of its own, and
// survives a reopen.
TEST_F(SqliteStoreTest, ConcurrentInsertsCommitTogetherAndFailAlone) {
  auto s = openStore();
  ASSERT_NE(s, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::int64_t>> ids(kThreads);
  std::vector<int> badRefused(kThreads, 0);
  std::vector<int> unexpected(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Fax f = sampleFax();
        f.deviceId = std::nullopt;
        f.tag = std::to_string(t) + "/" + std::to_string(i);
        const bool bad = i % 10 == 3;
        if (bad) f.deviceId = 4242;  // no such device
        auto in = s->insertFax(f);
        if (bad && !in.ok() && in.error().code == "not_found") {
          ++badRefused[t];
        } else if (!bad && in.ok()) {
          ids[t].push_back(in->id);
        } else {
          ++unexpected[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> unique;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(unexpected[t], 0) << "thread " << t;
    EXPECT_EQ(badRefused[t], kPerThread / 10) << "thread " << t;
    unique.insert(ids[t].begin(), ids[t].end());
  }
  const std::size_t good = kThreads * (kPerThread - kPerThread / 10);
  EXPECT_EQ(unique.size(), good);

  s = openStore();
  FaxQuery q;
  q.limit = 0;
  auto all = s->listFaxes(q);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), good);
  for (const auto& f : *all) {
    EXPECT_TRUE(unique.contains(f.id));
    EXPECT_FALSE(f.deviceId.has_value());
  }
}

TEST_F(SqliteStoreTest, ConcurrentUseFromSeveralThreads) {
  auto s = openStore();
  ASSERT_NE(s, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto dev = s->insertDevice(sampleDevice("t" + std::to_string(t)));
      if (!dev.ok()) ++failures[t];
      for (int i = 0; i < kPerThread; ++i) {
        Fax f = sampleFax();
        if (dev.ok()) f.deviceId = dev->id;
        f.tag = std::to_string(t);
        auto in = s->insertFax(f);
        if (!in.ok()) {
          ++failures[t];
          continue;
        }
        if (!s->insertAttempt(sampleAttempt(in->id, i)).ok()) ++failures[t];
        Fax g = *in;
        g.state = FaxState::Done;
        if (!s->updateFax(g).ok()) ++failures[t];
        FaxQuery q;
        q.limit = 5;
        if (!s->listFaxes(q).ok()) ++failures[t];
        if (!s->setMeta("thread" + std::to_string(t), std::to_string(i)).ok()) ++failures[t];
        if (!s->loadSettings().ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  FaxQuery q;
  q.limit = 0;
  q.states = {FaxState::Done};
  auto all = s->listFaxes(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& f : *all) EXPECT_EQ(f.attempts.size(), 1u);
  EXPECT_EQ(s->listDevices()->size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(**s->meta("thread0"), std::to_string(kPerThread - 1));
}

// GET /faxes?q=&since=&until= over 10,000 faxes: the right rows, and plans that use the indexes
// (no timing: the plan is what keeps it fast).
TEST_F(SqliteStoreTest, TenThousandFaxesSearchAndTimeRange) {
  auto s = openStore();
  ASSERT_TRUE(s);
  // One transaction of generated rows: fax i is created at 1,000,000 + i*60,000 (a minute apart),
  // from +4989000<i>, every 100th with the remote id "ACME Corp <i>".
  rawExec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
      "INSERT INTO faxes (direction, state, number, remote_id, created_at, updated_at) "
      "SELECT CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, "
      "CASE WHEN i % 2 = 0 THEN 'received' ELSE 'done' END, '+4989000' || i, "
      "CASE WHEN i % 100 = 0 THEN 'ACME Corp ' || i ELSE '' END, "
      "1000000 + i * 60000, 1000000 + i * 60000 FROM n");
  ASSERT_EQ(rawInt("SELECT COUNT(*) FROM faxes"), 10000);

  FaxQuery q;
  q.limit = 0;
  q.withAttempts = false;
  q.text = "acme";  // any case
  auto r = s->listFaxes(q);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 100u);
  EXPECT_EQ(r->front().remoteId, "ACME Corp 10000");  // newest first

  q.text = "+49890001234";
  r = s->listFaxes(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().number, "+49890001234");

  q.text = "%";  // a wildcard is taken as text: no number contains it
  EXPECT_TRUE(s->listFaxes(q)->empty());

  FaxQuery range;
  range.limit = 0;
  range.withAttempts = false;
  range.since = 1000000 + 101 * 60000;  // faxes 101 .. 200
  range.until = 1000000 + 201 * 60000;
  r = s->listFaxes(range);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 100u);
  EXPECT_EQ(r->front().createdAt, 1000000 + 200 * 60000);
  EXPECT_EQ(r->back().createdAt, 1000000 + 101 * 60000);

  range.text = "acme";
  range.direction = Direction::In;
  r = s->listFaxes(range);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().remoteId, "ACME Corp 200");

  // The plans: a time window reads the created_at index (then sorts only its rows); a page without
  // one walks the primary key newest first and stops at the limit, never sorting the table.
  FaxQuery page;
  page.limit = 50;
  auto plan = s->explainListFaxes(page);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->find("TEMP B-TREE"), std::string::npos) << *plan;

  FaxQuery since;  // one bound: either its index or the walk newest first, which stops at the limit
  since.since = 1000000 + 9000 * 60000;
  plan = s->explainListFaxes(since);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->find("faxes_by_created") != std::string::npos ||
              plan->find("TEMP B-TREE") == std::string::npos)
      << *plan;

  FaxQuery window = range;
  window.direction.reset();
  window.text.clear();
  plan = s->explainListFaxes(window);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("faxes_by_created"), std::string::npos) << *plan;

  FaxQuery search;
  search.text = "acme";
  search.direction = Direction::In;
  plan = s->explainListFaxes(search);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("faxes_by_direction"), std::string::npos) << *plan;
  EXPECT_EQ(plan->find("TEMP B-TREE"), std::string::npos) << *plan;

  FaxQuery visible;  // a user's view: their devices' index
  visible.deviceIds = std::vector<std::int64_t>{1, 2};
  visible.text = "acme";
  plan = s->explainListFaxes(visible);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("faxes_by_device"), std::string::npos) << *plan;
}

}  // namespace
}  // namespace vfax::store
