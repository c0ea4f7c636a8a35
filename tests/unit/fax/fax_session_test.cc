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

using codec::G711Law;
using codec::g711Decode;
using codec::g711Encode;
using core::OutcomeClass;
using testing::Page;

struct Recorder : FaxSessionEvents {
  std::vector<FaxPhase> phases;
  std::vector<int> pages;
  std::optional<FaxResult> result;
  int finishedCount = 0;
  std::deque<std::vector<std::uint8_t>> t38Out;

  void onFaxPhase(FaxPhase p) override { phases.push_back(p); }
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
