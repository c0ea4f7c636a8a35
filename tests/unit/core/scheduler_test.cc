// The scheduler behind core::Service, with the real SQLite store and the real document converter.
// The telephony side is scripted: it injects call outcomes (busy, incompatible, ...) on purpose and
// holds calls open where a test needs lines in use.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "core/service.h"
#include "documents/document_converter.h"
#include "store/sqlite_store.h"

namespace vfax {
namespace {

namespace fs = std::filesystem;
using core::CallResult;
using core::FaxState;
using core::OutcomeClass;

class ScriptedTelephony final : public core::Telephony {
 public:
  void setEvents(core::CallEvents* e) override { events_ = e; }
  void start() override {}
  void stop() override {}
  int activeCalls() const override {
    std::lock_guard l(m_);
    return static_cast<int>(open_.size());
  }
  std::vector<core::TrunkStatus> trunkStatus() const override { return {}; }

  void placeCall(const core::OutboundCall& call) override {
    std::unique_lock l(m_);
    placed_.push_back(call);
    if (!script_.empty()) {
      const auto [cls, reason] = script_.front();
      script_.pop_front();
      l.unlock();
      finish(call.faxId, cls, cls == OutcomeClass::Ok ? pagesOnOk : 0, reason);
      return;
    }
    open_.push_back(call.faxId);
    maxOpen_ = std::max(maxOpen_, static_cast<int>(open_.size()));
    cv_.notify_all();
  }
  void hangup(std::int64_t faxId) override {
    hangups_.push_back(faxId);
    release(faxId, OutcomeClass::Canceled, pagesOnHangup);
  }

  void script(std::initializer_list<OutcomeClass> outcomes) {
    std::lock_guard l(m_);
    for (auto cls : outcomes) script_.emplace_back(cls, "");
  }
  // One outcome with the reason the telephony layer gives.
  void script(OutcomeClass cls, const std::string& reason) {
    std::lock_guard l(m_);
    script_.emplace_back(cls, reason);
  }
  // Ends a held call.
  void release(std::int64_t faxId, OutcomeClass cls, int pages) {
    {
      std::lock_guard l(m_);
      auto it = std::find(open_.begin(), open_.end(), faxId);
      if (it == open_.end()) return;
      open_.erase(it);
    }
    finish(faxId, cls, pages);
  }
  bool waitOpen(size_t n) {
    std::unique_lock l(m_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return open_.size() >= n; });
  }
  std::vector<std::int64_t> open() {
    std::lock_guard l(m_);
    return open_;
  }
  std::vector<core::OutboundCall> placed() {
    std::lock_guard l(m_);
    return placed_;
  }
  int maxOpen() {
    std::lock_guard l(m_);
    return maxOpen_;
  }
  core::CallEvents* events() { return events_; }

  int pagesOnOk = 1;
  int pagesOnHangup = 0;  // pages the receiver had confirmed when we hang up
  std::vector<std::int64_t> hangups_;

 private:
  void finish(std::int64_t faxId, OutcomeClass cls, int pages, const std::string& reason = {}) {
    CallResult r;
    r.outcome = {
        cls, 0,
        reason.empty() ? std::string("scripted ") + std::string(core::toString(cls)) : reason};
    r.pages = pages;
    events_->onOutboundFinished(faxId, r);
  }

  mutable std::mutex m_;
  std::condition_variable cv_;
  core::CallEvents* events_ = nullptr;
  std::deque<std::pair<OutcomeClass, std::string>> script_;
  std::vector<std::int64_t> open_;
  std::vector<core::OutboundCall> placed_;
  int maxOpen_ = 0;
};

// The system clock, moved forward on demand (a back-off of an hour passes at once).
class OffsetClock final : public core::Clock {
 public:
  core::Millis now() const override { return system_.now() + offset_.load(); }
  void advance(core::Millis ms) { offset_ += ms; }

 private:
  core::SystemClock system_;
  std::atomic<core::Millis> offset_{0};
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vfax-sched-XXXXXX";
    dir_ = mkdtemp(tmpl);
    pdf_ = dir_ + "/one.pdf";
    std::ofstream(dir_ + "/one.ps") << "%!PS\n/Helvetica findfont 20 scalefont setfont\n"
                                       "72 700 moveto (scheduler test) show showpage\n";
    ASSERT_EQ(0, system(("gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile=" + pdf_ +
                         " " + dir_ + "/one.ps")
                            .c_str()));
    auto s = store::SqliteStore::open(dir_ + "/vfax.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    documents::ConverterOptions o;
    o.converterPath = std::string(VFAX_BINARY_DIR) + "/bin/vfax-convert";
    converter_ = std::make_unique<documents::DocumentConverter>(o);
  }
  void TearDown() override {
    if (service_) service_->stop();
    service_.reset();
    fs::remove_all(dir_);
  }

