#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "trunks/iax2/engine_internal.h"
#include "trunks/iax2/frame.h"
#include "trunks/iax2/jitter_buffer.h"
#include "trunks/iax2/md5.h"

namespace vfax::trunks::iax2 {
namespace {

TEST(Iax2Md5, Rfc1321Vectors) {
  auto hex = [](std::string_view s) { return md5Response(s, ""); };
  EXPECT_EQ(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
  EXPECT_EQ(md5Response("1234", "secret"), hex("1234secret"));
  EXPECT_TRUE(responsesEqual("ABCdef", "abcDEF"));
  EXPECT_FALSE(responsesEqual("abc", "abd"));
  EXPECT_FALSE(responsesEqual("abc", "abcd"));
}

TEST(Iax2Frame, FullFrameRoundTrip) {
  FullFrame f;
  f.srcCall = 0x1234;
  f.dstCall = 0x7fff;
  f.retransmit = true;
  f.timestamp = 0xdeadbeef;
  f.oseq = 7;
  f.iseq = 9;
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(Cmd::New);
  IeList ies;
  ies.addU16(Ie::Version, 2).add(Ie::CalledNumber, "100").addU32(Ie::Format, kFormatUlaw);
  ASSERT_TRUE(ies.encode(f.payload));
  auto bytes = serializeFull(f);
  ASSERT_EQ(bytes.size(), kFullHeader + f.payload.size());
  EXPECT_EQ(classify(bytes.data(), bytes.size()), DatagramKind::Full);
  auto g = parseFull(bytes.data(), bytes.size());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->srcCall, 0x1234);
  EXPECT_EQ(g->dstCall, 0x7fff);
  EXPECT_TRUE(g->retransmit);
  EXPECT_EQ(g->timestamp, 0xdeadbeefu);
  EXPECT_EQ(g->oseq, 7);
  EXPECT_EQ(g->iseq, 9);
  EXPECT_TRUE(g->isIax(Cmd::New));
  auto back = IeList::decode(g->payload.data(), g->payload.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->u16(Ie::Version), 2);
  EXPECT_EQ(back->str(Ie::CalledNumber), "100");
  EXPECT_EQ(back->u32(Ie::Format), kFormatUlaw);
  EXPECT_FALSE(back->u16(Ie::Format));  // wrong width is not silently accepted
  EXPECT_EQ(describe(*g), "IAX NEW");
}

TEST(Iax2Frame, SubclassPowerOfTwoEncoding) {
  std::uint8_t out = 0;
  ASSERT_TRUE(encodeSubclass(0x40, out));
  EXPECT_EQ(out, 0x40);
  ASSERT_TRUE(encodeSubclass(0x100, out));
  EXPECT_EQ(out, 0x88);
  EXPECT_FALSE(encodeSubclass(0x180, out));
  FullFrame f;
  f.srcCall = 1;
  f.type = FrameType::Voice;
  f.subclass = 0x400;
  auto bytes = serializeFull(f);
  auto g = parseFull(bytes.data(), bytes.size());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->subclass, 0x400u);
}

TEST(Iax2Frame, MalformedInputIsRefused) {
  std::uint8_t shortFull[8] = {0x80, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(classify(shortFull, sizeof(shortFull)), DatagramKind::Malformed);
  EXPECT_FALSE(parseFull(shortFull, sizeof(shortFull)));
  std::uint8_t badType[12] = {0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 99, 1};
  EXPECT_FALSE(parseFull(badType, sizeof(badType)));
  std::uint8_t badShift[12] = {0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xff};
  EXPECT_FALSE(parseFull(badShift, sizeof(badShift)));
  std::uint8_t zeroCall[12] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 1};
  EXPECT_FALSE(parseFull(zeroCall, sizeof(zeroCall)));
  std::uint8_t truncatedIe[] = {1, 5, '1', '2'};
  EXPECT_FALSE(IeList::decode(truncatedIe, sizeof(truncatedIe)));
  std::uint8_t loneId[] = {1};
  EXPECT_FALSE(IeList::decode(loneId, sizeof(loneId)));
  std::uint8_t meta[6] = {0, 0, 0x80, 0, 0, 0};
  EXPECT_EQ(classify(meta, sizeof(meta)), DatagramKind::Other);
  EXPECT_EQ(classify(meta, 2), DatagramKind::Malformed);
}

TEST(Iax2Frame, MiniFrame) {
  std::uint8_t payload[160];
  for (int i = 0; i < 160; ++i) payload[i] = static_cast<std::uint8_t>(i);
  std::uint8_t buf[kMiniHeader + 160];
  auto n = serializeMini(0x0123, 0xfff0, payload, 160, buf);
  ASSERT_EQ(n, sizeof(buf));
  EXPECT_EQ(classify(buf, n), DatagramKind::Mini);
  auto m = parseMini(buf, n);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->srcCall, 0x0123);
  EXPECT_EQ(m->timestamp, 0xfff0);
  ASSERT_EQ(m->len, 160u);
  EXPECT_EQ(m->data[159], 159);
}

