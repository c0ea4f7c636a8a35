// A real T.38 fax (two spandsp T.38 terminals through vfax's FaxSession) over UDPTL links that
// lose datagrams: with redundancy or FEC every lost IFP is rebuilt and the fax arrives intact.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

#include "../../fax/test_tiff.h"
#include "fax/fax_session.h"
#include "trunks/sip/udptl.h"

namespace vfax::trunks::sip {
namespace {

using fax::FaxDirection;
using fax::FaxResult;
using fax::FaxSession;
using fax::FaxSessionEvents;
using fax::FaxSessionOptions;
using fax::FaxTransport;

struct Recorder : FaxSessionEvents {
  std::optional<FaxResult> result;
  std::deque<std::vector<std::uint8_t>> out;
  void onFaxPage(int, const std::string&) override {}
  void onFaxFinished(const FaxResult& r) override { result = r; }
  void onT38Packet(const std::uint8_t* ifp, std::size_t len) override {
    out.emplace_back(ifp, ifp + len);
  }
};

// One direction of a UDPTL link: IFPs in, datagrams (some lost) across, IFPs out in order.
class LossyLink {
 public:
  LossyLink(UdptlOptions o, std::uint32_t seed) : tx_(o), rng_(seed) {}

  void carry(Recorder& from, FaxSession& to) {
    bool any = false;
    while (!from.out.empty()) {
      const std::vector<std::uint8_t> ifp = std::move(from.out.front());
      from.out.pop_front();
      std::uint8_t datagram[1500];
      const std::size_t n = tx_.encode(ifp.data(), ifp.size(), datagram, sizeof datagram);
      ASSERT_GT(n, 0u);
      ++sent_;
      if (lose()) continue;
      any = true;
      ASSERT_TRUE(rx_.receive(datagram, n, &LossyLink::deliver, &to)) << rx_.lastError();
    }
    // What the trunk does on its timer: a quiet stream (100 ms here) must not keep IFPs held.
    quietTicks_ = any ? 0 : quietTicks_ + 1;
    if (quietTicks_ >= 5 && rx_.holding()) rx_.flush(&LossyLink::deliver, &to);
  }

  const UdptlStats& stats() const { return rx_.stats(); }
  int dropped() const { return dropped_; }
  int sent() const { return sent_; }

 private:
  static void deliver(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) {
    static_cast<FaxSession*>(ctx)->rxT38(ifp, len, seq);
  }
  // About 8% of datagrams lost, sometimes two in a row; never more than two in a row.
  bool lose() {
    rng_ = rng_ * 1103515245u + 12345u;
    const std::uint32_t r = (rng_ >> 16) % 100;
    bool drop = burst_ > 0 || r < 6;
    if (burst_ > 0) {
      --burst_;
    } else if (drop && r < 2) {
      burst_ = 1;
    }
    if (drop) ++dropped_;
    return drop;
  }

  UdptlSender tx_;
  UdptlReceiver rx_;
  std::uint32_t rng_;
  int burst_ = 0;
  int quietTicks_ = 0;
  int dropped_ = 0;
  int sent_ = 0;
};

class UdptlFaxTest : public ::testing::TestWithParam<UdptlEc> {
 protected:
  void SetUp() override {
    dir_ = vfax::testing::makeTempDir();
    ASSERT_FALSE(dir_.empty());
    for (int i = 0; i < 2; ++i) pages_.push_back(vfax::testing::patternPage(i, 300));
    ASSERT_TRUE(vfax::testing::writeG4Tiff(dir_ + "/tx.tif", pages_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::vector<vfax::testing::Page> pages_;
};

TEST_P(UdptlFaxTest, FaxSurvivesLostDatagrams) {
  FaxSessionOptions so;
  so.transport = FaxTransport::T38;
  so.calling = true;
  so.direction = FaxDirection::Send;
  so.tiffPath = dir_ + "/tx.tif";
  so.localIdent = "+49 89 123456-10";
  so.headerInfo = "udptl test";
  FaxSessionOptions ro = so;
  ro.calling = false;
  ro.direction = FaxDirection::Receive;
  ro.tiffPath = dir_ + "/rx.tif";
  ro.localIdent = "+49 89 123456-20";
  Recorder ra, rb;
  auto a = FaxSession::create(so, ra);
  auto b = FaxSession::create(ro, rb);
  ASSERT_TRUE(a.ok() && b.ok());

  UdptlOptions o;
  o.ec = GetParam();
  o.redundancyDepth = 3;
  o.maxDatagram = 400;
  LossyLink ab(o, 1), ba(o, 2);
  for (int tick = 0; tick < 600 * 50 && !((*a)->finished() && (*b)->finished()); ++tick) {
    (*a)->tick(160);
    (*b)->tick(160);
    ab.carry(ra, **b);
    ba.carry(rb, **a);
  }
  ASSERT_TRUE(ra.result && rb.result);
  EXPECT_EQ(ra.result->outcome.cls, core::OutcomeClass::Ok) << ra.result->outcome.reason;
  EXPECT_EQ(rb.result->outcome.cls, core::OutcomeClass::Ok) << rb.result->outcome.reason;
  EXPECT_EQ(rb.result->pages, 2);
  RecordProperty("datagrams", ab.sent() + ba.sent());
  RecordProperty("dropped", ab.dropped() + ba.dropped());
  RecordProperty("recovered", static_cast<int>(ab.stats().recovered + ba.stats().recovered));
  RecordProperty("duration_ms", static_cast<int>(ra.result->durationMs));
  // The link really lost datagrams, and UDPTL rebuilt every IFP in them.
  EXPECT_GT(ab.dropped() + ba.dropped(), 10);
  EXPECT_EQ(ab.stats().lost + ba.stats().lost, 0u);
  EXPECT_GT(ab.stats().recovered + ba.stats().recovered, 10u);
  const auto got = vfax::testing::readTiff(dir_ + "/rx.tif");
  ASSERT_EQ(got.size(), pages_.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_GT(vfax::testing::headerRowsAbove(pages_[i], got[i]), 0) << "page " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRecoveringEc, UdptlFaxTest,
                         ::testing::Values(UdptlEc::Redundancy, UdptlEc::Fec),
                         [](const ::testing::TestParamInfo<UdptlEc>& i) {
                           return i.param == UdptlEc::Fec ? std::string("Fec")
                                                          : std::string("Redundancy");
                         });

}  // namespace
}  // namespace vfax::trunks::sip
