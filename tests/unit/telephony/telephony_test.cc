// TelephonyImpl over the loopback trunk, non-realtime, with real spandsp sessions.
#include "telephony/telephony_impl.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

#include "../fax/test_tiff.h"

namespace vfax::telephony {
namespace {

using core::OutcomeClass;

/// Records CallEvents; decides inbound offers as configured. Thread-safe.
class TestEvents : public core::CallEvents {
 public:
  bool accept = true;
  std::string rxDir;
  core::Telephony* telephony = nullptr;
  int hangupAfterPages = 0;  // > 0: cancel the outbound fax once this many pages are confirmed
  TelephonyImpl* impl = nullptr;
  int switchAfterPages = 0;  // > 0: the far end switches the media once this many are confirmed
  trunks::MediaKind switchTo = trunks::MediaKind::T38;

  void onOutboundAnswered(std::int64_t faxId) override {
    std::lock_guard lock(mutex_);
    answered_.push_back(faxId);
  }
  void onOutboundProgress(std::int64_t faxId, int pages, const std::string& remoteId) override {
    {
      std::lock_guard lock(mutex_);
      outPages_[faxId].push_back(pages);
      outRemote_[faxId] = remoteId;
      if (telephony) snapshots_.push_back(telephony->callStatus());
    }
    // Runs on the loop thread: the hangup is handled before the next media tick.
    if (hangupAfterPages > 0 && pages >= hangupAfterPages) telephony->hangup(faxId);
    if (switchAfterPages > 0 && pages == switchAfterPages) impl->loopback().switchCalls(switchTo);
  }
  void onOutboundFinished(std::int64_t faxId, const core::CallResult& r) override {
    std::lock_guard lock(mutex_);
    outFinished_[faxId].push_back(r);
    cv_.notify_all();
  }
  void onInboundOffered(const core::InboundOffer& offer,
                        std::function<void(core::InboundDecision)> decide) override {
    core::InboundDecision d;
    {
      std::lock_guard lock(mutex_);
      offers_.push_back(offer);
      d.accept = accept;
      d.faxId = 1000 + static_cast<std::int64_t>(offers_.size());
      d.rxTiffPath = rxDir + "/in-" + std::to_string(d.faxId) + ".tif";
      d.csid = "+49 89 123456-" + offer.calledNumber;
      if (!accept) d.rejectReason = core::CallOutcome{OutcomeClass::Busy, 17, "no line free"};
    }
    // Decide from another thread, as the scheduler does.
    std::thread([decide, d] { decide(d); }).detach();
  }
  void onInboundProgress(std::int64_t faxId, int pages, const std::string&) override {
    std::lock_guard lock(mutex_);
    inPages_[faxId].push_back(pages);
  }
  void onInboundFinished(std::int64_t faxId, const core::CallResult& r) override {
    std::lock_guard lock(mutex_);
    inFinished_[faxId].push_back(r);
    cv_.notify_all();
  }