// The meta trunk frame layouts of RFC 5456 8.1.2 (as Asterisk sends them), byte by byte.
TEST(Iax2Frame, TrunkFrameWithoutTimestamps) {
  const std::uint8_t a[3] = {1, 2, 3};
  const std::uint8_t b[2] = {9, 8};
  TrunkWriter w;
  w.begin(0x01020304, false);
  ASSERT_TRUE(w.add(0x0005, 0, a, 3));
  ASSERT_TRUE(w.add(0x7001, 0, b, 2));
  const std::vector<std::uint8_t> expected = {0,    0, 1, 0, 1, 2, 3, 4,  // meta trunk, ts
                                              0,    5, 0, 3, 1, 2, 3,     // call 5, 3 bytes
                                              0x70, 1, 0, 2, 9, 8};       // call 0x7001, 2 bytes
  ASSERT_EQ(std::vector<std::uint8_t>(w.data(), w.data() + w.size()), expected);
  EXPECT_EQ(classify(w.data(), w.size()), DatagramKind::Trunk);
  std::vector<TrunkEntry> entries;
  auto h = parseTrunk(w.data(), w.size(), entries);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->timestamps);
  EXPECT_EQ(h->timestamp, 0x01020304u);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].srcCall, 5);
  ASSERT_EQ(entries[0].len, 3u);
  EXPECT_EQ(entries[0].data[2], 3);
  EXPECT_EQ(entries[1].srcCall, 0x7001);
  EXPECT_EQ(entries[1].len, 2u);
}

TEST(Iax2Frame, TrunkFrameWithTimestamps) {
  const std::uint8_t a[2] = {7, 7};
  TrunkWriter w;
  w.begin(40, true);
  ASSERT_TRUE(w.add(0x0102, 0xfff0, a, 2));
  const std::vector<std::uint8_t> expected = {0,    0,    1, 1, 0, 0, 0, 40,  // timestamps bit
                                              0,    2,                        // length first
                                              1,    2,                        // call number
                                              0xff, 0xf0, 7, 7};              // its timestamp
  ASSERT_EQ(std::vector<std::uint8_t>(w.data(), w.data() + w.size()), expected);
  std::vector<TrunkEntry> entries;
  auto h = parseTrunk(w.data(), w.size(), entries);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->timestamps);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].srcCall, 0x0102);
  EXPECT_EQ(entries[0].timestamp, 0xfff0);
  EXPECT_EQ(entries[0].len, 2u);
}

TEST(Iax2Frame, TrunkWriterStaysUnderTheMtu) {
  std::uint8_t voice[320] = {};
  TrunkWriter w;
  w.begin(0, true);
  int added = 0;
  while (w.add(static_cast<std::uint16_t>(added + 1), 0, voice, sizeof(voice))) ++added;
  EXPECT_EQ(added, static_cast<int>((kTrunkMtu - kTrunkHeader) / (kTrunkEntryHeaderTs + 320)));
  EXPECT_LE(w.size(), kTrunkMtu);
  EXPECT_FALSE(w.fits(sizeof(voice)));
  w.clear();
  EXPECT_TRUE(w.empty());
}

