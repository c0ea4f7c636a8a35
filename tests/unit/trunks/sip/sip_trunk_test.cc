// Two SIP trunks (each with its own telephony loop and SIP thread) on 127.0.0.1 fax each other
// through real spandsp sessions: G.711, T.38 at once; digest-protected peers; and the front
// door against strangers (403 to an INVITE, silence to OPTIONS, nothing dialled).
#include "trunks/sip/sip_trunk.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "../../fax/test_tiff.h"
#include "telephony/telephony_impl.h"
#include "trunks/iax2/iax2_trunk.h"

namespace vfax::trunks::sip {
namespace {

using core::OutcomeClass;

/// Accepts every inbound call into DIR and records every result. Thread-safe.
class Recorder : public core::CallEvents {
 public:
  explicit Recorder(std::string dir) : dir_(std::move(dir)) {}
  void onOutboundAnswered(std::int64_t) override {}
  void onOutboundProgress(std::int64_t, int, const std::string&) override {}
  void onOutboundFinished(std::int64_t faxId, const core::CallResult& r) override {
    std::lock_guard lock(mutex_);
    out[faxId] = r;
    cv_.notify_all();
  }
  void onInboundOffered(const core::InboundOffer& offer,
                        std::function<void(core::InboundDecision)> decide) override {
    core::InboundDecision d;
    {
      std::lock_guard lock(mutex_);
      offers.push_back(offer);
      d.accept = true;
      d.faxId = 100 + static_cast<std::int64_t>(offers.size());
      d.rxTiffPath = dir_ + "/in-" + std::to_string(d.faxId) + ".tif";
      d.csid = "RX " + offer.calledNumber;
    }
    decide(d);
  }
  void onInboundProgress(std::int64_t, int, const std::string&) override {}
  void onInboundFinished(std::int64_t faxId, const core::CallResult& r) override {
    std::lock_guard lock(mutex_);
    in[faxId] = r;
    cv_.notify_all();
  }
  bool wait(std::size_t nOut, std::size_t nIn, int seconds = 120) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds),
                        [&] { return out.size() >= nOut && in.size() >= nIn; });
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<core::InboundOffer> offers;
  std::map<std::int64_t, core::CallResult> out, in;

 private:
  std::string dir_;
};

/// One vfax "installation": telephony + SIP trunk on 127.0.0.1, any free port.
struct Stack {
  Stack(const std::string& dir, SipConfig config, bool tcp = false) : events(dir) {
    telephony::TelephonyOptions o;
    o.lingerMs = 400;
    telephony = std::make_unique<telephony::TelephonyImpl>(o);
    config.listen = {SipListen{tcp ? SipTransport::Tcp : SipTransport::Udp, "127.0.0.1", 0}};
    auto t = std::make_unique<SipTrunk>(telephony->loop(), config);
    trunk = t.get();
    telephony->setExternalTrunk(std::move(t));
    telephony->setEvents(&events);
    telephony->start();
    port = trunk->boundPort(tcp ? SipTransport::Tcp : SipTransport::Udp);
  }
  ~Stack() { telephony->stop(); }
  Recorder events;
  std::unique_ptr<telephony::TelephonyImpl> telephony;
  SipTrunk* trunk = nullptr;
  int port = 0;
};

SipPeerConfig peer(const std::string& name, int port) {
  SipPeerConfig p;
  p.name = name;
  p.match = {"127.0.0.1"};
  p.host = "127.0.0.1";
  p.port = port;
  p.keepaliveSeconds = 0;
  return p;
}

class SipTrunkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = vfax::testing::makeTempDir();
    ASSERT_FALSE(dir_.empty());
    sent_.push_back(vfax::testing::patternPage(0, 120));
    tiff_ = dir_ + "/out.tif";
    ASSERT_TRUE(vfax::testing::writeG4Tiff(tiff_, sent_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  core::OutboundCall call(std::int64_t faxId, const std::string& number) {
    core::OutboundCall c;
    c.faxId = faxId;
    c.dialString = number;
    c.tiffPath = tiff_;
    c.tsi = "TX 10";
    c.callerId = "10";
    return c;
  }

  /// B accepts calls from A (source 127.0.0.1); A calls B's peer address.
  void faxAtoB(SipConfig a, SipConfig b) {
    Stack sb(dir_, b, tcp_);
    ASSERT_GT(sb.port, 0);
    a.peers.push_back(peer("b", sb.port));
    if (tcp_) a.peers.back().transport = SipTransport::Tcp;
    if (!b.peers.empty() && !b.peers[0].secret.empty()) {
      a.peers.back().username = b.peers[0].username;
      a.peers.back().secret = b.peers[0].secret;
    }
    Stack sa(dir_, a, tcp_);
    sa.telephony->placeCall(call(1, "20"));
    ASSERT_TRUE(sa.events.wait(1, 0));
    ASSERT_TRUE(sb.events.wait(0, 1));
    const auto& out = sa.events.out[1];
    const auto& in = sb.events.in[101];
    EXPECT_EQ(out.outcome.cls, OutcomeClass::Ok) << out.outcome.reason;
    EXPECT_EQ(in.outcome.cls, OutcomeClass::Ok) << in.outcome.reason;
    EXPECT_EQ(out.pages, 1);
    EXPECT_EQ(in.pages, 1);
    ASSERT_EQ(sb.events.offers.size(), 1u);
    EXPECT_EQ(sb.events.offers[0].calledNumber, "20");
    EXPECT_EQ(sb.events.offers[0].callerNumber, "10");
    EXPECT_EQ(sb.events.offers[0].trunk, "sip:a");
    auto got = vfax::testing::readTiff(dir_ + "/in-101.tif");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_GT(vfax::testing::headerRowsAbove(sent_[0], got[0]), 0);
    lastStatusB_ = sb.trunk->status();
    lastStatusA_ = sa.trunk->status();
    lastOut_ = out;
    lastIn_ = in;
  }

  std::string dir_, tiff_;
  std::vector<vfax::testing::Page> sent_;
  bool tcp_ = false;
  SipStatus lastStatusA_, lastStatusB_;
  core::CallResult lastOut_, lastIn_;
};

TEST_F(SipTrunkTest, AudioFaxBetweenTwoStacks) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Off;
  b.t38.mode = T38Mode::Off;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();  // inbound only
  faxAtoB(a, b);
  EXPECT_EQ(lastStatusB_.stats.t38Switches, 0u);
}

TEST_F(SipTrunkTest, FaxTonesSwitchTheCallToT38) {
  SipConfig a, b;  // both in the default mode: detect
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  faxAtoB(a, b);
  EXPECT_GE(lastStatusB_.stats.t38Switches, 1u);
  EXPECT_EQ(lastOut_.media, core::FaxMedia::T38);
  EXPECT_EQ(lastIn_.media, core::FaxMedia::T38);
  EXPECT_EQ(lastOut_.codec, "PCMA");
}

TEST_F(SipTrunkTest, ImmediateT38WithFecBetweenTwoStacks) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Immediate;
  a.t38.ec = UdptlEc::Fec;
  b.t38.ec = UdptlEc::Fec;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  faxAtoB(a, b);
  EXPECT_EQ(lastOut_.media, core::FaxMedia::T38);
}

TEST_F(SipTrunkTest, A488ToTheT38ReInviteKeepsTheFaxInAudio) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Immediate;
  b.t38.mode = T38Mode::Off;  // answers a T.38 re-INVITE with 488
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  faxAtoB(a, b);
  EXPECT_EQ(lastOut_.media, core::FaxMedia::Audio);
  EXPECT_GE(lastStatusA_.stats.t38Refused, 1u);
}

TEST_F(SipTrunkTest, BothSidesAskingForT38AtOnceResolveTheGlare) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Immediate;  // the caller asks on the 200 OK, the callee on the ACK:
  b.t38.mode = T38Mode::Immediate;  // both re-INVITEs cross, each gets 491, one retries first
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  faxAtoB(a, b);
  EXPECT_EQ(lastOut_.media, core::FaxMedia::T38);
  EXPECT_EQ(lastIn_.media, core::FaxMedia::T38);
}

TEST_F(SipTrunkTest, SessionTimersAreRefreshedThroughoutTheFax) {
  // Intervals far below the settings' minimum (the checks are the config's, not the trunk's),
  // so a 20 s fax sees many refreshes: the caller is the refresher (refresher=uac).
  SipConfig a, b;
  a.t38.mode = T38Mode::Off;
  b.t38.mode = T38Mode::Off;
  a.sessionExpires = 4;
  a.minSessionExpires = 2;
  b.minSessionExpires = 2;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  faxAtoB(a, b);
  EXPECT_GE(lastStatusA_.stats.sessionRefreshes, 5u);
  EXPECT_GE(lastStatusB_.stats.sessionRefreshes, 5u);
}

