#include "trunks/sip/udptl.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vfax::trunks::sip {
namespace {

using Bytes = std::vector<std::uint8_t>;

// What a receiver handed on, in order.
struct Sink {
  std::vector<std::pair<std::uint16_t, Bytes>> got;
  static void deliver(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) {
    static_cast<Sink*>(ctx)->got.emplace_back(seq, Bytes(ifp, ifp + len));
  }
  std::vector<std::uint16_t> seqs() const {
    std::vector<std::uint16_t> s;
    for (const auto& g : got) s.push_back(g.first);
    return s;
  }
};

bool feed(UdptlReceiver& rx, const Bytes& d, Sink& sink) {
  return rx.receive(d.data(), d.size(), &Sink::deliver, &sink);
}

Bytes encode(UdptlSender& tx, const Bytes& ifp) {
  Bytes out(2048);
  const std::size_t n = tx.encode(ifp.data(), ifp.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

// IFP number i: a recognisable payload whose length varies with i (1..40 bytes).
Bytes ifpFor(int i, bool sameLength = false) {
  const std::size_t len = sameLength ? 12 : static_cast<std::size_t>(1 + (i * 7) % 40);
  Bytes b(len);
  for (std::size_t j = 0; j < len; ++j) b[j] = static_cast<std::uint8_t>(i * 31 + j * 3 + 1);
  return b;
}

UdptlOptions opts(UdptlEc ec, int depth = 3, std::size_t maxDatagram = 1400) {
  UdptlOptions o;
  o.ec = ec;
  o.redundancyDepth = depth;
  o.maxDatagram = maxDatagram;
  return o;
}

// --- hand-made datagrams, written from the ASN.1 (aligned PER) -------------------------------

// seq-number 5 -> 00 05 (INTEGER (0..65535): two octets).
// primary-ifp-packet: open type, length 1 -> 01, then the IFP 02 (T.38 IFP "t30-indicator: cng":
//   type-of-msg CHOICE index 0 with its extension bit 0, indicator 1 -> 0000 0010).
// error-recovery: CHOICE bit 0 (secondary-ifp-packets), padded to an octet -> 00.
// SEQUENCE OF count 2 -> 02; then seq 4's IFP (01 02, cng again) and seq 3's (01 00, no-signal).
const Bytes kRedundancyPacket = {0x00, 0x05, 0x01, 0x02, 0x00, 0x02, 0x01, 0x02, 0x01, 0x00};

// seq-number 16 -> 00 10; primary of length 1: 06 (indicator v21-preamble);
// error-recovery CHOICE bit 1 (fec-info) padded -> 80;
// fec-npackets INTEGER 3: length 1 then the value -> 01 03;
// fec-data SEQUENCE OF OCTET STRING, count 2 -> 02; word 0: 01 AA; word 1: 02 BB CC.
const Bytes kFecPacket = {0x00, 0x10, 0x01, 0x06, 0x80, 0x01, 0x03,
                          0x02, 0x01, 0xaa, 0x02, 0xbb, 0xcc};

TEST(UdptlParse, HandMadeRedundancyPacket) {
  auto p = parseUdptl(kRedundancyPacket.data(), kRedundancyPacket.size());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->seq, 5);
  EXPECT_FALSE(p->fec);
  ASSERT_EQ(p->primary.len, 1u);
  EXPECT_EQ(p->primary.data[0], 0x02);
  ASSERT_EQ(p->secondaryCount, 2u);
  EXPECT_EQ(p->secondaries[0].len, 1u);
  EXPECT_EQ(p->secondaries[0].data[0], 0x02);
  EXPECT_EQ(p->secondaries[1].data[0], 0x00);
}

TEST(UdptlParse, HandMadeFecPacket) {
  auto p = parseUdptl(kFecPacket.data(), kFecPacket.size());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->seq, 16);
  EXPECT_TRUE(p->fec);
  EXPECT_EQ(p->primary.data[0], 0x06);
  EXPECT_EQ(p->fecSpan, 3u);
  ASSERT_EQ(p->fecCount, 2u);
  EXPECT_EQ(Bytes(p->fecWords[0].data, p->fecWords[0].data + p->fecWords[0].len), Bytes{0xaa});
  EXPECT_EQ(Bytes(p->fecWords[1].data, p->fecWords[1].data + p->fecWords[1].len),
            (Bytes{0xbb, 0xcc}));
}

TEST(UdptlParse, TwoOctetLengthDeterminant) {
  // 200 = 0x00C8 >= 128: the two-octet form 10xxxxxx xxxxxxxx -> 80 C8 (X.691 10.9.3.7).
  Bytes d = {0xff, 0xff, 0x80, 0xc8};
  for (int i = 0; i < 200; ++i) d.push_back(static_cast<std::uint8_t>(i));
  d.push_back(0x00);  // redundancy
  d.push_back(0x00);  // no secondaries
  auto p = parseUdptl(d.data(), d.size());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->seq, 65535);
  EXPECT_EQ(p->primary.len, 200u);
  EXPECT_EQ(p->primary.data[199], 199);
}