TEST(Iax2Frame, MalformedTrunkFramesAreRefused) {
  std::vector<TrunkEntry> entries;
  auto refused = [&](std::vector<std::uint8_t> b) {
    bool bad = !parseTrunk(b.data(), b.size(), entries);
    return bad && entries.empty();
  };
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0, 0, 1}));                 // no entry at all
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0}));                       // short header
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 0}));        // entry header cut
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 0, 9, 1}));  // length past the end
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1}));  // call number 0
  EXPECT_TRUE(refused({0, 0, 1, 2, 0, 0, 0, 1, 0, 5, 0, 1, 1}));  // unknown command data bit
  EXPECT_TRUE(refused({0, 0, 2, 0, 0, 0, 0, 1, 0, 5, 0, 1, 1}));  // another meta command
  EXPECT_TRUE(refused({0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 5, 0}));  // with timestamps: cut
  // The second entry runs past the end: the whole frame goes, not just that entry.
  EXPECT_TRUE(refused({0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 0, 1, 1, 0, 6, 0, 4, 1}));
  // A video meta frame is not a trunk frame.
  std::vector<std::uint8_t> video = {0, 0, 0x80, 5, 0, 0, 1};
  EXPECT_EQ(classify(video.data(), video.size()), DatagramKind::Other);
  EXPECT_TRUE(refused(video));
  // A zero-length entry is well-formed; the engine drops it.
  std::vector<std::uint8_t> empty = {0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 0, 0};
  ASSERT_TRUE(parseTrunk(empty.data(), empty.size(), entries));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].len, 0u);
}

TEST(Iax2Jitter, ReordersDropsDuplicatesAndLateFrames) {
  JitterBuffer jb(2);
  std::uint8_t d[4] = {1, 2, 3, 4};
  jb.put(40, kFormatUlaw, d, 4);
  EXPECT_EQ(jb.pop(), nullptr);  // prefilling
  jb.put(20, kFormatUlaw, d, 4);
  jb.put(20, kFormatUlaw, d, 4);  // duplicate
  EXPECT_EQ(jb.stats().duplicates, 1u);
  auto* f = jb.pop();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->timestamp, 20u);
  jb.put(0, kFormatUlaw, d, 4);  // late: 20 was played already
  EXPECT_EQ(jb.stats().late, 1u);
  f = jb.pop();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->timestamp, 40u);
  EXPECT_EQ(jb.pop(), nullptr);  // underrun
  EXPECT_EQ(jb.stats().underruns, 1u);
}

TEST(Iax2Jitter, BoundedAcrossTimestampWrap) {
  JitterBuffer jb(3);
  std::uint8_t d[2] = {0, 0};
  std::uint32_t ts = 0xffffffffu - 100;
  for (int i = 0; i < 100; ++i) {
    jb.put(ts, kFormatAlaw, d, 2);
    ts += 20;
    EXPECT_LE(jb.size(), JitterBuffer::kCapacity);
  }
  std::uint32_t last = 0;
  bool first = true;
  while (const auto* f = jb.pop()) {
    if (!first) {
      EXPECT_EQ(f->timestamp - last, 20u);
    }
    last = f->timestamp;
    first = false;
  }
}

TEST(Iax2Jitter, ABurstAfterAStallIsKeptWhole) {
  JitterBuffer jb(3);
  std::uint8_t d[2] = {0, 0};
  std::uint32_t ts = 0;
  for (int i = 0; i < 3; ++i, ts += 20) jb.put(ts, kFormatAlaw, d, 2);
  for (int tick = 0; tick < 100; ++tick) {
    if (tick == 50) {
      // The sender stalled for 200 ms and catches up: 10 frames at once.
      for (int i = 0; i < 10; ++i, ts += 20) jb.put(ts, kFormatAlaw, d, 2);
    } else if (tick < 40 || tick > 50) {
      jb.put(ts, kFormatAlaw, d, 2);
      ts += 20;
    }
    jb.pop();
  }
  EXPECT_EQ(jb.stats().overflows, 0u);  // nothing dropped: a gap would break the modem
}