TEST_F(SipTrunkTest, FaxOverTcp) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Off;
  b.t38.mode = T38Mode::Off;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  tcp_ = true;
  faxAtoB(a, b);
}

TEST_F(SipTrunkTest, PeerWithSecretMustAnswerTheDigestChallenge) {
  SipConfig a, b;
  a.t38.mode = T38Mode::Off;
  b.t38.mode = T38Mode::Off;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  b.peers.back().username = "pbx";
  b.peers.back().secret = "s3cret-digest";
  faxAtoB(a, b);
}

TEST_F(SipTrunkTest, WrongDigestIsRefusedAndNothingIsReceived) {
  SipConfig b;
  b.peers.push_back(peer("a", 0));
  b.peers.back().host.clear();
  b.peers.back().username = "pbx";
  b.peers.back().secret = "s3cret-digest";
  Stack sb(dir_, b);
  SipConfig a;
  a.peers.push_back(peer("b", sb.port));
  a.peers.back().username = "pbx";
  a.peers.back().secret = "wrong-secret";
  Stack sa(dir_, a);
  sa.telephony->placeCall(call(1, "20"));
  ASSERT_TRUE(sa.events.wait(1, 0, 40));
  EXPECT_NE(sa.events.out[1].outcome.cls, OutcomeClass::Ok);
  EXPECT_TRUE(sb.events.offers.empty());
  EXPECT_GE(sb.trunk->status().stats.authFailures, 1u);
}

/// A UDP socket on 127.0.0.1 sending one request and waiting for an answer.
std::string exchange(int port, const std::string& request, int waitMs) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  pollfd p{fd, POLLIN, 0};
  std::string answer;
  if (::poll(&p, 1, waitMs) == 1) {
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) answer.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string request(const std::string& method, int port) {
  std::string r = method + " sip:20@127.0.0.1:" + std::to_string(port) + " SIP/2.0\r\n";
  r += "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-scan" + method + "\r\n";
  r += "From: <sip:scanner@127.0.0.1>;tag=1\r\nTo: <sip:20@127.0.0.1>\r\n";
  r += "Call-ID: scan-" + method + "@127.0.0.1\r\nCSeq: 1 " + method + "\r\n";
  r += "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  return r;
}

/// Sends `request` from a fresh socket on 127.0.0.1 and collects answers until one starts with
/// `until` (or `waitMs` pass without any).
std::vector<std::string> converse(int port, const std::string& request, const std::string& until,
                                  int waitMs) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::vector<std::string> answers;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, waitMs) == 1) {
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answers.emplace_back(buf, static_cast<std::size_t>(n));
    if (answers.back().rfind(until, 0) == 0) break;
  }
  ::close(fd);
  return answers;
}