TEST(UdptlEncode, RedundancyBytesMatchTheHandMadePacket) {
  UdptlSender tx(opts(UdptlEc::Redundancy, 2));
  tx.setNextSeq(3);
  EXPECT_EQ(encode(tx, {0x00}), (Bytes{0x00, 0x03, 0x01, 0x00, 0x00, 0x00}));
  EXPECT_EQ(encode(tx, {0x02}), (Bytes{0x00, 0x04, 0x01, 0x02, 0x00, 0x01, 0x01, 0x00}));
  EXPECT_EQ(encode(tx, {0x02}), kRedundancyPacket);
}

TEST(UdptlEncode, NoEcSendsAnEmptySecondaryList) {
  UdptlSender tx(opts(UdptlEc::None));
  encode(tx, {0x02});
  EXPECT_EQ(encode(tx, {0x04}), (Bytes{0x00, 0x01, 0x01, 0x04, 0x00, 0x00}));
}

TEST(UdptlEncode, FecBytesByHand) {
  UdptlOptions o = opts(UdptlEc::Fec);
  o.fecSpan = 2;
  o.fecEntries = 1;
  UdptlSender tx(o);
  // seq 0: no history -> fec-npackets 2, zero words: 80 01 02 00.
  EXPECT_EQ(encode(tx, {0x11}), (Bytes{0x00, 0x00, 0x01, 0x11, 0x80, 0x01, 0x02, 0x00}));
  // seq 1: one IFP of history -> span 1, one word = IFP 0.
  EXPECT_EQ(encode(tx, {0x22, 0x33}),
            (Bytes{0x00, 0x01, 0x02, 0x22, 0x33, 0x80, 0x01, 0x01, 0x01, 0x01, 0x11}));
  // seq 2: span 2 -> word = IFP 0 xor IFP 1, zero-padded: {11^22, 00^33} = 33 33.
  EXPECT_EQ(encode(tx, {0x44}),
            (Bytes{0x00, 0x02, 0x01, 0x44, 0x80, 0x01, 0x02, 0x01, 0x02, 0x33, 0x33}));
}

// --- round trips ----------------------------------------------------------------------------

struct Link {
  UdptlSender tx;
  UdptlReceiver rx;
  Sink sink;
  explicit Link(UdptlOptions o) : tx(o) {}
};

void expectInOrder(const Sink& sink, std::uint16_t first, int count, bool sameLength = false) {
  ASSERT_EQ(sink.got.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(sink.got[i].first, static_cast<std::uint16_t>(first + i));
    EXPECT_EQ(sink.got[i].second, ifpFor(i, sameLength)) << "IFP " << i;
  }
}

TEST(UdptlRoundTrip, EveryEcMode) {
  for (UdptlEc ec : {UdptlEc::None, UdptlEc::Redundancy, UdptlEc::Fec}) {
    Link l(opts(ec));
    for (int i = 0; i < 200; ++i) {
      const Bytes d = encode(l.tx, ifpFor(i));
      ASSERT_FALSE(d.empty());
      auto p = parseUdptl(d.data(), d.size());
      ASSERT_TRUE(p.ok()) << p.error().message;
      EXPECT_EQ(p->fec, ec == UdptlEc::Fec);
      ASSERT_TRUE(feed(l.rx, d, l.sink));
    }
    expectInOrder(l.sink, 0, 200);
    EXPECT_EQ(l.rx.stats().received, 200u);
    EXPECT_EQ(l.rx.stats().delivered, 200u);
    EXPECT_EQ(l.rx.stats().lost, 0u);
    EXPECT_EQ(l.rx.stats().recovered, 0u);
    EXPECT_FALSE(l.rx.holding());
  }
}

