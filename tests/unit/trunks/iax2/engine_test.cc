// Two IAX2 engines (or an engine and hand-made frames) over an in-memory network with a manual
// clock: registration, calls both ways, reliability and the safety rules.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>

#include "trunks/iax2/engine.h"
#include "trunks/iax2/md5.h"

namespace vfax::trunks::iax2 {
namespace {

struct Packet {
  Address from, to;
  std::vector<std::uint8_t> bytes;
};

struct Net {
  std::deque<Packet> queue;
  std::vector<Packet> seen;  // everything sent, for inspection
  std::function<bool(const Packet&)> drop;
  std::int64_t now = 1'000'000;
  std::map<std::string, Engine*> nodes;

  void run(int rounds = 1000) {
    while (!queue.empty() && rounds-- > 0) {
      Packet p = std::move(queue.front());
      queue.pop_front();
      if (drop && drop(p)) continue;
      auto it = nodes.find(p.to.toString());
      if (it != nodes.end()) it->second->onDatagram(p.bytes.data(), p.bytes.size(), p.from, now);
    }
  }
  // Advances time in 20 ms steps, polling every engine.
  void advance(int ms) {
    for (int t = 0; t < ms; t += 20) {
      now += 20;
      for (auto& [k, e] : nodes) e->poll(now);
      run();
    }
  }
};

struct Node : Transport, EngineListener {
  Node(Net& n, const std::string& ip, int port, EngineConfig cfg) : net(n) {
    addr = *Address::numeric(ip, port);
    engine = std::make_unique<Engine>(std::move(cfg), *this, *this);
    net.nodes[addr.toString()] = engine.get();
  }
  void sendTo(const Address& to, const std::uint8_t* d, std::size_t n) override {
    Packet p{addr, to, std::vector<std::uint8_t>(d, d + n)};
    net.seen.push_back(p);
    net.queue.push_back(std::move(p));
  }
  void onInboundCall(std::uint16_t call, const InboundCallInfo& info) override {
    inbound.push_back(call);
    lastInfo = info;
  }
  void onAnswered(std::uint16_t call) override { answered.push_back(call); }
  void onEnded(std::uint16_t call, EndKind kind, int cause, const std::string&) override {
    ended.push_back(call);
    lastKind = kind;
    lastCause = cause;
  }

  Net& net;
  Address addr;
  std::unique_ptr<Engine> engine;
  std::vector<std::uint16_t> inbound, answered, ended;
  InboundCallInfo lastInfo;
  EndKind lastKind = EndKind::Hangup;
  int lastCause = 0;
};

EngineConfig serverConfig() {
  EngineConfig c;
  c.peers.push_back(PeerConfig{"modem", "s3cret", "", 4569, ""});
  return c;
}

EngineConfig clientConfig(const std::string& secret, int serverPort = 4569) {
  EngineConfig c;
  c.registrations.push_back(RegistrationConfig{"127.0.0.1", serverPort, "modem", secret, 60});
  return c;
}

TEST(Iax2Engine, RegistersWithTheRightSecretOnly) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  Node good(net, "127.0.0.2", 4570, clientConfig("s3cret"));
  net.advance(100);
  auto regs = good.engine->registrations(net.now);
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_TRUE(regs[0].registered) << regs[0].lastError;
  auto peers = server.engine->registrations(net.now);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_TRUE(peers[0].registered);
  EXPECT_EQ(peers[0].address, "127.0.0.2:4570");

  Net net2;
  Node server2(net2, "127.0.0.1", 4569, serverConfig());
  Node bad(net2, "127.0.0.2", 4570, clientConfig("wrong"));
  net2.advance(100);
  EXPECT_FALSE(bad.engine->registrations(net2.now)[0].registered);
  EXPECT_FALSE(server2.engine->registrations(net2.now)[0].registered);
  EXPECT_EQ(server2.engine->stats().authFailures, 1u);
}

TEST(Iax2Engine, ReRegistersBeforeExpiryAndReleasesOnShutdown) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  Node client(net, "127.0.0.2", 4570, clientConfig("s3cret"));
  net.advance(100);
  int regreqs = 0;
  for (const auto& p : net.seen) {
    auto f = parseFull(p.bytes.data(), p.bytes.size());
    if (f && f->isIax(Cmd::RegReq)) ++regreqs;
  }
  net.advance(120'000);  // two refresh periods of 60 s
  int after = 0;
  for (const auto& p : net.seen) {
    auto f = parseFull(p.bytes.data(), p.bytes.size());
    if (f && f->isIax(Cmd::RegReq)) ++after;
  }
  EXPECT_GE(after - regreqs, 4);  // at least two more challenge rounds
  EXPECT_TRUE(server.engine->registrations(net.now)[0].registered);
  client.engine->shutdown(net.now);
  net.advance(200);
  EXPECT_FALSE(server.engine->registrations(net.now)[0].registered);
}

// A registered client calls the server, which authenticates it; then the reverse direction.
TEST(Iax2Engine, CallsBothWaysWithVoice) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  EngineConfig cc = clientConfig("s3cret");
  cc.peers.push_back(PeerConfig{"pbx", "s3cret", "127.0.0.1", 4569, ""});
  cc.outboundRoute = "modem";  // the registration's username: calls go to the server
  cc.codecs = {kFormatUlaw};
  Node client(net, "127.0.0.2", 4570, cc);
  net.advance(100);

