// The IAX2 engine under attack: CALLTOKEN before any session, stateless POKE, no answer longer
// than its request to an unproven address, identical answers for known and unknown names,
// failed authentications blocking their source, bounded and short-lived unproven sessions.
// Hand-made frames against one engine, and a real client engine where the handshake matters.
#include <gtest/gtest.h>

#include <map>

#include "trunks/iax2/engine.h"
#include "trunks/iax2/md5.h"

namespace vfax::trunks::iax2 {
namespace {

struct Sent {
  Address to;
  std::vector<std::uint8_t> bytes;
};

// One engine; everything it sends is recorded; frames go in by hand.
struct Server : Transport, EngineListener {
  explicit Server(EngineConfig cfg) {
    engine = std::make_unique<Engine>(std::move(cfg), *this, *this);
  }
  void sendTo(const Address& to, const std::uint8_t* d, std::size_t n) override {
    sent.push_back({to, std::vector<std::uint8_t>(d, d + n)});
  }
  void onInboundCall(std::uint16_t call, const InboundCallInfo&) override {
    inbound.push_back(call);
  }
  void onAnswered(std::uint16_t) override {}
  void onEnded(std::uint16_t, EndKind, int, const std::string&) override {}

  // Feeds one frame; returns what the engine sent in answer.
  std::vector<Sent> feed(const FullFrame& f, const Address& from) {
    auto bytes = serializeFull(f);
    return feedBytes(bytes, from);
  }
  std::vector<Sent> feedBytes(const std::vector<std::uint8_t>& bytes, const Address& from) {
    sent.clear();
    engine->onDatagram(bytes.data(), bytes.size(), from, now);
    return sent;
  }