TEST(UdptlRoundTrip, RedundancyRecoversUpToItsDepthOfConsecutiveLosses) {
  for (int lostRun = 1; lostRun <= 4; ++lostRun) {
    Link l(opts(UdptlEc::Redundancy, 4));
    for (int i = 0; i < 30; ++i) {
      const Bytes d = encode(l.tx, ifpFor(i));
      if (i >= 10 && i < 10 + lostRun) continue;  // lost on the way
      ASSERT_TRUE(feed(l.rx, d, l.sink));
    }
    expectInOrder(l.sink, 0, 30);
    EXPECT_EQ(l.rx.stats().recovered, static_cast<std::uint64_t>(lostRun));
    EXPECT_EQ(l.rx.stats().lost, 0u);
  }
}

TEST(UdptlRoundTrip, LossLongerThanTheRedundancyIsCountedLost) {
  Link l(opts(UdptlEc::Redundancy, 2));
  for (int i = 0; i < 20; ++i) {
    const Bytes d = encode(l.tx, ifpFor(i));
    if (i >= 5 && i < 9) continue;  // 4 lost, depth 2: 5 and 6 are gone
    ASSERT_TRUE(feed(l.rx, d, l.sink));
  }
  EXPECT_EQ(l.sink.got.size(), 18u);
  EXPECT_EQ(l.rx.stats().lost, 2u);
  EXPECT_EQ(l.rx.stats().recovered, 2u);
  EXPECT_EQ(l.sink.got[5].first, 7);
  EXPECT_EQ(l.sink.got[5].second, ifpFor(7));
}

TEST(UdptlRoundTrip, FecRepairsOneLostPacketInASpan) {
  for (int victim : {3, 9, 10, 11, 25}) {
    Link l(opts(UdptlEc::Fec));
    for (int i = 0; i < 40; ++i) {
      const Bytes d = encode(l.tx, ifpFor(i, true));
      if (i == victim) continue;
      ASSERT_TRUE(feed(l.rx, d, l.sink));
    }
    expectInOrder(l.sink, 0, 40, true);
    EXPECT_EQ(l.rx.stats().recovered, 1u) << victim;
    EXPECT_EQ(l.rx.stats().lost, 0u);
  }
}

TEST(UdptlRoundTrip, FecRepairOfAShorterIfpCarriesTheWordLength) {
  // The parity word is as long as the longest IFP it covers: a repaired shorter IFP comes back
  // with its bytes first and padding after (T.38 Annex D's FEC cannot say how long it was).
  Link l(opts(UdptlEc::Fec));
  for (int i = 0; i < 30; ++i) {
    const Bytes d = encode(l.tx, ifpFor(i));
    if (i == 12) continue;
    ASSERT_TRUE(feed(l.rx, d, l.sink));
  }
  ASSERT_EQ(l.sink.got.size(), 30u);
  const Bytes& repaired = l.sink.got[12].second;
  const Bytes want = ifpFor(12);
  ASSERT_GE(repaired.size(), want.size());
  EXPECT_EQ(Bytes(repaired.begin(), repaired.begin() + static_cast<long>(want.size())), want);
}

TEST(UdptlRoundTrip, FecHoldsBackUntilRepairedOrFlushed) {
  Link l(opts(UdptlEc::Fec));
  std::vector<Bytes> d;
  for (int i = 0; i < 20; ++i) d.push_back(encode(l.tx, ifpFor(i, true)));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  // 10..13 lost. 14's words (groups {11,8,5} {12,9,6} {13,10,7}) repair 11 and 12; 10 and 13
  // share a group, so 11, 12 and 14 wait behind the gap at 10 for a later word.
  ASSERT_TRUE(feed(l.rx, d[14], l.sink));
  EXPECT_EQ(l.sink.got.size(), 10u);
  EXPECT_TRUE(l.rx.holding());
  // The stream goes quiet: the trunk flushes; 10 and 13 are lost, the rest goes on in order.
  l.rx.flush(&Sink::deliver, &l.sink);
  EXPECT_FALSE(l.rx.holding());
  EXPECT_EQ(l.sink.seqs(), (std::vector<std::uint16_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14}));
  EXPECT_EQ(l.sink.got[10].second, ifpFor(11, true));
  EXPECT_EQ(l.rx.stats().lost, 2u);
  EXPECT_EQ(l.rx.stats().recovered, 2u);
  for (int i = 15; i < 20; ++i) ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  EXPECT_EQ(l.sink.got.size(), 18u);
  EXPECT_EQ(l.sink.seqs().back(), 19);
}