TEST(Iax2Jitter, DriftOfAFasterFarClockIsTrimmedSlowly) {
  JitterBuffer jb(3);
  std::uint8_t d[2] = {0, 0};
  std::uint32_t ts = 0;
  // The far end sends 1% more frames than we play: one extra frame every 100 ticks.
  std::size_t most = 0;
  for (int tick = 0; tick < 5000; ++tick) {
    jb.put(ts, kFormatAlaw, d, 2);
    ts += 20;
    if (tick % 100 == 99) {
      jb.put(ts, kFormatAlaw, d, 2);
      ts += 20;
    }
    jb.pop();
    most = std::max(most, jb.size());
  }
  EXPECT_LE(most, 3u + JitterBuffer::kDriftSlack + 4u);  // the delay stays bounded
  EXPECT_GT(jb.stats().overflows, 0u);
  EXPECT_EQ(jb.stats().underruns, 0u);
}

TEST(Iax2Jitter, A2SecondStallOfTheLoopLosesNothingAndGrowsOnlyThen) {
  JitterBuffer jb(5, &detail::voiceQuiet);
  std::uint8_t loud[160];
  std::memset(loud, 0x2a, sizeof loud);  // A-law: a few thousand in linear
  std::uint32_t ts = 0;
  for (int tick = 0; tick < 300; ++tick) {
    jb.put(ts, kFormatAlaw, loud, sizeof loud);
    ts += 20;
    jb.pop();
  }
  EXPECT_EQ(jb.slots(), 8u);  // a steady call keeps a handful of slots
  // Our own loop stalled 2 s: 100 frames wait in the socket and come in at once, then the
  // catch-up ticks play them.
  for (int i = 0; i < 100; ++i, ts += 20) jb.put(ts, kFormatAlaw, loud, sizeof loud);
  for (int tick = 0; tick < 1000; ++tick) {
    jb.put(ts, kFormatAlaw, loud, sizeof loud);
    ts += 20;
    ASSERT_NE(jb.pop(), nullptr);
  }
  EXPECT_EQ(jb.stats().overflows, 0u);
  EXPECT_EQ(jb.stats().underruns, 0u);
  EXPECT_LE(jb.slots(), JitterBuffer::kCapacity);
}

TEST(Iax2Jitter, DriftIsTrimmedOnlyFromSilence) {
  // A stall of the far end left 1 s of delay behind (its burst was kept); the trim waits for a
  // pause and never cuts the modem signal.
  JitterBuffer jb(5, &detail::voiceQuiet);
  std::uint8_t loud[160], quiet[160];
  std::memset(loud, 0x2a, sizeof loud);
  std::memset(quiet, 0xd5, sizeof quiet);  // A-law idle: +8
  std::uint32_t ts = 0;
  std::vector<bool> loudAt;  // by timestamp / 20
  auto put = [&](bool isLoud) {
    jb.put(ts, kFormatAlaw, isLoud ? loud : quiet, 160);
    loudAt.push_back(isLoud);
    ts += 20;
  };
  for (int i = 0; i < 55; ++i) put(true);
  std::uint32_t last = 0;
  int played = 0;
  for (int tick = 0; tick < 1000; ++tick) {
    put((tick / 300) % 2 == 0);  // 6 s of signal, 6 s of silence, ...
    const VoiceFrame* f = jb.pop();
    ASSERT_NE(f, nullptr);
    if (played++ > 0) {
      // Whatever was skipped was silence.
      for (std::uint32_t t = last + 20; t != f->timestamp; t += 20) {
        ASSERT_FALSE(loudAt[t / 20]) << "a trim cut into the signal at tick " << tick;
      }
    }
    last = f->timestamp;
  }
  EXPECT_GT(jb.stats().overflows, 40u);                  // the delay was cut ...
  EXPECT_LE(jb.size(), 5u + JitterBuffer::kDriftSlack);  // ... down to near the target
}

}  // namespace
}  // namespace vfax::trunks::iax2