  auto call = client.engine->dial("100", "5551000", "Modem", net.now);
  ASSERT_TRUE(call.ok()) << call.error().message;
  net.advance(100);
  ASSERT_EQ(server.inbound.size(), 1u);
  EXPECT_EQ(server.lastInfo.peer, "modem");
  EXPECT_EQ(server.lastInfo.calledNumber, "100");
  EXPECT_EQ(server.lastInfo.callerNumber, "5551000");
  EXPECT_EQ(server.lastInfo.format, kFormatUlaw);
  std::uint16_t in = server.inbound[0];
  server.engine->answer(in, net.now);
  net.advance(40);
  ASSERT_EQ(client.answered.size(), 1u);

  // 70 s of voice: mini frames, a full frame at every 16-bit timestamp wrap, PINGs.
  std::uint8_t frame[160];
  int got = 0;
  std::uint32_t lastTs = 0;
  for (int i = 0; i < 3500; ++i) {
    frame[0] = static_cast<std::uint8_t>(i);
    client.engine->sendVoice(*call, frame, 160, net.now);
    net.advance(20);
    if (const VoiceFrame* f = server.engine->popVoice(in)) {
      if (got > 0) {
        EXPECT_EQ(f->timestamp - lastTs, 20u) << "at frame " << i;
      }
      lastTs = f->timestamp;
      EXPECT_EQ(f->len, 160u);
      ++got;
    }
  }
  EXPECT_GE(got, 3490);
  EXPECT_GT(lastTs, 65536u);  // crossed the 16-bit wrap without losing frames
  server.engine->hangup(in, 16, "done", net.now);
  net.advance(100);
  ASSERT_EQ(client.ended.size(), 1u);
  EXPECT_EQ(client.lastCause, 16);

  // The server calls the registered client (outbound route: the only peer).
  auto back = server.engine->dial("5551000", "100", "vfax", net.now);
  ASSERT_TRUE(back.ok()) << back.error().message;
  net.advance(100);
  // The client side has a peer "pbx" for the server, with the same secret: authenticated.
  ASSERT_EQ(client.inbound.size(), 1u);
  client.engine->reject(client.inbound[0], 17, "busy", net.now);
  net.advance(100);
  ASSERT_EQ(server.ended.size(), 1u);
  EXPECT_EQ(server.lastKind, EndKind::Busy);
}

TEST(Iax2Engine, RetransmitsLostFramesAndAcceptsDuplicatesOnce) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  Node client(net, "127.0.0.2", 4570, clientConfig("s3cret"));
  int dropped = 0;
  // Loses every other full frame from the client at first.
  net.drop = [&](const Packet& p) {
    if (!(p.from == client.addr) || dropped >= 3) return false;
    if (!(p.bytes[0] & 0x80)) return false;
    ++dropped;
    return dropped % 2 == 1;
  };
  net.advance(3000);
  EXPECT_TRUE(client.engine->registrations(net.now)[0].registered);
  EXPECT_GT(client.engine->stats().retransmits, 0u);
}

TEST(Iax2Engine, UnknownPeerAndWrongSecretCannotCall) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  EngineConfig cc;
  cc.peers.push_back(PeerConfig{"intruder", "x", "127.0.0.1", 4569, "intruder"});
  Node intruder(net, "127.0.0.3", 4570, cc);
  ASSERT_TRUE(intruder.engine->dial("100", "", "", net.now).ok());
  net.advance(200);
  EXPECT_TRUE(server.inbound.empty());
  EXPECT_EQ(intruder.ended.size(), 1u);
  EXPECT_EQ(intruder.lastKind, EndKind::Reject);

  EngineConfig wrong;
  wrong.peers.push_back(PeerConfig{"pbx", "not-the-secret", "127.0.0.1", 4569, "modem"});
  Node liar(net, "127.0.0.4", 4570, wrong);
  ASSERT_TRUE(liar.engine->dial("100", "", "", net.now).ok());
  net.advance(200);
  EXPECT_TRUE(server.inbound.empty());
  EXPECT_EQ(liar.lastKind, EndKind::Reject);
  EXPECT_GE(server.engine->stats().authFailures, 2u);
}