TEST(UdptlRoundTrip, FecRepairsAHeldGapFromALaterWord) {
  // As above without the flush: 13 comes back from 20's word {19,16,13}; 10's groups have all
  // gone by once 19 arrived (span x entries = 9 later), so 10 alone is lost.
  Link l(opts(UdptlEc::Fec));
  for (int i = 0; i < 30; ++i) {
    const Bytes d = encode(l.tx, ifpFor(i, true));
    if (i >= 10 && i < 14) continue;
    ASSERT_TRUE(feed(l.rx, d, l.sink));
  }
  EXPECT_EQ(l.rx.stats().lost, 1u);
  EXPECT_EQ(l.rx.stats().recovered, 3u);
  EXPECT_EQ(l.sink.got.size(), 29u);
  EXPECT_EQ(l.sink.got[12].first, 13);
  EXPECT_EQ(l.sink.got[12].second, ifpFor(13, true));
}

TEST(UdptlRoundTrip, FecGivesUpAGapAfterItsWindow) {
  // Two consecutive losses with span 3 x entries 3: both fall in different interleaved groups,
  // so both are repaired; four losses in a row lose what no word can rebuild.
  Link l(opts(UdptlEc::Fec));
  for (int i = 0; i < 60; ++i) {
    const Bytes d = encode(l.tx, ifpFor(i, true));
    if (i >= 20 && i < 24) continue;
    ASSERT_TRUE(feed(l.rx, d, l.sink));
  }
  const auto& s = l.rx.stats();
  EXPECT_EQ(s.recovered + s.lost, 4u);
  EXPECT_EQ(s.delivered, 60u - s.lost);
  EXPECT_FALSE(l.rx.holding());
  std::vector<std::uint16_t> seqs = l.sink.seqs();
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
}

TEST(UdptlReceiver, ReorderingWithRedundancy) {
  Link l(opts(UdptlEc::Redundancy, 2));
  std::vector<Bytes> d;
  for (int i = 0; i < 6; ++i) d.push_back(encode(l.tx, ifpFor(i)));
  for (int i : {0, 1, 3, 2, 4, 5}) ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  expectInOrder(l.sink, 0, 6);
  EXPECT_EQ(l.rx.stats().recovered, 1u);   // 2 came out of 3's redundancy
  EXPECT_EQ(l.rx.stats().duplicates, 1u);  // ... so 2 itself arrived too late to matter
}

TEST(UdptlReceiver, ReorderingWithFecIsHeldInOrder) {
  Link l(opts(UdptlEc::Fec));
  std::vector<Bytes> d;
  for (int i = 0; i < 20; ++i) d.push_back(encode(l.tx, ifpFor(i, true)));
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 11, 13, 14, 15, 16, 17, 18, 19}) {
    ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  }
  // 12's word rebuilt 11 before 11 itself came; the late original is then a duplicate.
  expectInOrder(l.sink, 0, 20, true);
  EXPECT_EQ(l.rx.stats().duplicates, 1u);
  EXPECT_EQ(l.rx.stats().lost, 0u);
}

TEST(UdptlReceiver, ReorderingWithoutEcLosesTheLatePacket) {
  // No EC: nothing can fill the gap, so the IFP stream moves on at once (spandsp's T.38 core
  // drops late packets anyway); the late one counts as a duplicate, its number as lost.
  Link l(opts(UdptlEc::None));
  std::vector<Bytes> d;
  for (int i = 0; i < 5; ++i) d.push_back(encode(l.tx, ifpFor(i)));
  for (int i : {0, 1, 3, 2, 4}) ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  EXPECT_EQ(l.sink.seqs(), (std::vector<std::uint16_t>{0, 1, 3, 4}));
  EXPECT_EQ(l.rx.stats().lost, 1u);
  EXPECT_EQ(l.rx.stats().duplicates, 1u);
}

