#include "fax/fax_session.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

#include "codec/g711.h"
#include "fax/spandsp.h"
#include "test_tiff.h"

namespace vfax::fax {
namespace {

using codec::g711Decode;
using codec::g711Encode;
using codec::G711Law;
using core::OutcomeClass;
using testing::Page;

struct Recorder : FaxSessionEvents {
  std::vector<FaxPhase> phases;
  std::vector<int> pages;
  std::optional<FaxResult> result;
  int finishedCount = 0;
  std::deque<std::vector<std::uint8_t>> t38Out;
  int tonesHeard = 0;
  std::size_t phasesWhenHeard = 0;

  void onFaxPhase(FaxPhase p) override { phases.push_back(p); }
  void onFaxTonesHeard() override {
    if (tonesHeard++ == 0) phasesWhenHeard = phases.size();
  }
  void onFaxPage(int n, const std::string&) override { pages.push_back(n); }
  void onFaxFinished(const FaxResult& r) override {
    result = r;
    ++finishedCount;
  }
  void onT38Packet(const std::uint8_t* ifp, std::size_t len) override {
    t38Out.emplace_back(ifp, ifp + len);
  }
};

class FaxSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::makeTempDir();
    ASSERT_FALSE(dir_.empty());
    for (int i = 0; i < 3; ++i) sent_.push_back(testing::patternPage(i, 300));
    txPath_ = dir_ + "/tx.tif";
    rxPath_ = dir_ + "/rx.tif";
    ASSERT_TRUE(testing::writeG4Tiff(txPath_, sent_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  FaxSessionOptions sender(FaxTransport t) {
    FaxSessionOptions o;
    o.transport = t;
    o.calling = true;
    o.direction = FaxDirection::Send;
    o.tiffPath = txPath_;
    o.localIdent = "+49 89 123456-10";
    o.headerInfo = "vfax test";
    return o;
  }
  FaxSessionOptions receiver(FaxTransport t) {
    FaxSessionOptions o;
    o.transport = t;
    o.calling = false;
    o.direction = FaxDirection::Receive;
    o.tiffPath = rxPath_;
    o.localIdent = "+49 89 123456-20";
    return o;
  }

  // Runs both sessions back to back over audio through A-law, 20 ms at a time.
  static void runAudio(FaxSession& a, FaxSession& b, int maxSeconds,
                       std::optional<int> cutAfterPages = {}, Recorder* watch = nullptr) {
    std::int16_t buf[160];
    std::uint8_t law[160];
    for (int tick = 0; tick < maxSeconds * 50; ++tick) {
      if (a.finished() && b.finished()) return;
      a.txAudio(buf, 160);
      g711Encode(G711Law::Alaw, buf, 160, law);
      g711Decode(G711Law::Alaw, law, 160, buf);
      b.rxAudio(buf, 160);
      b.txAudio(buf, 160);
      g711Encode(G711Law::Alaw, buf, 160, law);
      g711Decode(G711Law::Alaw, law, 160, buf);
      a.rxAudio(buf, 160);
      if (cutAfterPages && watch && !watch->pages.empty() && watch->pages.back() >= *cutAfterPages)
        return;
    }
  }

  static void runT38(FaxSession& a, Recorder& ra, FaxSession& b, Recorder& rb, int maxSeconds) {
    std::uint16_t seqA = 0, seqB = 0;
    for (int tick = 0; tick < maxSeconds * 50; ++tick) {
      if (a.finished() && b.finished()) return;
      a.tick(160);
      b.tick(160);
      while (!ra.t38Out.empty()) {
        auto p = std::move(ra.t38Out.front());
        ra.t38Out.pop_front();
        b.rxT38(p.data(), p.size(), seqA++);
      }
      while (!rb.t38Out.empty()) {
        auto p = std::move(rb.t38Out.front());
        rb.t38Out.pop_front();
        a.rxT38(p.data(), p.size(), seqB++);
      }
    }
  }

  void expectReceivedEqualsSent() {
    std::vector<Page> got = testing::readTiff(rxPath_);
    ASSERT_EQ(got.size(), sent_.size());
    for (std::size_t i = 0; i < sent_.size(); ++i) {
      int header = testing::headerRowsAbove(sent_[i], got[i]);
      EXPECT_GT(header, 0) << "page " << i << " lacks the header line or differs from the sent one";
    }
  }

  std::string dir_, txPath_, rxPath_;
  std::vector<Page> sent_;
};

TEST_F(FaxSessionTest, AudioBackToBackSendsThreePages) {
  Recorder ra, rb;
  auto a = FaxSession::create(sender(FaxTransport::Audio), ra);
  auto b = FaxSession::create(receiver(FaxTransport::Audio), rb);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  runAudio(**a, **b, 600);
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.finishedCount, 1);
  EXPECT_EQ(rb.finishedCount, 1);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::Ok) << ra.result->outcome.reason;
  EXPECT_EQ(rb.result->outcome.cls, OutcomeClass::Ok) << rb.result->outcome.reason;
  EXPECT_EQ(ra.result->pages, 3);
  EXPECT_EQ(rb.result->pages, 3);
  EXPECT_TRUE(ra.result->ecm);
  EXPECT_EQ(ra.result->bitRate, 14400);
  EXPECT_EQ(ra.result->remoteId, "+49 89 123456-20");
  EXPECT_EQ(rb.result->remoteId, "+49 89 123456-10");
  EXPECT_FALSE(ra.result->compression.empty());
  EXPECT_EQ(ra.pages.back(), 3);
  EXPECT_EQ(ra.phases.back(), FaxPhase::E);
  expectReceivedEqualsSent();
}

TEST_F(FaxSessionTest, AudioBackToBackEachSideHearsFaxOnceBeforeTraining) {
  Recorder ra, rb;
  auto a = FaxSession::create(sender(FaxTransport::Audio), ra);
  auto b = FaxSession::create(receiver(FaxTransport::Audio), rb);
  ASSERT_TRUE(a.ok() && b.ok());
  runAudio(**a, **b, 600);
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::Ok) << ra.result->outcome.reason;
  // The caller hears the answerer's CED (or its DIS), the answerer the caller's CNG: each
  // once, before T.30 phase B began.
  EXPECT_EQ(ra.tonesHeard, 1);
  EXPECT_EQ(rb.tonesHeard, 1);
  EXPECT_EQ(ra.phasesWhenHeard, 0u);
  EXPECT_EQ(rb.phasesWhenHeard, 0u);
}