  /// Waits (bounded) until `out` outbound and `in` inbound calls have finished.
  bool waitFinished(std::size_t out, std::size_t in) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(120),
                        [&] { return outFinished_.size() >= out && inFinished_.size() >= in; });
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::int64_t> answered_;
  std::vector<core::InboundOffer> offers_;
  std::map<std::int64_t, std::vector<int>> outPages_, inPages_;
  std::map<std::int64_t, std::string> outRemote_;
  std::map<std::int64_t, std::vector<core::CallResult>> outFinished_, inFinished_;
  std::vector<std::vector<core::CallStatus>> snapshots_;  // callStatus() at each outbound page
};

class TelephonyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::makeTempDir();
    ASSERT_FALSE(dir_.empty());
    for (int i = 0; i < 3; ++i) sent_.push_back(testing::patternPage(i, 240));
    tiff_ = dir_ + "/out.tif";
    ASSERT_TRUE(testing::writeG4Tiff(tiff_, sent_));
    events_.rxDir = dir_;
  }
  void TearDown() override {
    telephony_.reset();
    std::filesystem::remove_all(dir_);
  }

  void startTelephony(trunks::MediaKind media, codec::G711Law law = codec::G711Law::Alaw,
                      bool switchToT38 = false) {
    TelephonyOptions o;
    o.realtime = false;
    o.loopbackMedia = media;
    o.loopbackLaw = law;
    o.loopbackSwitchToT38 = switchToT38;
    telephony_ = std::make_unique<TelephonyImpl>(o);
    events_.telephony = telephony_.get();
    events_.impl = telephony_.get();
    telephony_->setEvents(&events_);
    telephony_->start();
  }

  core::OutboundCall internalCall(std::int64_t faxId) {
    core::OutboundCall c;
    c.faxId = faxId;
    c.internal = true;
    c.extension = "20";
    c.dialString = "20";
    c.tiffPath = tiff_;
    c.tsi = "+49 89 123456-10";
    c.headerInfo = "Test Sender";
    c.callerId = "10";
    return c;
  }

  void expectDelivered(trunks::MediaKind media, codec::G711Law law = codec::G711Law::Alaw,
                       bool switchToT38 = false) {
    startTelephony(media, law, switchToT38);
    telephony_->placeCall(internalCall(1));
    ASSERT_TRUE(events_.waitFinished(1, 1));
    std::lock_guard lock(events_.mutex_);
    ASSERT_EQ(events_.offers_.size(), 1u);
    EXPECT_EQ(events_.offers_[0].calledNumber, "20");
    EXPECT_EQ(events_.offers_[0].callerNumber, "10");
    EXPECT_EQ(events_.offers_[0].trunk, "loopback");
    ASSERT_EQ(events_.outFinished_[1].size(), 1u);
    ASSERT_EQ(events_.inFinished_[1001].size(), 1u);
    const core::CallResult& out = events_.outFinished_[1][0];
    const core::CallResult& in = events_.inFinished_[1001][0];
    EXPECT_EQ(out.outcome.cls, OutcomeClass::Ok) << out.outcome.reason;
    EXPECT_EQ(in.outcome.cls, OutcomeClass::Ok) << in.outcome.reason;
    EXPECT_EQ(out.pages, 3);
    EXPECT_EQ(in.pages, 3);
    EXPECT_EQ(out.remoteId, "+49 89 123456-20");
    EXPECT_EQ(in.remoteId, "+49 89 123456-10");
    EXPECT_TRUE(out.ecm);
    EXPECT_EQ(events_.answered_, std::vector<std::int64_t>{1});
    EXPECT_EQ(events_.outPages_[1], (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(events_.inPages_[1001], (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(events_.outRemote_[1], "+49 89 123456-20");
    expectReceivedOnce(dir_ + "/in-1001.tif");
  }

  /// Every sent page arrived exactly once, in order.
  void expectReceivedOnce(const std::string& path) {
    std::vector<testing::Page> got = testing::readTiff(path);
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_GT(testing::headerRowsAbove(sent_[i], got[i]), 0);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      EXPECT_EQ(e.path().string().find(".part"), std::string::npos) << e.path() << " left over";
    }
  }

  /// Runs one internal call where the far end switches the media after `pages` pages.
  void expectLateSwitch(trunks::MediaKind from, trunks::MediaKind to, int pages) {
    events_.switchAfterPages = pages;
    events_.switchTo = to;
    startTelephony(from);
    telephony_->placeCall(internalCall(1));
    ASSERT_TRUE(events_.waitFinished(1, 1));
    std::lock_guard lock(events_.mutex_);
    ASSERT_EQ(events_.outFinished_[1].size(), 1u);
    ASSERT_EQ(events_.inFinished_[1001].size(), 1u);
    const core::CallResult& out = events_.outFinished_[1][0];
    const core::CallResult& in = events_.inFinished_[1001][0];
    EXPECT_EQ(out.outcome.cls, OutcomeClass::Ok) << out.outcome.reason;
    EXPECT_EQ(in.outcome.cls, OutcomeClass::Ok) << in.outcome.reason;
    EXPECT_EQ(out.pages, 3);
    EXPECT_EQ(in.pages, 3);
    const core::FaxMedia want =
        to == trunks::MediaKind::T38 ? core::FaxMedia::T38 : core::FaxMedia::Audio;
    EXPECT_EQ(out.media, want);
    EXPECT_EQ(in.media, want);
    EXPECT_EQ(out.remoteId, "+49 89 123456-20");
    EXPECT_EQ(in.remoteId, "+49 89 123456-10");
    // Pages counted across both sessions, each once.
    EXPECT_EQ(events_.outPages_[1], (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(events_.inPages_[1001], (std::vector<int>{1, 2, 3}));
    expectReceivedOnce(dir_ + "/in-1001.tif");
  }

  std::string dir_, tiff_;
  std::vector<testing::Page> sent_;
  TestEvents events_;
  std::unique_ptr<TelephonyImpl> telephony_;
};

TEST_F(TelephonyTest, InternalAudioCallDeliversAllPages) {
  expectDelivered(trunks::MediaKind::Audio);
  std::lock_guard lock(events_.mutex_);
  // Fax tones were heard, but this loopback cannot switch: the fax stays in audio.
  EXPECT_EQ(events_.outFinished_[1][0].media, core::FaxMedia::Audio);
  EXPECT_EQ(events_.inFinished_[1001][0].media, core::FaxMedia::Audio);
  EXPECT_EQ(events_.outFinished_[1][0].codec, "PCMA");
  EXPECT_EQ(events_.inFinished_[1001][0].codec, "PCMA");
}

TEST_F(TelephonyTest, InternalUlawAudioCallDeliversAllPages) {
  expectDelivered(trunks::MediaKind::Audio, codec::G711Law::Ulaw);
  std::lock_guard lock(events_.mutex_);
  EXPECT_EQ(events_.outFinished_[1][0].codec, "PCMU");
}

TEST_F(TelephonyTest, InternalT38CallDeliversAllPages) {
  expectDelivered(trunks::MediaKind::T38);
  std::lock_guard lock(events_.mutex_);
  EXPECT_EQ(events_.outFinished_[1][0].media, core::FaxMedia::T38);
  EXPECT_EQ(events_.inFinished_[1001][0].media, core::FaxMedia::T38);
  EXPECT_EQ(events_.outFinished_[1][0].codec, "");
}

TEST_F(TelephonyTest, SwitchModeCallHearsFaxAndEndsInT38OnBothSides) {
  expectDelivered(trunks::MediaKind::Audio, codec::G711Law::Alaw, true);
  std::lock_guard lock(events_.mutex_);
  EXPECT_EQ(events_.outFinished_[1][0].media, core::FaxMedia::T38);
  EXPECT_EQ(events_.inFinished_[1001][0].media, core::FaxMedia::T38);
  // The call began in audio: the codec it negotiated stays on record.
  EXPECT_EQ(events_.outFinished_[1][0].codec, "PCMA");
  EXPECT_EQ(events_.inFinished_[1001][0].codec, "PCMA");
  ASSERT_FALSE(events_.snapshots_.empty());
  for (const auto& calls : events_.snapshots_) {
    for (const auto& c : calls) {
      EXPECT_EQ(c.media, core::FaxMedia::T38);
      EXPECT_EQ(c.codec, "PCMA");
    }
  }
}

TEST_F(TelephonyTest, LateSwitchToT38AfterPageOneSendsEveryPageOnce) {
  expectLateSwitch(trunks::MediaKind::Audio, trunks::MediaKind::T38, 1);
}

TEST_F(TelephonyTest, LateSwitchBackToAudioAfterPageTwoSendsEveryPageOnce) {
  expectLateSwitch(trunks::MediaKind::T38, trunks::MediaKind::Audio, 2);
}

TEST_F(TelephonyTest, CallDroppedAfterTheSwitchIsReportedDroppedInT38) {
  events_.hangupAfterPages = 1;
  startTelephony(trunks::MediaKind::Audio, codec::G711Law::Alaw, true);
  telephony_->placeCall(internalCall(3));
  ASSERT_TRUE(events_.waitFinished(1, 1));
  std::lock_guard lock(events_.mutex_);
  ASSERT_EQ(events_.inFinished_[1001].size(), 1u);
  const core::CallResult& in = events_.inFinished_[1001][0];
  EXPECT_EQ(in.outcome.cls, OutcomeClass::Dropped);
  EXPECT_EQ(in.media, core::FaxMedia::T38);
  EXPECT_EQ(events_.outFinished_[3][0].media, core::FaxMedia::T38);
}

TEST_F(TelephonyTest, CallStatusShowsBothCallsWithPhasePagesAndRate) {
  startTelephony(trunks::MediaKind::Audio);
  EXPECT_TRUE(telephony_->callStatus().empty());
  const auto before = telephony_->callStatusVersion();
  telephony_->placeCall(internalCall(1));
  ASSERT_TRUE(events_.waitFinished(1, 1));
  std::lock_guard lock(events_.mutex_);
  ASSERT_EQ(events_.snapshots_.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& calls = events_.snapshots_[i];
    ASSERT_EQ(calls.size(), 2u);
    const core::CallStatus* out = nullptr;
    const core::CallStatus* in = nullptr;
    for (const auto& c : calls) (c.direction == core::Direction::Out ? out : in) = &c;
    ASSERT_TRUE(out && in);
    EXPECT_EQ(out->faxId, 1);
    EXPECT_EQ(out->number, "20");
    EXPECT_EQ(out->trunk, "loopback");
    EXPECT_EQ(out->phase, core::CallPhase::Sending);
    EXPECT_EQ(out->pages, static_cast<int>(i) + 1);
    EXPECT_GT(out->bitRate, 0);
    EXPECT_TRUE(out->ecm);
    EXPECT_GT(out->startedAt, 0);
    EXPECT_EQ(in->faxId, 1001);
    EXPECT_EQ(in->number, "10");
    EXPECT_EQ(in->phase, core::CallPhase::Receiving);
  }
  EXPECT_GT(telephony_->callStatusVersion(), before);
}

TEST_F(TelephonyTest, CallStatusIsEmptyAgainOnceTheCallsEnded) {
  startTelephony(trunks::MediaKind::T38);
  telephony_->placeCall(internalCall(1));
  ASSERT_TRUE(events_.waitFinished(1, 1));
  // The contexts go on the loop's next sweep, after their linger.
  for (int i = 0; i < 2000 && !telephony_->callStatus().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(telephony_->callStatus().empty());
  EXPECT_EQ(telephony_->activeCalls(), 0);
}

TEST_F(TelephonyTest, RejectedInboundCallIsBusyForTheCaller) {
  events_.accept = false;
  startTelephony(trunks::MediaKind::Audio);
  telephony_->placeCall(internalCall(2));
  ASSERT_TRUE(events_.waitFinished(1, 0));
  std::lock_guard lock(events_.mutex_);
  ASSERT_EQ(events_.outFinished_[2].size(), 1u);
  EXPECT_EQ(events_.outFinished_[2][0].outcome.cls, OutcomeClass::Busy);
  EXPECT_TRUE(events_.inFinished_.empty());
  EXPECT_TRUE(events_.answered_.empty());
}

TEST_F(TelephonyTest, HangupMidCallIsCanceledHereAndDroppedThere) {
  events_.hangupAfterPages = 1;
  startTelephony(trunks::MediaKind::Audio);
  telephony_->placeCall(internalCall(3));
  ASSERT_TRUE(events_.waitFinished(1, 1));
  std::lock_guard lock(events_.mutex_);
  ASSERT_EQ(events_.outFinished_[3].size(), 1u);
  ASSERT_EQ(events_.inFinished_[1001].size(), 1u);
  EXPECT_EQ(events_.outFinished_[3][0].outcome.cls, OutcomeClass::Canceled);
  EXPECT_EQ(events_.inFinished_[1001][0].outcome.cls, OutcomeClass::Dropped);
  EXPECT_GE(events_.outFinished_[3][0].pages, 1);
  EXPECT_LT(events_.outFinished_[3][0].pages, 3);
}

TEST_F(TelephonyTest, ExternalCallWithoutTrunkIsLocalError) {
  startTelephony(trunks::MediaKind::Audio);
  core::OutboundCall c = internalCall(4);
  c.internal = false;
  c.dialString = "0049301234567";
  telephony_->placeCall(c);
  ASSERT_TRUE(events_.waitFinished(1, 0));
  std::lock_guard lock(events_.mutex_);
  ASSERT_EQ(events_.outFinished_[4].size(), 1u);
  EXPECT_EQ(events_.outFinished_[4][0].outcome.cls, OutcomeClass::LocalError);
  EXPECT_EQ(events_.outFinished_[4][0].outcome.reason, "no trunk configured for external numbers");
  EXPECT_TRUE(events_.offers_.empty());
}

TEST_F(TelephonyTest, StopEndsCallsAndReportsEachOnce) {
  startTelephony(trunks::MediaKind::Audio);
  telephony_->placeCall(internalCall(5));
  telephony_->stop();
  std::lock_guard lock(events_.mutex_);
  // placeCall was posted before stop's hangups: the call exists and is ended by stop().
  ASSERT_EQ(events_.outFinished_[5].size(), 1u);
  EXPECT_EQ(events_.outFinished_[5][0].outcome.cls, OutcomeClass::Dropped);
  for (auto& [id, results] : events_.outFinished_) EXPECT_EQ(results.size(), 1u);
  for (auto& [id, results] : events_.inFinished_) EXPECT_EQ(results.size(), 1u);
  EXPECT_EQ(telephony_->activeCalls(), 0);
}

}  // namespace
}  // namespace vfax::telephony