  std::int64_t now = 5'000'000;
  std::unique_ptr<Engine> engine;
  std::vector<Sent> sent;
  std::vector<std::uint16_t> inbound;
};

Address addr(const std::string& ip, int port) { return *Address::numeric(ip, port); }

FullFrame iaxFrame(Cmd cmd, std::uint16_t srcCall, const IeList& ies, std::uint16_t dstCall = 0,
                   std::uint8_t oseq = 0, std::uint8_t iseq = 0) {
  FullFrame f;
  f.srcCall = srcCall;
  f.dstCall = dstCall;
  f.timestamp = 3;
  f.oseq = oseq;
  f.iseq = iseq;
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(cmd);
  ies.encode(f.payload);
  return f;
}

IeList newIes(const std::string& user, std::optional<std::string> token) {
  IeList ies;
  ies.addU16(Ie::Version, 2)
      .add(Ie::CalledNumber, "100")
      .addU32(Ie::Format, kFormatAlaw)
      .addU32(Ie::Capability, kFormatAlaw | kFormatUlaw);
  if (!user.empty()) ies.add(Ie::Username, user);
  if (token) ies.add(Ie::CallToken, *token);
  return ies;
}

IeList regIes(const std::string& user, std::optional<std::string> token) {
  IeList ies;
  ies.add(Ie::Username, user).addU16(Ie::Refresh, 60);
  if (token) ies.add(Ie::CallToken, *token);
  return ies;
}

std::optional<FullFrame> only(const std::vector<Sent>& out) {
  if (out.size() != 1) return std::nullopt;
  return parseFull(out[0].bytes.data(), out[0].bytes.size());
}

// The token the engine hands out for `from` (an empty CALLTOKEN IE asks for one).
std::string tokenFor(Server& s, const Address& from, std::uint16_t srcCall = 7) {
  auto out = s.feed(iaxFrame(Cmd::New, srcCall, newIes("x", std::string())), from);
  auto f = only(out);
  if (!f || !f->isIax(Cmd::CallToken)) return {};
  auto ies = IeList::decode(f->payload.data(), f->payload.size());
  return ies ? ies->str(Ie::CallToken).value_or("") : "";
}

EngineConfig serverConfig() {
  EngineConfig c;
  c.peers.push_back(PeerConfig{"modem", "a-long-enough-secret", "", 4569, ""});
  PeerConfig legacy{"iaxmodem", "another-long-secret", "", 4569, ""};
  legacy.callTokenRequired = false;
  c.peers.push_back(legacy);
  return c;
}

TEST(Iax2FrontDoor, RequestsWithoutAValidTokenOpenNoSessionAndGetNoLongerAnswer) {
  Server s(serverConfig());
  const Address from = addr("127.0.0.5", 4570);
  for (Cmd cmd : {Cmd::New, Cmd::RegReq, Cmd::RegRel}) {
    // Asking for a token: a stateless CALLTOKEN answer, no longer than the request.
    IeList ies = cmd == Cmd::New ? newIes("modem", std::string()) : regIes("modem", std::string());
    auto bytes = serializeFull(iaxFrame(cmd, 11, ies));
    auto out = s.feedBytes(bytes, from);
    auto f = only(out);
    ASSERT_TRUE(f && f->isIax(Cmd::CallToken)) << describe(*f);
    EXPECT_LE(out[0].bytes.size(), bytes.size());
    EXPECT_EQ(f->dstCall, 11);
    EXPECT_EQ(s.engine->sessionCount(), 0u);
    // A forged token: a fresh one, still no session. No token at all (and the peer requires
    // one): nothing.
    auto forged = s.feed(
        iaxFrame(cmd, 12,
                 cmd == Cmd::New ? newIes("modem", "AAAAAAAA") : regIes("modem", "AAAAAAAA")),
        from);
    ASSERT_TRUE(only(forged) && only(forged)->isIax(Cmd::CallToken));
    EXPECT_TRUE(s.feed(iaxFrame(cmd, 13,
                                cmd == Cmd::New ? newIes("modem", std::nullopt)
                                                : regIes("modem", std::nullopt)),
                       from)
                    .empty());
    EXPECT_EQ(s.engine->sessionCount(), 0u);
  }
  // A request too short to answer without amplification gets nothing.
  FullFrame tiny = iaxFrame(Cmd::RegReq, 14, IeList{}.addEmpty(Ie::CallToken));
  EXPECT_TRUE(s.feed(tiny, from).empty());
  EXPECT_EQ(s.engine->sessionCount(), 0u);
  EXPECT_GT(s.engine->stats().unprovenDropped, 0u);
}

TEST(Iax2FrontDoor, AValidTokenIsBoundToTheAddressAndExpires) {
  Server s(serverConfig());
  const Address from = addr("127.0.0.5", 4570);
  std::string token = tokenFor(s, from);
  ASSERT_EQ(token.size(), 8u);
  // From another port or host the token is worthless.
  auto other =
      only(s.feed(iaxFrame(Cmd::RegReq, 20, regIes("modem", token)), addr("127.0.0.5", 4571)));
  ASSERT_TRUE(other && other->isIax(Cmd::CallToken));
  EXPECT_EQ(s.engine->sessionCount(), 0u);
  // From the address it was made for, it opens a session (the REGAUTH challenge).
  auto ok = only(s.feed(iaxFrame(Cmd::RegReq, 21, regIes("modem", token)), from));
  ASSERT_TRUE(ok && ok->isIax(Cmd::RegAuth));
  EXPECT_EQ(s.engine->sessionCount(), 1u);
  // 20 s later it is stale: a fresh token, no session.
  s.now += 20'001;
  auto stale = only(s.feed(iaxFrame(Cmd::RegReq, 22, regIes("modem", token)), from));
  ASSERT_TRUE(stale && stale->isIax(Cmd::CallToken));

  // A small request (REGREL of a 4-letter name: 20 bytes) gets a token cut to fit, which works.
  auto rel = serializeFull(
      iaxFrame(Cmd::RegRel, 23, IeList{}.add(Ie::Username, "abcd").addEmpty(Ie::CallToken)));
  ASSERT_EQ(rel.size(), 20u);
  auto out = s.feedBytes(rel, from);
  auto short_ = only(out);
  ASSERT_TRUE(short_ && short_->isIax(Cmd::CallToken));
  EXPECT_EQ(out[0].bytes.size(), rel.size());
  auto cut = IeList::decode(short_->payload.data(), short_->payload.size())->str(Ie::CallToken);
  ASSERT_EQ(cut->size(), 6u);
  auto regauth = only(
      s.feed(iaxFrame(Cmd::RegRel, 24, IeList{}.add(Ie::Username, "abcd").add(Ie::CallToken, *cut)),
             from));
  ASSERT_TRUE(regauth && regauth->isIax(Cmd::RegAuth));
  // Fewer than 6 characters of it are worth nothing.
  auto five = only(
      s.feed(iaxFrame(Cmd::RegRel, 25,
                      IeList{}.add(Ie::Username, "abcd").add(Ie::CallToken, cut->substr(0, 5))),
             from));
  EXPECT_FALSE(five && five->isIax(Cmd::RegAuth));
}

TEST(Iax2FrontDoor, PokeIsAnsweredStatelessly) {
  Server s(serverConfig());
  auto bytes = serializeFull(iaxFrame(Cmd::Poke, 33, IeList{}));
  auto out = s.feedBytes(bytes, addr("127.0.0.6", 4569));
  auto f = only(out);
  ASSERT_TRUE(f && f->isIax(Cmd::Pong));
  EXPECT_EQ(f->dstCall, 33);
  EXPECT_EQ(f->timestamp, 3u);
  EXPECT_LE(out[0].bytes.size(), bytes.size());
  EXPECT_EQ(s.engine->sessionCount(), 0u);
  // The poker's ACK of the PONG finds no session and costs nothing.
  EXPECT_TRUE(
      s.feed(iaxFrame(Cmd::Ack, 33, IeList{}, f->srcCall, 1, 1), addr("127.0.0.6", 4569)).empty());
  EXPECT_EQ(s.engine->stats().pongsSent, 1u);
}

TEST(Iax2FrontDoor, AFloodOfRequestsLeavesEverySlotFree) {
  Server s(serverConfig());
  for (int i = 0; i < 5000; ++i) {
    const Address from = addr("127.0.0." + std::to_string(10 + i % 50), 1024 + i);
    Cmd cmd = i % 3 == 0 ? Cmd::New : i % 3 == 1 ? Cmd::RegReq : Cmd::Poke;
    IeList ies = cmd == Cmd::New
                     ? newIes("modem", i % 2 ? std::optional<std::string>("") : std::nullopt)
                 : cmd == Cmd::RegReq ? regIes("nobody", std::string())
                                      : IeList{};
    s.feed(iaxFrame(cmd, static_cast<std::uint16_t>(1 + i % 30000), ies), from);
  }
  EXPECT_EQ(s.engine->sessionCount(), 0u);
}

// Everything but the call numbers and the timestamp: what the two answers say.
std::vector<std::uint8_t> masked(std::vector<std::uint8_t> b) {
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7}) b[i] = 0;
  return b;
}