// Feeds `seconds` of a spandsp connect tone (or silence for tone < 0) to a session.
void feedTone(FaxSession& s, int tone, int seconds) {
  modem_connect_tones_tx_state_t* gen =
      tone >= 0 ? modem_connect_tones_tx_init(nullptr, tone) : nullptr;
  std::int16_t buf[160];
  std::int16_t out[160];
  for (int tick = 0; tick < seconds * 50 && !s.finished(); ++tick) {
    std::fill(std::begin(buf), std::end(buf), std::int16_t{0});
    if (gen) modem_connect_tones_tx(gen, buf, 160);
    s.rxAudio(buf, 160);
    s.txAudio(out, 160);
  }
  if (gen) modem_connect_tones_tx_free(gen);
}

TEST_F(FaxSessionTest, AnsweringSideHearsCngButNotSilence) {
  Recorder cng, quiet;
  auto a = FaxSession::create(receiver(FaxTransport::Audio), cng);
  auto b = FaxSession::create(receiver(FaxTransport::Audio), quiet);
  ASSERT_TRUE(a.ok() && b.ok());
  feedTone(**a, MODEM_CONNECT_TONES_FAX_CNG, 5);
  feedTone(**b, -1, 5);
  EXPECT_EQ(cng.tonesHeard, 1);
  EXPECT_EQ(quiet.tonesHeard, 0);
}

TEST_F(FaxSessionTest, CallingSideHearsCedAndAnsam) {
  Recorder ced, ansam, cng;
  auto a = FaxSession::create(sender(FaxTransport::Audio), ced);
  auto b = FaxSession::create(sender(FaxTransport::Audio), ansam);
  auto c = FaxSession::create(sender(FaxTransport::Audio), cng);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  feedTone(**a, MODEM_CONNECT_TONES_FAX_CED, 4);
  feedTone(**b, MODEM_CONNECT_TONES_ANSAM_PR, 4);
  feedTone(**c, MODEM_CONNECT_TONES_FAX_CNG, 4);  // a caller's tone: not an answering fax
  EXPECT_EQ(ced.tonesHeard, 1);
  EXPECT_EQ(ansam.tonesHeard, 1);
  EXPECT_EQ(cng.tonesHeard, 0);
}