  void startService(std::map<std::string, std::string> settings = {}) {
    core::ServiceOptions o;
    o.dataDir = dir_;
    o.retryBusy = o.retryNoAnswer = o.retryDropped = o.retryOther = 0;
    o.retryUnavailable = retryUnavailable_;
    o.retryUnavailableMax = retryUnavailableMax_;
    service_ = std::make_unique<core::Service>(*store_, *converter_, telephony_, clock_, o);
    if (observer_) service_->addObserver(observer_);
    ASSERT_TRUE(service_->start());
    if (!settings.empty()) {
      ASSERT_TRUE(service_->updateSettings(settings));
    }
  }

  /// The same store and data dir after a crash or a stop: a new service on `telephony`.
  std::unique_ptr<core::Service> restartWith(ScriptedTelephony& telephony) {
    core::ServiceOptions o;
    o.dataDir = dir_;
    auto s = std::make_unique<core::Service>(*store_, *converter_, telephony, clock_, o);
    EXPECT_TRUE(s->start());
    return s;
  }

  core::Fax submit(const std::string& to, int priority = 0) {
    const std::string staged = dir_ + "/upload-" + std::to_string(counter_++) + ".pdf";
    fs::copy_file(pdf_, staged);
    core::SubmitRequest req;
    req.to = to;
    req.priority = priority;
    req.files.push_back({"one.pdf", staged});
    auto f = service_->submit(req);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    return f ? *f : core::Fax{};
  }

  core::Fax waitState(std::int64_t id, std::initializer_list<FaxState> states) {
    for (int i = 0; i < 600; ++i) {
      auto f = service_->get(id);
      if (f && std::find(states.begin(), states.end(), f->state) != states.end()) return *f;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "fax " << id << " never reached the expected state";
    return *service_->get(id);
  }

  // A job as the store holds it after a conversion (or a crash), without going through submit.
  std::int64_t storeJob(FaxState state, const std::string& dialString, int priority = 0,
                        core::Millis nextAttemptAt = 0, int attemptCount = 0) {
    core::Fax f;
    f.direction = core::Direction::Out;
    f.state = state;
    f.number = "+49" + dialString;
    f.dialString = dialString;
    f.priority = priority;
    f.pagesTotal = 1;
    f.attemptCount = attemptCount;
    f.nextAttemptAt = nextAttemptAt;
    f.createdAt = f.updatedAt = clock_.now();
    auto stored = store_->insertFax(f);
    EXPECT_TRUE(stored);
    return stored ? stored->id : 0;
  }

  void saveSettings(int totalLines, int reservedInbound) {
    auto settings = store_->loadSettings();
    ASSERT_TRUE(settings);
    settings->totalLines = totalLines;
    settings->reservedInboundLines = reservedInbound;
    ASSERT_TRUE(store_->saveSettings(*settings));
  }

  std::string dir_;
  std::string pdf_;
  int counter_ = 0;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<documents::DocumentConverter> converter_;
  ScriptedTelephony telephony_;
  OffsetClock clock_;
  core::Millis retryUnavailable_ = 0;
  core::Millis retryUnavailableMax_ = 0;
  core::FaxObserver* observer_ = nullptr;  // added before the service starts
  std::unique_ptr<core::Service> service_;
};

// What an observer hears, as lines: "state <fax> <state>", "progress <fax> <pages> <remote id>",
// "deleted <fax>".
class RecordingObserver final : public core::FaxObserver {
 public:
  void onFaxStateChanged(const core::Fax& f, FaxState) override {
    add("state " + std::to_string(f.id) + " " + std::string(core::toString(f.state)));
  }
  void onFaxProgress(const core::Fax& f) override {
    add("progress " + std::to_string(f.id) + " " + std::to_string(f.pages) + " " + f.remoteId);
  }
  void onFaxDeleted(const core::Fax& f) override { add("deleted " + std::to_string(f.id)); }
  std::vector<std::string> heard() {
    std::lock_guard l(m_);
    return heard_;
  }