TEST(Iax2FrontDoor, KnownAndUnknownNamesGetTheSameAnswers) {
  Server s(serverConfig());
  auto attempt = [&](const std::string& user, const Address& from, std::uint16_t call) {
    std::string token = tokenFor(s, from, call);
    auto authreq = only(s.feed(iaxFrame(Cmd::New, call, newIes(user, token)), from));
    EXPECT_TRUE(authreq && authreq->isIax(Cmd::AuthReq));
    auto ies = IeList::decode(authreq->payload.data(), authreq->payload.size());
    std::string challenge = ies->str(Ie::Challenge).value_or("");
    auto reqBytes = s.sent[0].bytes;
    auto out = s.feed(iaxFrame(Cmd::AuthRep, call,
                               IeList{}.add(Ie::Md5Result, md5Response(challenge, "wrong-secret")),
                               authreq->srcCall, 1, 1),
                      from);
    std::vector<std::uint8_t> reject;
    for (const auto& p : out) {
      auto f = parseFull(p.bytes.data(), p.bytes.size());
      if (f && f->isIax(Cmd::Reject)) reject = p.bytes;
    }
    return std::pair{reqBytes, reject};
  };
  auto [knownReq, knownRej] = attempt("modem", addr("127.0.0.7", 4569), 40);
  auto [unknownReq, unknownRej] = attempt("mod3m", addr("127.0.0.8", 4569), 40);
  ASSERT_FALSE(knownRej.empty());
  EXPECT_EQ(masked(knownRej), masked(unknownRej));
  // The AUTHREQs differ only in the random challenge and the echoed name, same length.
  EXPECT_EQ(knownReq.size(), unknownReq.size());
  EXPECT_TRUE(s.inbound.empty());
  EXPECT_EQ(s.engine->stats().authFailures, 2u);

  // Registrations alike: REGREJ for the wrong secret of a known name and for an unknown name.
  auto reg = [&](const std::string& user, const Address& from) {
    std::string token = tokenFor(s, from, 50);
    auto regauth = only(s.feed(iaxFrame(Cmd::RegReq, 50, regIes(user, token)), from));
    EXPECT_TRUE(regauth && regauth->isIax(Cmd::RegAuth));
    auto ies = IeList::decode(regauth->payload.data(), regauth->payload.size());
    IeList answer = regIes(user, std::nullopt);
    answer.add(Ie::Md5Result, md5Response(ies->str(Ie::Challenge).value_or(""), "wrong-secret"));
    auto out = only(s.feed(iaxFrame(Cmd::RegReq, 50, answer, regauth->srcCall, 1, 1), from));
    EXPECT_TRUE(out && out->isIax(Cmd::RegRej));
    return s.sent.empty() ? std::vector<std::uint8_t>{} : s.sent[0].bytes;
  };
  EXPECT_EQ(masked(reg("modem", addr("127.0.0.9", 4569))),
            masked(reg("mod3m", addr("127.0.0.10", 4569))));
}