TEST(Iax2Engine, SpoofedAndReplayedFramesDoNotTouchACall) {
  Net net;
  Node server(net, "127.0.0.1", 4569, serverConfig());
  EngineConfig cc = clientConfig("s3cret");
  Node client(net, "127.0.0.2", 4570, cc);
  net.advance(100);
  auto call = client.engine->dial("100", "", "", net.now);
  ASSERT_TRUE(call.ok());
  net.advance(100);
  ASSERT_EQ(server.inbound.size(), 1u);
  std::uint16_t in = server.inbound[0];
  server.engine->answer(in, net.now);
  net.advance(40);

  // The client's AUTHREP, replayed as a new call from an attacker's address, is refused.
  std::vector<std::uint8_t> authrep, fromClientNew;
  for (const auto& p : net.seen) {
    auto f = parseFull(p.bytes.data(), p.bytes.size());
    if (f && f->isIax(Cmd::AuthRep)) authrep = p.bytes;
    if (f && f->isIax(Cmd::New)) fromClientNew = p.bytes;
  }
  ASSERT_FALSE(authrep.empty());
  Address attacker = *Address::numeric("127.0.0.9", 4570);
  server.engine->onDatagram(fromClientNew.data(), fromClientNew.size(), attacker, net.now);
  net.run();
  server.engine->onDatagram(authrep.data(), authrep.size(), attacker, net.now);
  net.run();
  EXPECT_EQ(server.inbound.size(), 1u);

  // A HANGUP for the live call from the wrong address or with the wrong call number is ignored.
  FullFrame h;
  h.srcCall = *call;
  h.dstCall = in;
  h.oseq = 50;
  h.type = FrameType::Iax;
  h.subclass = static_cast<std::uint32_t>(Cmd::Hangup);
  auto bytes = serializeFull(h);
  server.engine->onDatagram(bytes.data(), bytes.size(), attacker, net.now);
  h.srcCall = static_cast<std::uint16_t>(*call + 1);
  bytes = serializeFull(h);
  server.engine->onDatagram(bytes.data(), bytes.size(), client.addr, net.now);
  net.run();
  EXPECT_TRUE(server.ended.empty());
  EXPECT_TRUE(server.engine->up(in));

  // Garbage of every length is dropped without harm.
  std::vector<std::uint8_t> junk(64);
  for (std::size_t n = 0; n < junk.size(); ++n) {
    junk[n] = static_cast<std::uint8_t>(n * 37 + 0x80);
    server.engine->onDatagram(junk.data(), n, client.addr, net.now);
  }
  net.run();
  EXPECT_TRUE(server.engine->up(in));
}

// A server, a client registered to it, and one call dialled from the client.
struct DialledCall {
  Net net;
  Node server{net, "127.0.0.1", 4569, serverConfig()};
  Node client{net, "127.0.0.2", 4570, clientConfig("s3cret")};
  bool dialled = false;
  DialledCall() {
    net.advance(100);
    dialled = client.engine->dial("100", "", "", net.now).ok();
  }
};