TEST_F(FaxSessionTest, T38SessionsReportNoTones) {
  Recorder ra, rb;
  auto a = FaxSession::create(sender(FaxTransport::T38), ra);
  auto b = FaxSession::create(receiver(FaxTransport::T38), rb);
  ASSERT_TRUE(a.ok() && b.ok());
  runT38(**a, ra, **b, rb, 600);
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.tonesHeard, 0);
  EXPECT_EQ(rb.tonesHeard, 0);
}

TEST_F(FaxSessionTest, StartPageSkipsThePagesConfirmedBefore) {
  Recorder ra, rb;
  FaxSessionOptions o = sender(FaxTransport::T38);
  o.startPage = 1;
  auto a = FaxSession::create(o, ra);
  auto b = FaxSession::create(receiver(FaxTransport::T38), rb);
  ASSERT_TRUE(a.ok() && b.ok());
  runT38(**a, ra, **b, rb, 600);
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::Ok) << ra.result->outcome.reason;
  EXPECT_EQ(ra.result->pages, 2);  // pages of this session
  EXPECT_EQ(rb.result->pages, 2);
  std::vector<Page> got = testing::readTiff(rxPath_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GT(testing::headerRowsAbove(sent_[1], got[0]), 0);
  EXPECT_GT(testing::headerRowsAbove(sent_[2], got[1]), 0);
}

TEST_F(FaxSessionTest, AppendTiffPagesJoinsFilesInOrder) {
  const std::string first = dir_ + "/first.tif";
  const std::string second = dir_ + "/second.tif";
  ASSERT_TRUE(testing::writeG4Tiff(first, {sent_[0]}));
  ASSERT_TRUE(testing::writeG4Tiff(second, {sent_[1], sent_[2]}));
  ASSERT_TRUE(appendTiffPages(first, second).ok());
  std::vector<Page> got = testing::readTiff(first);
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].bits, sent_[i].bits) << "page " << i;
  EXPECT_EQ(*tiffPageCount(first), 3);

  // A missing destination is created.
  const std::string fresh = dir_ + "/fresh.tif";
  ASSERT_TRUE(appendTiffPages(fresh, second).ok());
  EXPECT_EQ(testing::readTiff(fresh).size(), 2u);

  // An unreadable source leaves the destination as it was.
  auto bad = appendTiffPages(first, dir_ + "/missing.tif");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "fax_file_unreadable");
  EXPECT_EQ(testing::readTiff(first).size(), 3u);
  EXPECT_FALSE(tiffPageCount(dir_ + "/missing.tif").ok());
}

TEST_F(FaxSessionTest, T38BackToBackSendsThreePages) {
  Recorder ra, rb;
  auto a = FaxSession::create(sender(FaxTransport::T38), ra);
  auto b = FaxSession::create(receiver(FaxTransport::T38), rb);
  ASSERT_TRUE(a.ok() && b.ok());
  runT38(**a, ra, **b, rb, 600);
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::Ok) << ra.result->outcome.reason;
  EXPECT_EQ(rb.result->outcome.cls, OutcomeClass::Ok) << rb.result->outcome.reason;
  EXPECT_EQ(ra.result->pages, 3);
  EXPECT_EQ(rb.result->pages, 3);
  EXPECT_EQ(rb.result->remoteId, "+49 89 123456-10");
  expectReceivedEqualsSent();
}

TEST_F(FaxSessionTest, SilentFarEndEndsByWatchdog) {
  Recorder ra;
  FaxSessionOptions o = sender(FaxTransport::Audio);
  o.noProgressTimeoutMs = 5'000;
  auto a = FaxSession::create(o, ra);
  ASSERT_TRUE(a.ok());
  std::int16_t silence[160] = {};
  std::int16_t out[160];
  for (int tick = 0; tick < 50 * 120 && !(*a)->finished(); ++tick) {
    (*a)->txAudio(out, 160);
    (*a)->rxAudio(silence, 160);
  }
  ASSERT_TRUE(ra.result);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::NoAnswer);
  EXPECT_LT((*a)->elapsedMs(), 10'000);
}