TEST(Iax2FrontDoor, FailedAuthenticationsBlockTheirSource) {
  Server s(serverConfig());
  const Address from = addr("127.0.0.11", 4569);
  for (int i = 0; i < 5; ++i) {
    std::uint16_t call = static_cast<std::uint16_t>(60 + i);
    std::string token = tokenFor(s, from, call);
    auto authreq = only(s.feed(iaxFrame(Cmd::New, call, newIes("modem", token)), from));
    ASSERT_TRUE(authreq && authreq->isIax(Cmd::AuthReq)) << i;
    s.feed(iaxFrame(Cmd::AuthRep, call, IeList{}.add(Ie::Md5Result, "0123456789abcdef"),
                    authreq->srcCall, 1, 1),
           from);
  }
  // The sixth try from that host, on any port, gets nothing at all, even with a valid token.
  const Address again = addr("127.0.0.11", 5000);
  EXPECT_TRUE(s.feed(iaxFrame(Cmd::New, 70, newIes("modem", std::string())), again).empty());
  // Another host is not affected.
  EXPECT_FALSE(tokenFor(s, addr("127.0.0.12", 4569), 71).empty());
}

TEST(Iax2FrontDoor, UnprovenSessionsAreBoundedPerSourceAndShortLived) {
  Server s(serverConfig());
  const Address from = addr("127.0.0.13", 4569);
  std::string token = tokenFor(s, from);
  int challenged = 0;
  for (int i = 0; i < 100; ++i) {
    auto out = s.feed(
        iaxFrame(Cmd::New, static_cast<std::uint16_t>(100 + i), newIes("modem", token)), from);
    if (only(out) && only(out)->isIax(Cmd::AuthReq)) ++challenged;
  }
  EXPECT_EQ(challenged, 32);
  EXPECT_EQ(s.engine->sessionCount(), 32u);
  // Another source still gets in.
  const Address other = addr("127.0.0.14", 4569);
  auto out = only(s.feed(iaxFrame(Cmd::New, 300, newIes("modem", tokenFor(s, other))), other));
  ASSERT_TRUE(out && out->isIax(Cmd::AuthReq));
  // Never authenticated: gone after their short life and the linger for retransmissions.
  for (int t = 0; t < 10'000; t += 50) {
    s.now += 50;
    s.engine->poll(s.now);
  }
  EXPECT_EQ(s.engine->sessionCount(), 0u);
}