TEST(Iax2Engine, AFarEndThatNeverAnswersIsUnreachable) {
  DialledCall c;
  ASSERT_TRUE(c.dialled);
  auto& net = c.net;
  auto& client = c.client;
  net.drop = [](const Packet&) { return true; };  // the network goes away before the NEW
  net.advance(30'000);
  ASSERT_EQ(client.ended.size(), 1u);
  // Nothing came back: no call was placed (temporary trouble, no send attempt spent).
  EXPECT_EQ(client.lastKind, EndKind::Unreachable);
}

TEST(Iax2Engine, AFarEndLostDuringTheCallIsATimeout) {
  DialledCall c;
  ASSERT_TRUE(c.dialled);
  auto& net = c.net;
  auto& server = c.server;
  auto& client = c.client;
  net.advance(200);
  ASSERT_EQ(server.inbound.size(), 1u);  // the far end took the call: it was placed
  server.engine->answer(server.inbound[0], net.now);
  net.advance(40);
  ASSERT_EQ(client.answered.size(), 1u);
  net.drop = [](const Packet&) { return true; };
  net.advance(60'000);  // the next PING goes unanswered
  ASSERT_EQ(client.ended.size(), 1u);
  EXPECT_EQ(client.lastKind, EndKind::Timeout);
}

// Calls between two engines whose peers are configured `trunk`: the voice of all calls of a
// 20 ms tick travels in one meta trunk datagram (split at the MTU), both entry forms play out
// on the exact 20 ms timestamp grid, and the peer that is not `trunk` sends mini frames.
struct TrunkPair {
  Net net;
  std::unique_ptr<Node> server, client;
  std::vector<std::uint16_t> out, in;  // client's and server's call numbers, same order

  TrunkPair(bool timestamps, int calls, std::uint32_t codec) {
    EngineConfig sc = serverConfig();
    sc.peers[0].trunk = true;
    sc.peers[0].trunkTimestamps = timestamps;
    sc.codecs = {codec};
    server = std::make_unique<Node>(net, "127.0.0.1", 4569, sc);
    EngineConfig cc = clientConfig("s3cret");
    cc.registrations[0].trunk = true;
    cc.registrations[0].trunkTimestamps = timestamps;
    cc.codecs = {codec};
    client = std::make_unique<Node>(net, "127.0.0.2", 4570, cc);
    net.advance(100);
    for (int i = 0; i < calls; ++i) {
      auto c = client->engine->dial("100", "", "", net.now);
      if (c.ok()) out.push_back(*c);
    }
    net.advance(200);
    for (auto no : server->inbound) server->engine->answer(no, net.now);
    in = server->inbound;
    net.advance(100);
  }
  // One 20 ms tick: every call sends one frame both ways, trunks flush, the net delivers.
  void tick(std::size_t len) {
    std::vector<std::uint8_t> frame(len);
    for (std::size_t i = 0; i < out.size(); ++i) {
      frame[0] = static_cast<std::uint8_t>(i);
      client->engine->sendVoice(out[i], frame.data(), len, net.now);
      server->engine->sendVoice(in[i], frame.data(), len, net.now);
    }
    client->engine->flushTrunks();
    server->engine->flushTrunks();
    net.advance(20);
  }
};

int countKind(const Net& net, const Address& from, DatagramKind kind) {
  int n = 0;
  for (const auto& p : net.seen) {
    if (p.from == from && classify(p.bytes.data(), p.bytes.size()) == kind) ++n;
  }
  return n;
}

void expectTrunkedVoice(bool timestamps) {
  TrunkPair t(timestamps, 3, kFormatAlaw);
  ASSERT_EQ(t.out.size(), 3u);
  ASSERT_EQ(t.in.size(), 3u);
  ASSERT_EQ(t.client->answered.size(), 3u);
  const std::size_t before = t.net.seen.size();
  std::vector<int> got(3, 0);
  std::vector<std::uint32_t> lastTs(3, 0);
  for (int tick = 0; tick < 200; ++tick) {
    t.tick(160);
    for (std::size_t i = 0; i < 3; ++i) {
      // Both directions play out on the 20 ms grid, each call its own frames.
      for (auto [engine, no] : {std::pair{t.server->engine.get(), t.in[i]},
                                std::pair{t.client->engine.get(), t.out[i]}}) {
        if (const VoiceFrame* f = engine->popVoice(no)) {
          EXPECT_EQ(f->data[0], i);
          EXPECT_EQ(f->len, 160u);
          if (engine == t.server->engine.get()) {
            if (got[i] > 0) {
              EXPECT_EQ(f->timestamp - lastTs[i], 20u) << "call " << i << " tick " << tick;
            }
            lastTs[i] = f->timestamp;
            ++got[i];
          }
        }
      }
    }
  }
  for (int g : got) EXPECT_GE(g, 190);
  // One datagram per direction and tick carries all three calls (the first frame of each call
  // is a full frame: the format and timestamp anchor).
  int trunkFrames = 0;
  for (std::size_t k = before; k < t.net.seen.size(); ++k) {
    const auto& p = t.net.seen[k];
    if (p.from == t.client->addr &&
        classify(p.bytes.data(), p.bytes.size()) == DatagramKind::Trunk) {
      ++trunkFrames;
    }
  }
  EXPECT_GE(trunkFrames, 198);
  EXPECT_LE(trunkFrames, 200);
  EXPECT_EQ(countKind(t.net, t.client->addr, DatagramKind::Mini), 0);
  EXPECT_EQ(countKind(t.net, t.server->addr, DatagramKind::Mini), 0);
  EXPECT_GE(t.server->engine->stats().trunkFramesIn, 198u);
  EXPECT_EQ(t.server->engine->stats().trunkDropped, 0u);
  EXPECT_EQ(t.client->engine->stats().trunkFramesOut, static_cast<std::uint64_t>(trunkFrames));
}

TEST(Iax2Engine, TrunkFramesWithTimestampsCarryEveryCall) { expectTrunkedVoice(true); }
TEST(Iax2Engine, TrunkFramesWithoutTimestampsCarryEveryCall) { expectTrunkedVoice(false); }

TEST(Iax2Engine, TrunkFramesSplitAtTheMtu) {
  TrunkPair t(true, 10, kFormatSlinear);  // 10 x 326 bytes, 3 fit in one: four a tick
  ASSERT_EQ(t.in.size(), 10u);
  t.tick(320);  // full frames first
  const std::size_t before = t.net.seen.size();
  t.tick(320);
  int trunks = 0;
  for (std::size_t k = before; k < t.net.seen.size(); ++k) {
    const auto& p = t.net.seen[k];
    if (p.from == t.client->addr &&
        classify(p.bytes.data(), p.bytes.size()) == DatagramKind::Trunk) {
      ++trunks;
      EXPECT_LE(p.bytes.size(), kTrunkMtu);
    }
  }
  EXPECT_EQ(trunks, 4);
}

TEST(Iax2Engine, TrunkEntriesOfUnknownCallsAndMalformedTrunkFramesAreDroppedAndCounted) {
  TrunkPair t(true, 1, kFormatAlaw);
  ASSERT_EQ(t.in.size(), 1u);
  t.tick(160);
  t.tick(160);
  Engine& server = *t.server->engine;
  const auto dropped = server.stats().trunkDropped;
  std::uint8_t voice[160] = {};
  TrunkWriter w;
  w.begin(0, true);
  w.add(0x1234, 0, voice, sizeof(voice));  // nobody's call number
  w.add(t.out[0], 40, voice, 0);           // an empty entry
  server.onDatagram(w.data(), w.size(), t.client->addr, t.net.now);
  EXPECT_EQ(server.stats().trunkDropped, dropped + 2);
  // The same entry from another address than the call's: not the call's.
  w.begin(0, true);
  w.add(t.out[0], 60, voice, sizeof(voice));
  server.onDatagram(w.data(), w.size(), *Address::numeric("127.0.0.9", 4570), t.net.now);
  EXPECT_EQ(server.stats().trunkDropped, dropped + 3);
  // Lengths past the end: the whole datagram.
  std::vector<std::uint8_t> bad(w.data(), w.data() + w.size());
  bad[8] = 0x7f;
  server.onDatagram(bad.data(), bad.size(), t.client->addr, t.net.now);
  EXPECT_EQ(server.stats().trunkDropped, dropped + 4);
  // The call goes on.
  for (int i = 0; i < 20; ++i) t.tick(160);
  EXPECT_TRUE(server.up(t.in[0]));
  EXPECT_NE(server.popVoice(t.in[0]), nullptr);
}

TEST(Iax2Engine, APeerWithoutTrunkGetsMiniFramesButTrunkFramesAreStillReceived) {
  Net net;
  EngineConfig sc = serverConfig();  // trunk = false for "modem" (iaxmodem does not trunk)
  Node server(net, "127.0.0.1", 4569, sc);
  EngineConfig cc = clientConfig("s3cret");
  cc.registrations[0].trunk = true;
  Node client(net, "127.0.0.2", 4570, cc);
  net.advance(100);
  auto call = client.engine->dial("100", "", "", net.now);
  ASSERT_TRUE(call.ok());
  net.advance(100);
  ASSERT_EQ(server.inbound.size(), 1u);
  server.engine->answer(server.inbound[0], net.now);
  net.advance(40);
  std::uint8_t frame[160] = {};
  int played = 0;
  for (int i = 0; i < 50; ++i) {
    client.engine->sendVoice(*call, frame, 160, net.now);
    server.engine->sendVoice(server.inbound[0], frame, 160, net.now);
    client.engine->flushTrunks();
    server.engine->flushTrunks();
    net.advance(20);
    if (server.engine->popVoice(server.inbound[0])) ++played;
  }
  EXPECT_GE(played, 40);
  EXPECT_GE(countKind(net, server.addr, DatagramKind::Mini), 45);
  EXPECT_EQ(countKind(net, server.addr, DatagramKind::Trunk), 0);
  EXPECT_GE(countKind(net, client.addr, DatagramKind::Trunk), 45);
}

}  // namespace
}  // namespace vfax::trunks::iax2