TEST_F(FaxSessionTest, SilentT38FarEndEndsByWatchdog) {
  Recorder ra;
  FaxSessionOptions o = receiver(FaxTransport::T38);
  o.noProgressTimeoutMs = 3'000;
  auto a = FaxSession::create(o, ra);
  ASSERT_TRUE(a.ok());
  for (int tick = 0; tick < 50 * 120 && !(*a)->finished(); ++tick) (*a)->tick(160);
  ASSERT_TRUE(ra.result);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::NoAnswer);
  EXPECT_EQ(ra.finishedCount, 1);
}

TEST_F(FaxSessionTest, HangupMidFaxIsDroppedAndReportedOnce) {
  Recorder ra, rb;
  auto a = FaxSession::create(sender(FaxTransport::Audio), ra);
  auto b = FaxSession::create(receiver(FaxTransport::Audio), rb);
  ASSERT_TRUE(a.ok() && b.ok());
  runAudio(**a, **b, 600, 1, &ra);
  ASSERT_FALSE(ra.result.has_value());
  (*a)->hangup({OutcomeClass::Canceled, 0, "canceled"});
  (*b)->hangup({OutcomeClass::Dropped, 0, "far end hung up"});
  (*a)->hangup({OutcomeClass::Canceled, 0, "again"});
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.finishedCount, 1);
  EXPECT_EQ(ra.result->outcome.cls, OutcomeClass::Canceled);
  EXPECT_EQ(rb.result->outcome.cls, OutcomeClass::Dropped);
  EXPECT_GE(ra.result->pages, 1);
}

TEST_F(FaxSessionTest, MissingDocumentIsAnError) {
  Recorder ra;
  FaxSessionOptions o = sender(FaxTransport::Audio);
  o.tiffPath = dir_ + "/missing.tif";
  auto a = FaxSession::create(o, ra);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "fax_file_unreadable");
}

TEST(FaxOutcome, MapsT30Codes) {
  EXPECT_EQ(outcomeFromT30(T30_ERR_OK).cls, OutcomeClass::Ok);
  EXPECT_EQ(outcomeFromT30(T30_ERR_T0_EXPIRED).cls, OutcomeClass::NoAnswer);
  EXPECT_EQ(outcomeFromT30(T30_ERR_T1_EXPIRED).cls, OutcomeClass::NoAnswer);
  EXPECT_EQ(outcomeFromT30(T30_ERR_CALLDROPPED).cls, OutcomeClass::Dropped);
  EXPECT_EQ(outcomeFromT30(T30_ERR_RX_DCNDATA).cls, OutcomeClass::Dropped);
  EXPECT_EQ(outcomeFromT30(T30_ERR_RX_INCAPABLE).cls, OutcomeClass::Refused);
  EXPECT_EQ(outcomeFromT30(T30_ERR_TX_GOTDCN).cls, OutcomeClass::Refused);
  EXPECT_EQ(outcomeFromT30(T30_ERR_INCOMPATIBLE).cls, OutcomeClass::Incompatible);
  EXPECT_EQ(outcomeFromT30(T30_ERR_NORESSUPPORT).cls, OutcomeClass::Incompatible);
  EXPECT_EQ(outcomeFromT30(T30_ERR_CANNOT_TRAIN).cls, OutcomeClass::Incompatible);
  EXPECT_EQ(outcomeFromT30(T30_ERR_FILEERROR).cls, OutcomeClass::LocalError);
  EXPECT_EQ(outcomeFromT30(T30_ERR_BADTIFF).cls, OutcomeClass::LocalError);
  auto o = outcomeFromT30(T30_ERR_CALLDROPPED);
  EXPECT_EQ(o.code, T30_ERR_CALLDROPPED);
  EXPECT_FALSE(o.reason.empty());
}

}  // namespace
}  // namespace vfax::fax