TEST(Iax2FrontDoor, APeerWithOptionalCallTokenIsTakenWithoutOne) {
  Server s(serverConfig());
  const Address from = addr("127.0.0.15", 4570);
  // iaxmodem (libiax2) knows no CALLTOKEN: its REGREQ has none.
  auto regauth = only(s.feed(iaxFrame(Cmd::RegReq, 80, regIes("iaxmodem", std::nullopt)), from));
  ASSERT_TRUE(regauth && regauth->isIax(Cmd::RegAuth));
  auto ies = IeList::decode(regauth->payload.data(), regauth->payload.size());
  IeList answer = regIes("iaxmodem", std::nullopt);
  answer.add(Ie::Md5Result,
             md5Response(ies->str(Ie::Challenge).value_or(""), "another-long-secret"));
  auto ack = only(s.feed(iaxFrame(Cmd::RegReq, 80, answer, regauth->srcCall, 1, 1), from));
  ASSERT_TRUE(ack && ack->isIax(Cmd::RegAck));
  // A peer that requires it is not.
  EXPECT_TRUE(s.feed(iaxFrame(Cmd::RegReq, 81, regIes("modem", std::nullopt)), from).empty());
}

// Two real engines: our client side answers the CALLTOKEN challenge of a server that requires
// one, for registrations and calls both ways.
TEST(Iax2FrontDoor, OurClientAnswersTheCallTokenChallenge) {
  struct Node : Transport, EngineListener {
    Node(std::map<std::string, Node*>& net, const std::string& ip, EngineConfig cfg) : net(net) {
      self = addr(ip, 4569);
      engine = std::make_unique<Engine>(std::move(cfg), *this, *this);
      net[self.toString()] = this;
    }
    void sendTo(const Address& to, const std::uint8_t* d, std::size_t n) override {
      queue.push_back({to, std::vector<std::uint8_t>(d, d + n)});
    }
    void onInboundCall(std::uint16_t call, const InboundCallInfo&) override {
      inbound.push_back(call);
    }
    void onAnswered(std::uint16_t) override {}
    void onEnded(std::uint16_t, EndKind, int, const std::string&) override {}
    std::map<std::string, Node*>& net;
    Address self;
    std::unique_ptr<Engine> engine;
    std::vector<Sent> queue;
    std::vector<std::uint16_t> inbound;
  };
  std::map<std::string, Node*> net;
  EngineConfig sc;
  sc.peers.push_back(PeerConfig{"client", "a-long-enough-secret", "", 4569, ""});
  EngineConfig cc;
  cc.registrations.push_back(
      RegistrationConfig{"127.0.0.1", 4569, "client", "a-long-enough-secret", 60});
  Node server(net, "127.0.0.1", sc);
  Node client(net, "127.0.0.2", cc);
  std::int64_t now = 1'000'000;
  auto run = [&](int ms) {
    for (int t = 0; t < ms; t += 20) {
      now += 20;
      for (auto* n : {&server, &client}) n->engine->poll(now);
      for (int round = 0; round < 20; ++round) {
        for (auto* n : {&server, &client}) {
          auto q = std::move(n->queue);
          n->queue.clear();
          for (auto& p : q) {
            auto it = net.find(p.to.toString());
            if (it != net.end())
              it->second->engine->onDatagram(p.bytes.data(), p.bytes.size(), n->self, now);
          }
        }
      }
    }
  };
  run(200);
  EXPECT_TRUE(client.engine->registrations(now)[0].registered);
  EXPECT_GE(server.engine->stats().callTokensSent, 1u);
  ASSERT_TRUE(client.engine->dial("100", "", "", now).ok());
  run(200);
  EXPECT_EQ(server.inbound.size(), 1u);
}

}  // namespace
}  // namespace vfax::trunks::iax2