 private:
  void add(std::string s) {
    std::lock_guard l(m_);
    heard_.push_back(std::move(s));
  }
  std::mutex m_;
  std::vector<std::string> heard_;
};

TEST_F(SchedulerTest, BusyIsRetriedThenDone) {
  startService();
  telephony_.script({OutcomeClass::Busy, OutcomeClass::NoAnswer, OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  EXPECT_EQ(job.number, "+49301234567");
  EXPECT_EQ(job.dialString, "00301234567");  // outside line 0, national 0, area 30
  auto done = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(done.state, FaxState::Done) << done.error;
  ASSERT_EQ(done.attempts.size(), 3u);
  EXPECT_EQ(done.attempts[0].outcome, OutcomeClass::Busy);
  EXPECT_EQ(done.attempts[1].outcome, OutcomeClass::NoAnswer);
  EXPECT_EQ(done.attempts[2].outcome, OutcomeClass::Ok);
  EXPECT_EQ(done.pages, 1);
  EXPECT_EQ(done.pagesTotal, 1);
}

TEST_F(SchedulerTest, AttemptsRunOut) {
  startService({{"send_attempts", "2"}});
  telephony_.script({OutcomeClass::Busy, OutcomeClass::Busy, OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  auto f = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(f.state, FaxState::Failed);
  EXPECT_EQ(f.attempts.size(), 2u);
  EXPECT_NE(f.error.find("busy"), std::string::npos) << f.error;
}

TEST_F(SchedulerTest, IncompatibleIsNotRetried) {
  startService();
  telephony_.script({OutcomeClass::Incompatible, OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  auto f = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(f.state, FaxState::Failed);
  EXPECT_EQ(f.attempts.size(), 1u);
}

TEST_F(SchedulerTest, NotDoneUntilEveryPageIsConfirmed) {
  startService({{"send_attempts", "1"}});
  telephony_.pagesOnOk = 0;  // the receiver confirmed nothing although the call ended normally
  telephony_.script({OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  auto f = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(f.state, FaxState::Failed);
  EXPECT_NE(f.error.find("0 of 1"), std::string::npos) << f.error;
}

TEST_F(SchedulerTest, OutboundLineLimitAndPriority) {
  startService({{"total_lines", "3"}, {"reserved_inbound_lines", "1"}});
  // Two calls take both outbound lines (3 lines, 1 reserved for inbound).
  auto x1 = submit("+49 30 9000001");
  auto x2 = submit("+49 30 9000002");
  ASSERT_TRUE(telephony_.waitOpen(2));
  auto low = submit("+49 30 1111111", 0);
  auto a = submit("+49 30 2222222", 5);
  auto b = submit("+49 30 3333333", 5);
  auto urgent = submit("+49 30 4444444", 9);
  for (auto id : {low.id, a.id, b.id, urgent.id}) waitState(id, {FaxState::Waiting});
  EXPECT_EQ(telephony_.open().size(), 2u);

  // With both outbound lines up, an inbound call still gets the reserved line; a second is busy.
  std::promise<core::InboundDecision> first, second;
  telephony_.events()->onInboundOffered({"999", "123", "", "test"},
                                        [&](core::InboundDecision d) { first.set_value(d); });
  auto d1 = first.get_future().get();
  EXPECT_TRUE(d1.accept);
  telephony_.events()->onInboundOffered({"999", "123", "", "test"},
                                        [&](core::InboundDecision d) { second.set_value(d); });
  auto d2 = second.get_future().get();
  EXPECT_FALSE(d2.accept);
  EXPECT_EQ(d2.rejectReason.cls, OutcomeClass::Busy);
  core::CallResult in;
  in.outcome = {OutcomeClass::Dropped, 0, "test"};
  telephony_.events()->onInboundFinished(d1.faxId, in);

  // Freed lines go to the highest priority first, then to the older of equal ones.
  telephony_.release(x1.id, OutcomeClass::Ok, 1);
  telephony_.release(x2.id, OutcomeClass::Ok, 1);
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(telephony_.waitOpen(2));
    for (auto id : telephony_.open()) telephony_.release(id, OutcomeClass::Ok, 1);
  }
  auto placed = telephony_.placed();
  ASSERT_EQ(placed.size(), 6u);
  EXPECT_EQ(placed[2].faxId, urgent.id);
  EXPECT_EQ(placed[3].faxId, a.id);
  EXPECT_EQ(placed[4].faxId, b.id);
  EXPECT_EQ(placed[5].faxId, low.id);
  for (auto id : {low.id, a.id, b.id, urgent.id}) {
    EXPECT_EQ(waitState(id, {FaxState::Done, FaxState::Failed}).state, FaxState::Done);
  }
  EXPECT_EQ(telephony_.maxOpen(), 2);
}

TEST_F(SchedulerTest, OneCallAtATimeToTheSameNumber) {
  startService();
  auto a = submit("+49 30 5555555");
  auto b = submit("+49 30 5555555");
  ASSERT_TRUE(telephony_.waitOpen(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(telephony_.open().size(), 1u);
  telephony_.release(a.id, OutcomeClass::Ok, 1);
  ASSERT_TRUE(telephony_.waitOpen(1));
  telephony_.release(b.id, OutcomeClass::Ok, 1);
  EXPECT_EQ(waitState(b.id, {FaxState::Done}).state, FaxState::Done);
}

TEST_F(SchedulerTest, CancelDuringACall) {
  startService();
  auto job = submit("+49 30 6666666");
  ASSERT_TRUE(telephony_.waitOpen(1));
  auto c = service_->cancel(job.id);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->state, FaxState::Canceled);
  auto f = waitState(job.id, {FaxState::Canceled});
  EXPECT_EQ(telephony_.hangups_.size(), 1u);
  auto again = service_->cancel(job.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "conflict");
}

TEST_F(SchedulerTest, DeleteOfAnActiveJobCancelsItThenDeletesIt) {
  startService();
  auto job = submit("+49 30 6666666");
  ASSERT_TRUE(telephony_.waitOpen(1));
  auto r = service_->remove(job.id);  // a call is up: canceled, never deleted under it
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->state, FaxState::Canceled);
  EXPECT_EQ(telephony_.hangups_.size(), 1u);
  waitState(job.id, {FaxState::Canceled});
  const std::string folder = dir_ + "/faxes/" + std::to_string(job.id);
  EXPECT_TRUE(fs::exists(folder));
  r = service_->remove(job.id);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(service_->get(job.id).error().code, "not_found");
  EXPECT_FALSE(fs::exists(folder));
  EXPECT_EQ(service_->remove(job.id).error().code, "not_found");
}

TEST_F(SchedulerTest, ResendSendsTheSamePagesWithoutConverting) {
  startService();
  telephony_.script({OutcomeClass::Ok, OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  ASSERT_EQ(waitState(job.id, {FaxState::Done, FaxState::Failed}).state, FaxState::Done);
  core::Caller admin;
  admin.role = core::Role::Admin;
  auto again = service_->resend(admin, job.id, "");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->number, job.number);
  EXPECT_EQ(again->pagesTotal, 1);
  EXPECT_EQ(again->sourceFiles, std::vector<std::string>{core::kReadySource});
  auto done = waitState(again->id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(done.state, FaxState::Done) << done.error;
  EXPECT_EQ(done.pagesTotal, 1);
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string first = read(dir_ + "/faxes/" + std::to_string(job.id) + "/fax.tif");
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(read(dir_ + "/faxes/" + std::to_string(again->id) + "/fax.tif"), first);
  // Another number must be one the policy allows, like any fax.
  auto bad = service_->resend(admin, job.id, "not a number");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_number");
}

TEST_F(SchedulerTest, ObserversHearStatesProgressAndDeletions) {
  RecordingObserver heard;
  observer_ = &heard;
  startService();
  auto job = submit("+49 30 6666666");
  ASSERT_TRUE(telephony_.waitOpen(1));
  const std::string id = std::to_string(job.id);
  auto* events = telephony_.events();
  events->onOutboundAnswered(job.id);
  events->onOutboundProgress(job.id, 0, "+49 30 999");  // the remote id learned
  events->onOutboundProgress(job.id, 0, "+49 30 999");  // nothing new: not told
  telephony_.release(job.id, OutcomeClass::Ok, 1);
  waitState(job.id, {FaxState::Done});
  clock_.advance(1000);
  ASSERT_TRUE(service_->cleanup(0));
  const std::vector<std::string> want{
      "state " + id + " queued",  "state " + id + " converting",
      "state " + id + " waiting", "state " + id + " dialing",
      "state " + id + " sending", "progress " + id + " 0 +49 30 999",
      "state " + id + " done",    "deleted " + id};
  EXPECT_EQ(heard.heard(), want);
}

TEST_F(SchedulerTest, CallCutByACrashIsAFailedAttemptAndResumes) {
  startService();
  auto job = submit("+49 30 7777777");
  ASSERT_TRUE(telephony_.waitOpen(1));
  // Simulate the crash: the process goes away without the call ending; a new service starts on
  // the same store and data dir.
  service_.reset();
  ScriptedTelephony fresh;
  fresh.script({OutcomeClass::Ok});
  auto s2 = restartWith(fresh);
  core::Fax f;
  for (int i = 0; i < 600; ++i) {
    f = *s2->get(job.id);
    if (f.state == FaxState::Done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  s2->stop();
  EXPECT_EQ(f.state, FaxState::Done);
  ASSERT_EQ(f.attempts.size(), 2u);
  EXPECT_EQ(f.attempts[0].outcome, OutcomeClass::Dropped);
  EXPECT_NE(f.attempts[0].reason.find("restart"), std::string::npos);
}

TEST_F(SchedulerTest, CancelAfterTheLastPageWasConfirmedIsDone) {
  startService();
  telephony_.pagesOnHangup = 1;  // MCF for the only page came before the cancel
  auto job = submit("+49 30 6666667");
  ASSERT_TRUE(telephony_.waitOpen(1));
  ASSERT_TRUE(service_->cancel(job.id));
  EXPECT_EQ(waitState(job.id, {FaxState::Done}).state, FaxState::Done);
}

// A crash after the attempt was recorded as delivered, before the job said `done`: no second call.
TEST_F(SchedulerTest, CrashAfterDeliveryIsDoneWithoutCallingAgain) {
  startService();
  auto job = submit("+49 30 7777778");
  ASSERT_TRUE(telephony_.waitOpen(1));
  service_.reset();
  auto f = store_->fax(job.id);
  ASSERT_TRUE(f && *f);
  ASSERT_EQ((*f)->attempts.size(), 1u);
  core::Attempt a = (*f)->attempts[0];
  a.finished = true;
  a.outcome = OutcomeClass::Ok;
  a.pages = 1;
  a.endedAt = a.startedAt + 1000;
  ASSERT_TRUE(store_->updateAttempt(a));

  ScriptedTelephony fresh;
  auto s2 = restartWith(fresh);
  auto after = *s2->get(job.id);
  s2->stop();
  EXPECT_EQ(after.state, FaxState::Done);
  EXPECT_EQ(fresh.placed().size(), 0u);
}

// A crash after the receiver confirmed the last page, before the call ended: the confirmation was
// saved, so the job is done and not sent a second time (found by the chaos test).
TEST_F(SchedulerTest, CrashAfterTheLastConfirmationIsDoneWithoutCallingAgain) {
  startService();
  auto job = submit("+49 30 7777779");
  ASSERT_TRUE(telephony_.waitOpen(1));
  telephony_.events()->onOutboundProgress(job.id, 1, "+49 30 7777779");
  for (int i = 0; i < 600 && service_->get(job.id)->pages < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(service_->get(job.id)->pages, 1);
  service_.reset();

  ScriptedTelephony fresh;
  auto s2 = restartWith(fresh);
  auto after = *s2->get(job.id);
  s2->stop();
  EXPECT_EQ(after.state, FaxState::Done);
  EXPECT_EQ(after.pages, 1);
  EXPECT_EQ(fresh.placed().size(), 0u);
  ASSERT_EQ(after.attempts.size(), 1u);
  EXPECT_EQ(after.attempts[0].outcome, OutcomeClass::Dropped);  // the call itself was cut
  EXPECT_EQ(after.attempts[0].pages, 1);
}

// A crash between storing a job and moving its documents in place (its submitter got no answer):
// the start removes the record, so that the submitter's retry makes the one job (found by the chaos
// test: such a job used to fail with "cannot be read" beside the retried one).
TEST_F(SchedulerTest, JobCutBeforeItsDocumentsWereInPlaceIsRemovedAtStart) {
  const auto cut = storeJob(FaxState::Queued, "307777780");
  const auto kept = storeJob(FaxState::Queued, "307777781");
  fs::create_directories(dir_ + "/faxes/" + std::to_string(kept));
  fs::copy_file(pdf_, dir_ + "/faxes/" + std::to_string(kept) + "/source-1.pdf");
  auto k = store_->fax(kept);
  ASSERT_TRUE(k && *k);
  core::Fax withSource = **k;
  withSource.sourceFiles = {"source-1.pdf"};
  ASSERT_TRUE(store_->updateFax(withSource));
  startService();
  auto gone = store_->fax(cut);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  EXPECT_EQ(waitState(kept, {FaxState::Dialing, FaxState::Sending}).state, FaxState::Dialing);
}

// A fax received in full whose PDF was not made yet when vfaxd stopped is `received`, not failed.
TEST_F(SchedulerTest, InboundReceivedInFullSurvivesAStopBeforeItsPdf) {
  startService();
  std::promise<core::InboundDecision> offered;
  telephony_.events()->onInboundOffered({"500", "+4930123", "", "test"},
                                        [&](core::InboundDecision d) { offered.set_value(d); });
  auto d = offered.get_future().get();
  ASSERT_TRUE(d.accept);
  core::CallResult r;
  r.outcome = {OutcomeClass::Ok, 0, "OK"};
  r.pages = 2;
  telephony_.events()->onInboundFinished(d.faxId, r);
  service_->stop();
  service_.reset();
  ScriptedTelephony fresh;
  auto s2 = restartWith(fresh);
  core::Fax f;
  for (int i = 0; i < 200; ++i) {
    f = *s2->get(d.faxId);
    if (f.state != FaxState::Receiving) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  s2->stop();
  EXPECT_EQ(f.state, FaxState::Received) << f.error;
  EXPECT_EQ(f.pages, 2);
}

TEST_F(SchedulerTest, BadSubmissionsCreateNothing) {
  startService();
  core::SubmitRequest req;
  req.to = "+49 30 1234567";
  auto r = service_->submit(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "no_file");
  const std::string staged = dir_ + "/bad.pdf";
  fs::copy_file(pdf_, staged);
  req.files.push_back({"bad.pdf", staged});
  req.to = "not a number";
  r = service_->submit(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_number");
  EXPECT_FALSE(fs::exists(staged));  // uploads are removed on any error
  auto all = service_->list(core::FaxQuery{});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(SchedulerTest, DestinationPolicyRefusesAtSubmit) {
  startService();
  const std::string staged = dir_ + "/premium.pdf";
  fs::copy_file(pdf_, staged);
  core::SubmitRequest req;
  req.files.push_back({"premium.pdf", staged});
  req.to = "0 0900 1234567";
  auto r = service_->submit(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "destination_not_allowed");
  EXPECT_NE(r.error().message.find("premium-rate"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(staged));
  auto all = service_->list(core::FaxQuery{});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(telephony_.placed().empty());
}

TEST_F(SchedulerTest, CheckNumberSaysWhyAndOwnExtensionsAreAlwaysAllowed) {
  startService({{"allowed_destinations", "+43"}});
  core::Device d;
  d.name = "Sales";
  d.email = "sales@example.test";
  d.extension = "100";
  ASSERT_TRUE(service_->addDevice(d));
  auto own = service_->checkNumber("100");
  ASSERT_TRUE(own);
  EXPECT_TRUE(own->valid && own->allowed && own->number.internal);
  EXPECT_EQ(own->number.dialString, "100");
  auto munich = service_->checkNumber("089 123456");
  ASSERT_TRUE(munich);
  EXPECT_TRUE(munich->valid);
  EXPECT_FALSE(munich->allowed);
  EXPECT_EQ(munich->reasonCode, "destination_not_allowed");
  EXPECT_NE(munich->reason.find("allowed destinations (+43"), std::string::npos) << munich->reason;
  auto bad = service_->checkNumber("+49 20");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->valid);
  EXPECT_EQ(bad->reasonCode, "invalid_number");
  EXPECT_EQ(bad->asYouType, "+49 20");
  // An internal job is dialled although the policy allows only Austria.
  auto job = submit("100");
  EXPECT_EQ(job.extension, "100");
}

// A job accepted under a wide policy meets the narrower one before it is dialled: it fails with
// destination_not_allowed and no call is placed.
TEST_F(SchedulerTest, TightenedPolicyFailsAQueuedJobWithoutACall) {
  startService(
      {{"allowed_destinations", "+"}, {"total_lines", "2"}, {"reserved_inbound_lines", "1"}});
  auto first = submit("+49 30 1234567");  // holds the only outbound line
  ASSERT_TRUE(telephony_.waitOpen(1));
  auto vienna = submit("+43 1 2345678");
  waitState(vienna.id, {FaxState::Waiting});
  ASSERT_TRUE(service_->updateSettings({{"allowed_destinations", ""}}));  // back to +49 only
  telephony_.release(first.id, OutcomeClass::Ok, 1);
  auto f = waitState(vienna.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(f.state, FaxState::Failed);
  EXPECT_EQ(f.error.rfind("destination_not_allowed: ", 0), 0u) << f.error;
  EXPECT_NE(f.error.find("allowed destinations (+49"), std::string::npos) << f.error;
  EXPECT_TRUE(f.attempts.empty());
  EXPECT_EQ(f.attemptCount, 0);
  const auto placed = telephony_.placed();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].faxId, first.id);
}

// Once vfaxd stops, what needs the scheduler thread answers a clear error instead of waiting.
TEST_F(SchedulerTest, AfterStopCallsAnswerUnavailable) {
  startService();
  telephony_.script({OutcomeClass::Busy});
  auto job = submit("+49 30 1234567");
  service_->stop();

  const std::string staged = dir_ + "/late.pdf";
  fs::copy_file(pdf_, staged);
  core::SubmitRequest req;
  req.to = "+49 30 1234567";
  req.files.push_back({"late.pdf", staged});
  auto late = service_->submit(req);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, "unavailable");
  EXPECT_EQ(late.error().message, "vfaxd is stopping");
  EXPECT_FALSE(fs::exists(staged));  // the upload is not left behind

  auto cancel = service_->cancel(job.id);
  ASSERT_FALSE(cancel);
  EXPECT_EQ(cancel.error().code, "unavailable");
  auto cleanup = service_->cleanup(0);
  ASSERT_FALSE(cleanup);
  EXPECT_EQ(cleanup.error().code, "unavailable");

  auto all = service_->list(core::FaxQuery{});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);  // only the job accepted before the stop
}

// A caller waiting on a scheduler that never started is answered when it stops (before, its task
// stayed in the queue and the caller waited for ever).
TEST_F(SchedulerTest, StopWithoutStartAnswersWaitingCallers) {
  core::ServiceOptions o;
  o.dataDir = dir_;
  service_ = std::make_unique<core::Service>(*store_, *converter_, telephony_, clock_, o);
  auto waiting = std::async(std::launch::async, [this] { return service_->cleanup(0); });
  service_->stop();
  auto r = waiting.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unavailable");
}

// Temporary trunk trouble placed no call: the job waits, spends no attempt, keeps no attempt row
// and says what it waits for; once a call is placed it goes on as usual.
TEST_F(SchedulerTest, UnavailableWaitsWithoutSpendingAnAttempt) {
  retryUnavailable_ = retryUnavailableMax_ = 3'600'000;  // stays waiting until the clock moves
  startService({{"send_attempts", "1"}});
  const std::string why = "waiting for IAX2 peer 'pbx' to register";
  telephony_.script(OutcomeClass::Unavailable, why);
  auto job = submit("+49 30 1234567");
  core::Fax waiting;
  for (int i = 0; i < 600; ++i) {
    waiting = *service_->get(job.id);
    // The row goes right after the job is saved as waiting.
    if (waiting.state == FaxState::Waiting && !waiting.error.empty() && waiting.attempts.empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(waiting.state, FaxState::Waiting);
  EXPECT_EQ(waiting.error, why);
  EXPECT_EQ(waiting.attemptCount, 0);
  EXPECT_TRUE(waiting.attempts.empty());  // the row placeCall wrote is gone
  EXPECT_GT(waiting.nextAttemptAt, clock_.now());
  EXPECT_EQ(telephony_.placed().size(), 1u);

  telephony_.script({OutcomeClass::Ok});
  clock_.advance(2 * 3'600'000);
  ASSERT_TRUE(service_->updateSettings({{"send_attempts", "1"}}));  // wakes the scheduler
  auto done = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(done.state, FaxState::Done) << done.error;
  EXPECT_EQ(done.attemptCount, 1);
  ASSERT_EQ(done.attempts.size(), 1u);
  EXPECT_EQ(done.attempts[0].outcome, OutcomeClass::Ok);
  EXPECT_TRUE(done.error.empty()) << done.error;
  EXPECT_EQ(telephony_.placed().size(), 2u);
}

// However often the trunk is unavailable, the job never fails for it, even with one send attempt.
TEST_F(SchedulerTest, UnavailableNeverFailsTheJob) {
  retryUnavailable_ = 1;
  retryUnavailableMax_ = 4;
  startService({{"send_attempts", "1"}});
  for (int i = 0; i < 6; ++i) telephony_.script(OutcomeClass::Unavailable, "trunk not bound");
  telephony_.script({OutcomeClass::Ok});
  auto job = submit("+49 30 1234567");
  auto f = waitState(job.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(f.state, FaxState::Done) << f.error;
  EXPECT_EQ(f.attemptCount, 1);
  ASSERT_EQ(f.attempts.size(), 1u);
  EXPECT_EQ(telephony_.placed().size(), 7u);
}

// A crash while an attempt that placed no call was being undone: recovery finishes the undoing,
// whether the job had been saved as waiting yet or not.
TEST_F(SchedulerTest, RecoveryUndoesAnAttemptThatPlacedNoCall) {
  auto settings = store_->loadSettings();
  ASSERT_TRUE(settings);
  settings->sendAttempts = 1;
  ASSERT_TRUE(store_->saveSettings(*settings));
  auto crashed = [&](FaxState state, int attemptCount, const std::string& number) {
    const auto id = storeJob(state, number, 0, 0, attemptCount);
    core::Attempt a;
    a.faxId = id;
    a.startedAt = clock_.now();
    a.endedAt = a.startedAt;
    a.finished = true;
    a.outcome = OutcomeClass::Unavailable;
    a.reason = "peer 'pbx' unreachable";
    EXPECT_TRUE(store_->insertAttempt(a));
    return id;
  };
  const auto notSaved = crashed(FaxState::Dialing, 1, "0301111111");  // crash before the job's save
  const auto saved = crashed(FaxState::Waiting, 0, "0302222222");  // ... before the row's removal
  telephony_.script({OutcomeClass::Ok, OutcomeClass::Ok});
  startService();
  for (auto id : {notSaved, saved}) {
    auto f = waitState(id, {FaxState::Done, FaxState::Failed});
    EXPECT_EQ(f.state, FaxState::Done) << f.error;
    EXPECT_EQ(f.attemptCount, 1);
    ASSERT_EQ(f.attempts.size(), 1u);
    EXPECT_EQ(f.attempts[0].outcome, OutcomeClass::Ok);
  }
}

// Jobs found waiting at start go out by priority, then age, one line at a time.
TEST_F(SchedulerTest, WaitingJobsGoByPriorityThenAge) {
  saveSettings(2, 1);  // one outbound line
  const auto low1 = storeJob(FaxState::Waiting, "0301000001", 0);
  const auto mid1 = storeJob(FaxState::Waiting, "0301000002", 5);
  const auto low2 = storeJob(FaxState::Waiting, "0301000003", 0);
  const auto mid2 = storeJob(FaxState::Waiting, "0301000004", 5);
  const auto top = storeJob(FaxState::Waiting, "0301000005", 9);
  const auto negative = storeJob(FaxState::Waiting, "0301000006", -3);
  telephony_.script({OutcomeClass::Ok, OutcomeClass::Ok, OutcomeClass::Ok, OutcomeClass::Ok,
                     OutcomeClass::Ok, OutcomeClass::Ok});
  startService();
  for (auto id : {low1, mid1, low2, mid2, top, negative}) {
    EXPECT_EQ(waitState(id, {FaxState::Done, FaxState::Failed}).state, FaxState::Done);
  }
  std::vector<std::int64_t> order;
  for (const auto& c : telephony_.placed()) order.push_back(c.faxId);
  EXPECT_EQ(order, (std::vector<std::int64_t>{top, mid1, mid2, low1, low2, negative}));
}

// A job created while many others wait (most not due, some due) is dispatched at once; each due
// job is called exactly once, and none of those not due is touched.
TEST_F(SchedulerTest, JobCreatedWhileManyOthersWait) {
  saveSettings(40, 0);
  const core::Millis later = clock_.now() + 3'600'000;
  std::set<std::int64_t> notDue;
  for (int i = 0; i < 1000; ++i) {
    notDue.insert(storeJob(FaxState::Waiting, "0302" + std::to_string(100000 + i), 0, later));
  }
  std::vector<std::int64_t> due;
  for (int i = 0; i < 20; ++i) {
    due.push_back(storeJob(FaxState::Waiting, "0303" + std::to_string(100000 + i), i % 3));
  }
  for (int i = 0; i < 21; ++i) telephony_.script({OutcomeClass::Ok});
  startService();
  auto fresh = submit("+49 30 4444444");
  EXPECT_EQ(waitState(fresh.id, {FaxState::Done, FaxState::Failed}).state, FaxState::Done);
  for (auto id : due) {
    EXPECT_EQ(waitState(id, {FaxState::Done, FaxState::Failed}).attemptCount, 1);
  }
  std::set<std::int64_t> placed;
  for (const auto& c : telephony_.placed()) {
    EXPECT_TRUE(placed.insert(c.faxId).second) << "fax " << c.faxId << " dispatched twice";
    EXPECT_FALSE(notDue.contains(c.faxId)) << "fax " << c.faxId << " is not due yet";
  }
  EXPECT_EQ(placed.size(), 21u);
  auto waiting = service_->list(core::FaxQuery{.direction = core::Direction::Out,
                                               .states = {FaxState::Waiting},
                                               .deviceId = std::nullopt,
                                               .deviceIds = std::nullopt,
                                               .beforeId = 0,
                                               .limit = 0,
                                               .withAttempts = false});
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->size(), 1000u);
}

// Print-to-Fax: held jobs are never dialled, are released with a number, and expire.
class HeldJobTest : public SchedulerTest {
 protected:
  core::Fax hold() {
    const std::string staged = dir_ + "/upload-" + std::to_string(counter_++) + ".pdf";
    fs::copy_file(pdf_, staged);
    core::SubmitRequest req;
    req.files.push_back({"one.pdf", staged});
    req.origin = "print";
    auto f = service_->hold(admin(), req);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    return f ? *f : core::Fax{};
  }
  static core::Caller admin() {
    core::Caller c;
    c.role = core::Role::Admin;
    return c;
  }
};

TEST_F(HeldJobTest, NeverDialledUntilReleased) {
  startService();
  telephony_.script({OutcomeClass::Ok, OutcomeClass::Ok});
  auto held = hold();
  EXPECT_EQ(held.state, FaxState::Held);
  EXPECT_EQ(held.pagesTotal, 1);
  EXPECT_TRUE(held.number.empty());
  EXPECT_TRUE(fs::exists(dir_ + "/faxes/" + std::to_string(held.id) + "/fax.tif"));
  // Another job goes out meanwhile; the held one stays where it is.
  auto other = submit("+49 30 1234567");
  ASSERT_EQ(waitState(other.id, {FaxState::Done, FaxState::Failed}).state, FaxState::Done);
  EXPECT_EQ(telephony_.placed().size(), 1u);
  EXPECT_EQ(service_->get(held.id)->state, FaxState::Held);

  core::ReleaseRequest r;
  auto none = service_->release(admin(), held.id, r);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "invalid_number");
  r.to = "+49 900 1234567";  // premium rate: blocked by default
  auto blocked = service_->release(admin(), held.id, r);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, "destination_not_allowed");
  EXPECT_EQ(service_->get(held.id)->state, FaxState::Held);

  r.to = "+49 30 7654321";
  r.tag = "released";
  auto released = service_->release(admin(), held.id, r);
  ASSERT_TRUE(released) << released.error().message;
  EXPECT_EQ(released->number, "+49307654321");
  auto done = waitState(held.id, {FaxState::Done, FaxState::Failed});
  EXPECT_EQ(done.state, FaxState::Done) << done.error;
  EXPECT_EQ(done.tag, "released");
  EXPECT_EQ(telephony_.placed().size(), 2u);
  auto again = service_->release(admin(), held.id, r);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "conflict");
}

TEST_F(HeldJobTest, ExpiresAfterTheHoldHours) {
  startService({{"print_hold_hours", "2"}});
  auto held = hold();
  auto young = hold();
  clock_.advance(60 * 60'000);                                         // one hour: not yet
  ASSERT_TRUE(service_->updateSettings({{"print_hold_hours", "2"}}));  // wakes the scheduler
  auto stillHeld = hold();
  EXPECT_EQ(service_->get(held.id)->state, FaxState::Held);
  clock_.advance(61 * 60'000);
  ASSERT_TRUE(service_->updateSettings({{"print_hold_hours", "2"}}));
  auto failed = waitState(held.id, {FaxState::Failed});
  EXPECT_NE(failed.error.find("print_hold_hours"), std::string::npos) << failed.error;
  EXPECT_EQ(waitState(young.id, {FaxState::Failed}).state, FaxState::Failed);
  EXPECT_EQ(service_->get(stillHeld.id)->state, FaxState::Held);
  EXPECT_TRUE(telephony_.placed().empty());
}

TEST_F(HeldJobTest, DeleteRemovesItAtOnce) {
  startService();
  auto held = hold();
  auto removed = service_->remove(held.id);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_FALSE(removed->has_value());
  EXPECT_FALSE(service_->get(held.id));
  EXPECT_FALSE(fs::exists(dir_ + "/faxes/" + std::to_string(held.id)));
}

}  // namespace
}  // namespace vfax