TEST(UdptlReceiver, DuplicatesAreDropped) {
  Link l(opts(UdptlEc::Redundancy));
  std::vector<Bytes> d;
  for (int i = 0; i < 4; ++i) d.push_back(encode(l.tx, ifpFor(i)));
  for (int i : {0, 0, 1, 2, 1, 2, 3, 3}) ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  expectInOrder(l.sink, 0, 4);
  EXPECT_EQ(l.rx.stats().duplicates, 4u);
  EXPECT_EQ(l.rx.stats().received, 8u);
}

TEST(UdptlReceiver, SequenceWrapsFrom65535To0) {
  for (UdptlEc ec : {UdptlEc::Redundancy, UdptlEc::Fec}) {
    Link l(opts(ec));
    l.tx.setNextSeq(65530);
    for (int i = 0; i < 16; ++i) {
      const Bytes d = encode(l.tx, ifpFor(i, true));
      if (i == 5) continue;  // seq 65535 is lost
      ASSERT_TRUE(feed(l.rx, d, l.sink));
    }
    expectInOrder(l.sink, 65530, 16, true);
    EXPECT_EQ(l.sink.got[6].first, 0);
    EXPECT_EQ(l.rx.stats().recovered, 1u);
    EXPECT_EQ(l.rx.stats().lost, 0u);
  }
}

TEST(UdptlReceiver, FirstDatagramBringsItsRedundancy) {
  // The far end's first datagrams got lost: the first one we see still carries them.
  UdptlReceiver rx;
  Sink sink;
  ASSERT_TRUE(feed(rx, kRedundancyPacket, sink));
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint16_t>{3, 4, 5}));
  EXPECT_EQ(sink.got[0].second, Bytes{0x00});
}

TEST(UdptlReceiver, FarEndRestartingItsNumberingIsFollowed) {
  UdptlReceiver rx;
  Sink sink;
  UdptlSender a(opts(UdptlEc::Redundancy));
  a.setNextSeq(4000);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(feed(rx, encode(a, ifpFor(i)), sink));
  // A new sender (the far end restarted its T.38 stack) numbers from 0.
  UdptlSender b(opts(UdptlEc::Redundancy));
  for (int i = 100; i < 105; ++i) ASSERT_TRUE(feed(rx, encode(b, ifpFor(i)), sink));
  ASSERT_EQ(sink.got.size(), 15u);
  EXPECT_EQ(sink.got[10].first, 0);
  EXPECT_EQ(sink.got[10].second, ifpFor(100));
  EXPECT_EQ(sink.got[14].first, 4);
  EXPECT_EQ(rx.stats().resyncs, 1u);
  EXPECT_EQ(rx.stats().lost, 0u);
}

TEST(UdptlReceiver, RestartCloseBehindIsRecognisedByItsContent) {
  UdptlReceiver rx;
  Sink sink;
  UdptlSender a(opts(UdptlEc::Redundancy));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(feed(rx, encode(a, ifpFor(i)), sink));
  UdptlSender b(opts(UdptlEc::Redundancy));
  for (int i = 50; i < 53; ++i) ASSERT_TRUE(feed(rx, encode(b, ifpFor(i)), sink));
  ASSERT_EQ(sink.got.size(), 23u);
  EXPECT_EQ(sink.got[20].first, 0);
  EXPECT_EQ(sink.got[20].second, ifpFor(50));
  EXPECT_EQ(rx.stats().resyncs, 1u);
}

TEST(UdptlReceiver, ResetStartsANewStreamAndKeepsCounters) {
  UdptlReceiver rx;
  Sink sink;
  EXPECT_FALSE(rx.holding());
  rx.flush(&Sink::deliver, &sink);  // nothing yet: nothing happens
  EXPECT_TRUE(sink.got.empty());
  UdptlSender a(opts(UdptlEc::Redundancy));
  a.setNextSeq(500);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(feed(rx, encode(a, ifpFor(i)), sink));
  rx.reset();  // e.g. a new T.38 session after a re-INVITE
  UdptlSender b(opts(UdptlEc::Redundancy));
  ASSERT_TRUE(feed(rx, encode(b, ifpFor(7)), sink));
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint16_t>{500, 501, 502, 0}));
  EXPECT_EQ(rx.stats().delivered, 4u);
  EXPECT_EQ(rx.stats().resyncs, 0u);
}