TEST_F(SipTrunkTest, AnInitialOfferOfT38OnlyIsAnsweredWithT38) {
  SipConfig b;
  b.peers.push_back(peer("pbx", 0));
  b.peers.back().host.clear();
  Stack sb(dir_, b);
  const std::string sdp =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=image 40000 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:9600\r\n"
      "a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:300\r\n"
      "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
  std::string invite = "INVITE sip:20@127.0.0.1:" + std::to_string(sb.port) + " SIP/2.0\r\n";
  invite += "Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bK-t38only\r\n";
  invite += "From: \"Gateway\" <sip:4930123@127.0.0.1>;tag=77\r\nTo: <sip:20@127.0.0.1>\r\n";
  invite += "Call-ID: t38only@127.0.0.1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n";
  invite += "Contact: <sip:gw@127.0.0.1:5999>\r\nContent-Type: application/sdp\r\n";
  invite += "Content-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
  auto answers = converse(sb.port, invite, "SIP/2.0 200", 5000);
  ASSERT_FALSE(answers.empty());
  const std::string& ok = answers.back();
  ASSERT_EQ(ok.rfind("SIP/2.0 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("m=image "), std::string::npos) << ok;
  EXPECT_NE(ok.find("udptl t38"), std::string::npos) << ok;
  EXPECT_NE(ok.find("a=T38FaxVersion:0"), std::string::npos) << ok;
  EXPECT_NE(ok.find("a=T38MaxBitRate:9600"), std::string::npos) << ok;  // the lower of both
  EXPECT_NE(ok.find("a=T38FaxRateManagement:transferredTCF"), std::string::npos) << ok;
  EXPECT_EQ(ok.find("m=audio 1"), std::string::npos) << ok;  // no active audio stream
  ASSERT_EQ(sb.events.offers.size(), 1u);
  EXPECT_EQ(sb.events.offers[0].callerNumber, "4930123");
}

// libre sends only over transports we listen on: a TLS peer or a TCP registration without
// such a listener says so (the call's reason, the registration's last_error) instead of
// libre's bare "Protocol not supported".
TEST_F(SipTrunkTest, ATransportWithoutAListenerIsNamed) {
  SipConfig a;  // listens on UDP only (Stack)
  a.peers.push_back(peer("b", 5999));
  a.peers.back().transport = SipTransport::Tls;
  SipRegistrationConfig r;
  r.name = "provider";
  r.registrar = "127.0.0.1:5998";
  r.transport = SipTransport::Tcp;
  r.username = "100";
  r.secret = "long-secret";
  a.registrations.push_back(r);
  a.outbound = "b";
  Stack sa(dir_, a);
  sa.telephony->placeCall(call(1, "20"));
  ASSERT_TRUE(sa.events.wait(1, 0));
  const auto& out = sa.events.out[1];
  EXPECT_EQ(out.outcome.cls, OutcomeClass::Unavailable) << out.outcome.reason;
  EXPECT_NE(out.outcome.reason.find("no tls: address in [sip] listen"), std::string::npos)
      << out.outcome.reason;
  std::string regError;
  for (int i = 0; i < 50 && regError.empty(); ++i) {
    auto st = sa.trunk->status();
    if (!st.registrations.empty()) regError = st.registrations[0].lastError;
    if (regError.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(regError.find("no tcp: address in [sip] listen"), std::string::npos) << regError;
}

TEST_F(SipTrunkTest, StrangersGet403ToInviteAndSilenceOtherwise) {
  SipConfig b;
  b.peers.push_back(peer("pbx", 0));
  b.peers.back().match = {"10.9.9.9"};  // not us
  b.peers.back().host.clear();
  Stack sb(dir_, b);
  std::string answer = exchange(sb.port, request("INVITE", sb.port), 2000);
  EXPECT_EQ(answer.rfind("SIP/2.0 403", 0), 0u) << answer;
  EXPECT_LE(answer.size(), request("INVITE", sb.port).size() + 64);
  EXPECT_EQ(exchange(sb.port, request("OPTIONS", sb.port), 500), "");
  EXPECT_EQ(exchange(sb.port, request("REGISTER", sb.port), 500), "");
  EXPECT_TRUE(sb.events.offers.empty());
  auto st = sb.trunk->status();
  EXPECT_GE(st.stats.invitesRefused, 1u);
  EXPECT_GE(st.stats.droppedPackets, 2u);
}

}  // namespace
}  // namespace vfax::trunks::sip

namespace vfax::trunks::sip {
namespace {

// Outbound routes across trunks: the longest matching prefix picks the trunk and, for SIP, the
// peer or registration (DialRequest::route). Real trunks, not started: routing needs only names.
TEST(OutboundRoutes, LongestPrefixPicksTrunkAndWay) {
  telephony::TelephonyImpl t(telephony::TelephonyOptions{});
  t.setExternalTrunk(std::make_unique<iax2::Iax2Trunk>(t.loop(), iax2::Iax2TrunkOptions{}));
  t.setExternalTrunk(std::make_unique<SipTrunk>(t.loop(), SipConfig{}));
  EXPECT_EQ(t.route("0049301234").trunk->name(), "iax2");  // no routes: the first trunk
  t.setRoutes({{"00", "iax2"}, {"0049", "sip:provider"}, {"0033", "sip"}});
  auto r = t.route("0049301234");
  ASSERT_NE(r.trunk, nullptr);
  EXPECT_EQ(r.trunk->name(), "sip");
  EXPECT_EQ(r.way, "provider");
  r = t.route("0033112");
  EXPECT_EQ(r.trunk->name(), "sip");
  EXPECT_EQ(r.way, "");
  EXPECT_EQ(t.route("0041").trunk->name(), "iax2");
  r = t.route("110");
  EXPECT_EQ(r.trunk, nullptr);
  EXPECT_NE(r.why.find("no outbound route matches 110"), std::string::npos);
  t.setRoutes({{"", "h323"}});
  r = t.route("1");
  EXPECT_EQ(r.trunk, nullptr);
  EXPECT_NE(r.why.find("not running"), std::string::npos);
}

}  // namespace
}  // namespace vfax::trunks::sip