TEST(UdptlReceiver, ALoneStrayFarAwayIsDropped) {
  Link l(opts(UdptlEc::Redundancy));
  std::vector<Bytes> d;
  for (int i = 0; i < 10; ++i) d.push_back(encode(l.tx, ifpFor(i)));
  UdptlSender stray(opts(UdptlEc::Redundancy));
  stray.setNextSeq(30000);
  const Bytes s = encode(stray, {0x42});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(feed(l.rx, d[i], l.sink));
    if (i == 4) {
      ASSERT_TRUE(feed(l.rx, s, l.sink));
    }
  }
  expectInOrder(l.sink, 0, 10);
  EXPECT_EQ(l.rx.stats().strays, 1u);
  EXPECT_EQ(l.rx.stats().resyncs, 0u);
}

TEST(UdptlReceiver, LongGapInsideTheWindowIsCountedLost) {
  Link l(opts(UdptlEc::Redundancy, 3));
  for (int i = 0; i < 100; ++i) {
    const Bytes d = encode(l.tx, ifpFor(i));
    if (i >= 10 && i < 60) continue;
    ASSERT_TRUE(feed(l.rx, d, l.sink));
  }
  EXPECT_EQ(l.rx.stats().lost, 47u);
  EXPECT_EQ(l.rx.stats().recovered, 3u);
  EXPECT_EQ(l.sink.got.size(), 53u);
  EXPECT_EQ(l.rx.stats().resyncs, 0u);
}

// --- datagram size limits -------------------------------------------------------------------

TEST(UdptlEncode, RedundancyShrinksToFitMaxDatagram) {
  // Each IFP of 20 bytes costs 21 in a datagram; the primary's packet is 2 + 21 + 2 = 25.
  UdptlSender tx(opts(UdptlEc::Redundancy, 3, 25 + 21 + 10));
  const Bytes ifp(20, 0x5a);
  for (int i = 0; i < 5; ++i) {
    const Bytes d = encode(tx, ifp);
    ASSERT_LE(d.size(), 56u);
    auto p = parseUdptl(d.data(), d.size());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->secondaryCount, i == 0 ? 0u : 1u);
  }
  // Roomier: all three.
  tx.setOptions(opts(UdptlEc::Redundancy, 3, 400));
  const Bytes d = encode(tx, ifp);
  EXPECT_EQ(parseUdptl(d.data(), d.size())->secondaryCount, 3u);
  // The caller's buffer is a limit too.
  Bytes small(40);
  const std::size_t n = tx.encode(ifp.data(), ifp.size(), small.data(), small.size());
  ASSERT_EQ(n, 25u);
  EXPECT_EQ(parseUdptl(small.data(), n)->secondaryCount, 0u);
}

TEST(UdptlEncode, PrimaryThatDoesNotFitMakesNothing) {
  UdptlSender tx(opts(UdptlEc::Redundancy, 3, 30));
  const Bytes big(27, 1);  // 2 + 1 + 27 + 2 = 32 > 30
  Bytes out(100);
  EXPECT_EQ(tx.encode(big.data(), big.size(), out.data(), out.size()), 0u);
  EXPECT_EQ(tx.nextSeq(), 0);  // no sequence number used
  const Bytes fits(25, 1);     // exactly 30 bytes
  EXPECT_EQ(tx.encode(fits.data(), fits.size(), out.data(), out.size()), 30u);
  EXPECT_EQ(tx.encode(fits.data(), 0, out.data(), out.size()), 0u);
  EXPECT_EQ(udptlMaxIfp(30), 23u);  // FEC's bare overhead (4) is the bound
  EXPECT_EQ(udptlMaxIfp(400), 392u);
  EXPECT_EQ(udptlMaxIfp(7), 0u);
}

TEST(UdptlEncode, IfpTooLargeToKeepIsSentButNotRepeated) {
  // Over kUdptlMaxIfp an IFP still goes out as a primary when the datagram limit allows, but the
  // ring does not keep it: the next datagram's redundancy stops before it.
  UdptlSender tx(opts(UdptlEc::Redundancy, 3, 4000));
  encode(tx, ifpFor(1));
  const Bytes big(kUdptlMaxIfp + 100, 0x77);
  const Bytes d1 = encode(tx, big);
  ASSERT_EQ(d1.size(), 2 + 2 + big.size() + 2 + 1 + ifpFor(1).size());
  const Bytes d2 = encode(tx, ifpFor(2));
  EXPECT_EQ(parseUdptl(d2.data(), d2.size())->secondaryCount, 0u);
}

TEST(UdptlEncode, IfpBudgetLeavesRoomForTheErrorRecovery) {
  // 400 bytes, redundancy 3: 4 copies of (IFP + 2) after 4 header bytes -> 99 - 2 = 97.
  EXPECT_EQ(udptlIfpBudget(opts(UdptlEc::Redundancy, 3, 400)), 97u);
  EXPECT_EQ(udptlIfpBudget(opts(UdptlEc::None, 3, 400)), udptlMaxIfp(400));
  UdptlOptions fec = opts(UdptlEc::Fec, 0, 400);  // entries 3: (400 - 6) / 4 - 2 = 96
  EXPECT_EQ(udptlIfpBudget(fec), 96u);
  // Small datagrams: not below 80, never above what fits at all.
  EXPECT_EQ(udptlIfpBudget(opts(UdptlEc::Redundancy, 3, 200)), 80u);
  EXPECT_EQ(udptlIfpBudget(opts(UdptlEc::Redundancy, 3, 72)), udptlMaxIfp(72));
  // The budget really fits: IFPs of that size carry their full redundancy.
  for (std::size_t d : {120u, 272u, 400u, 1400u}) {
    UdptlSender tx(opts(UdptlEc::Redundancy, 3, d));
    const std::size_t n = udptlIfpBudget(tx.options());
    if (n <= 80) continue;
    const Bytes ifp(n, 0x42);
    Bytes last;
    for (int i = 0; i < 5; ++i) last = encode(tx, ifp);
    ASSERT_FALSE(last.empty());
    EXPECT_EQ(parseUdptl(last.data(), last.size())->secondaryCount, 3u) << d;
  }
}

TEST(UdptlEncode, FecShrinksToFitMaxDatagram) {
  UdptlOptions o = opts(UdptlEc::Fec, 0, 60);
  UdptlSender tx(o);
  const Bytes ifp(10, 0x33);
  Bytes last;
  for (int i = 0; i < 12; ++i) {
    last = encode(tx, ifp);
    ASSERT_FALSE(last.empty());
    EXPECT_LE(last.size(), 60u);
  }
  auto p = parseUdptl(last.data(), last.size());
  ASSERT_TRUE(p.ok());
  // 2 + 11 + 4 = 17 bare; each word costs 11: three words fit (50), not four... entries 3 = 50.
  EXPECT_EQ(p->fecCount, 3u);
  tx.setOptions(opts(UdptlEc::Fec, 0, 40));
  last = encode(tx, ifp);
  EXPECT_EQ(parseUdptl(last.data(), last.size())->fecCount, 2u);
}

// --- malformed input ------------------------------------------------------------------------

struct BadCase {
  const char* name;
  Bytes data;
  const char* code;
  const char* words;  // part of the message
};

TEST(UdptlParse, MalformedDatagramsAreRefusedWithAReason) {
  const std::vector<BadCase> cases = {
      {"empty", {}, "udptl_truncated", "empty"},
      {"one byte", {0x00}, "udptl_truncated", "sequence number"},
      {"no primary length", {0x00, 0x01}, "udptl_truncated", "primary IFP length"},
      {"primary past the end", {0x00, 0x01, 0x05, 0x01, 0x02}, "udptl_truncated", "primary IFP"},
      {"two-octet length cut", {0x00, 0x01, 0x81}, "udptl_truncated", "primary IFP length"},
      {"fragmented primary", {0x00, 0x01, 0xc1, 0x00}, "udptl_fragmented", "16K"},
      {"fragmented count", {0x00, 0x01, 0x01, 0x02, 0x00, 0xc4}, "udptl_fragmented", "count"},
      {"empty primary", {0x00, 0x01, 0x00, 0x00, 0x00}, "udptl_empty_ifp", "empty"},
      {"no error recovery", {0x00, 0x01, 0x01, 0x02}, "udptl_truncated", "error-recovery"},
      {"no secondary count", {0x00, 0x01, 0x01, 0x02, 0x00}, "udptl_truncated", "count"},
      {"secondary past the end",
       {0x00, 0x01, 0x01, 0x02, 0x00, 0x02, 0x01, 0x02, 0x03, 0x00},
       "udptl_truncated",
       "secondary IFP"},
      {"fewer secondaries than counted",
       {0x00, 0x01, 0x01, 0x02, 0x00, 0x03, 0x01, 0x02},
       "udptl_truncated",
       "secondary IFP length"},
      {"trailing bytes", {0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x99}, "udptl_trailing", "1 bytes"},
      {"fec-npackets of no octets",
       {0x00, 0x01, 0x01, 0x02, 0x80, 0x00, 0x00},
       "udptl_bad_integer",
       "fec-npackets"},
      {"fec-npackets of 5 octets",
       {0x00, 0x01, 0x01, 0x02, 0x80, 0x05, 0, 0, 0, 0, 1, 0x00},
       "udptl_bad_integer",
       "fec-npackets"},
      {"negative fec-npackets",
       {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0xff, 0x00},
       "udptl_bad_integer",
       "negative"},
      {"fec word past the end",
       {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03, 0x01, 0x04, 0xaa},
       "udptl_truncated",
       "FEC word"},
      {"fec without words",
       {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03},
       "udptl_truncated",
       "FEC word count"},
  };
  for (const auto& c : cases) {
    auto p = parseUdptl(c.data.data(), c.data.size());
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.error().code, c.code) << c.name << ": " << p.error().message;
    EXPECT_NE(p.error().message.find(c.words), std::string::npos)
        << c.name << ": " << p.error().message;

    UdptlReceiver rx;
    Sink sink;
    EXPECT_FALSE(feed(rx, c.data, sink)) << c.name;
    EXPECT_TRUE(sink.got.empty()) << c.name;
    EXPECT_EQ(rx.stats().malformed, 1u) << c.name;
    EXPECT_EQ(rx.stats().received, 0u) << c.name;
    EXPECT_EQ(rx.lastError(), p.error().message) << c.name;
  }
}

TEST(UdptlReceiver, OversizedIfpIsRefused) {
  Bytes d = {0x00, 0x01, 0x85, 0xdc};  // primary of 1500 bytes
  d.resize(4 + 1500, 0x11);
  d.push_back(0x00);
  d.push_back(0x00);
  ASSERT_TRUE(parseUdptl(d.data(), d.size()).ok());
  UdptlReceiver rx;
  Sink sink;
  EXPECT_FALSE(feed(rx, d, sink));
  EXPECT_NE(rx.lastError().find("1500"), std::string::npos);
  EXPECT_TRUE(sink.got.empty());
}

TEST(UdptlReceiver, MalformedDatagramLeavesTheStreamIntact) {
  Link l(opts(UdptlEc::Redundancy));
  std::vector<Bytes> d;
  for (int i = 0; i < 6; ++i) d.push_back(encode(l.tx, ifpFor(i)));
  for (int i = 0; i < 6; ++i) {
    Bytes cut = d[i];
    cut.pop_back();
    EXPECT_FALSE(feed(l.rx, cut, l.sink));
    ASSERT_TRUE(feed(l.rx, d[i], l.sink));
  }
  expectInOrder(l.sink, 0, 6);
  EXPECT_EQ(l.rx.stats().malformed, 6u);
}

TEST(UdptlReceiver, HostileFecParametersAreIgnoredNotTrusted) {
  // A span x entries far beyond the window, and words for sequence numbers never seen: the
  // primary is delivered, nothing is "repaired", nothing is read out of bounds.
  UdptlReceiver rx;
  Sink sink;
  const Bytes huge = {0x00, 0x10, 0x01, 0x06, 0x80, 0x02, 0x7f, 0xff, 0x01, 0x01, 0xaa};
  ASSERT_TRUE(feed(rx, huge, sink));
  const Bytes wild = {0x00, 0x11, 0x01, 0x07, 0x80, 0x01, 0x01, 0x02, 0x01, 0xaa, 0x00};
  ASSERT_TRUE(feed(rx, wild, sink));
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint16_t>{16, 17}));
  EXPECT_EQ(rx.stats().recovered, 0u);
}

}  // namespace
}  // namespace vfax::trunks::sip
