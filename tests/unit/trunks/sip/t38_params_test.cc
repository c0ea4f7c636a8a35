#include "trunks/sip/t38_params.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vfax::trunks::sip {
namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

TEST(T38Params, ParsesAnAsteriskStyleOffer) {
  // What Asterisk 18 puts under m=image ... udptl t38 (a=T38FaxVersion:0 etc.).
  const Attrs a = {{"T38FaxVersion", "0"},
                   {"T38MaxBitRate", "14400"},
                   {"T38FaxRateManagement", "transferredTCF"},
                   {"T38FaxMaxBuffer", "1800"},
                   {"T38FaxMaxDatagram", "397"},
                   {"T38FaxUdpEC", "t38UDPRedundancy"},
                   {"T38FaxFillBitRemoval", ""},
                   {"sendrecv", ""},
                   {"T38VendorInfo", "0 0 0"}};
  auto p = parseT38Attributes(a);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->version, 0);
  EXPECT_EQ(p->maxBitRate, 14400);
  EXPECT_EQ(p->rateManagement, T38RateManagement::TransferredTcf);
  EXPECT_EQ(p->maxBuffer, 1800);
  EXPECT_EQ(p->maxDatagram, 397);
  EXPECT_EQ(p->ec, UdptlEc::Redundancy);
  EXPECT_TRUE(p->fillBitRemoval);
  EXPECT_FALSE(p->transcodingMmr);
  EXPECT_FALSE(p->transcodingJbig);
}

TEST(T38Params, NamesAndKeywordsAreCaseInsensitiveAndDefaultsApply) {
  auto p = parseT38Attributes({{"t38faxversion", " 3 "},
                               {"T38FAXUDPEC", "T38udpfec"},
                               {"t38faxratemanagement", "LOCALTCF"},
                               {"T38FaxTranscodingMMR", "1"},
                               {"T38FaxTranscodingJBIG", "0"},
                               {"T38FaxFillBitRemoval", "0"}});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->version, 3);
  EXPECT_EQ(p->ec, UdptlEc::Fec);
  EXPECT_EQ(p->rateManagement, T38RateManagement::LocalTcf);
  EXPECT_TRUE(p->transcodingMmr);
  EXPECT_FALSE(p->transcodingJbig);
  EXPECT_FALSE(p->fillBitRemoval);
  EXPECT_EQ(p->maxBitRate, 14400);
  EXPECT_FALSE(p->maxDatagram.has_value());

  auto none = parseT38Attributes({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, T38Params{});
  EXPECT_EQ(parseT38Attributes({{"T38FaxUdpEC", "t38UDPNoEC"}})->ec, UdptlEc::None);
}

TEST(T38Params, BadValuesNameTheAttribute) {
  const std::vector<std::pair<Attrs, std::string>> cases = {
      {{{"T38FaxVersion", "x"}}, "T38FaxVersion"},
      {{{"T38FaxVersion", ""}}, "T38FaxVersion"},
      {{{"T38FaxVersion", "-1"}}, "T38FaxVersion"},
      {{{"T38FaxVersion", "256"}}, "T38FaxVersion"},
      {{{"T38MaxBitRate", "14.4k"}}, "T38MaxBitRate"},
      {{{"T38MaxBitRate", "0"}}, "T38MaxBitRate"},
      {{{"T38MaxBitRate", "99999999999999999999999"}}, "T38MaxBitRate"},
      {{{"T38FaxRateManagement", "remoteTCF"}}, "T38FaxRateManagement"},
      {{{"T38FaxMaxBuffer", "lots"}}, "T38FaxMaxBuffer"},
      {{{"T38FaxMaxDatagram", "0"}}, "T38FaxMaxDatagram"},
      {{{"T38FaxUdpEC", "t38UDPParity"}}, "T38FaxUdpEC"},
      {{{"T38FaxFillBitRemoval", "yes"}}, "T38FaxFillBitRemoval"},
      {{{"T38FaxTranscodingMMR", "2"}}, "T38FaxTranscodingMMR"},
      {{{"T38FaxTranscodingJBIG", "true"}}, "T38FaxTranscodingJBIG"},
      {{{"T38FaxVersion", "0"}, {"t38maxbitrate", "fast"}}, "t38maxbitrate"},
  };
  for (const auto& [attrs, name] : cases) {
    auto p = parseT38Attributes(attrs);
    ASSERT_FALSE(p.ok()) << name << " " << attrs.back().second;
    EXPECT_EQ(p.error().code, "bad_t38_attribute");
    EXPECT_NE(p.error().message.find(name), std::string::npos) << p.error().message;
  }
  // Control characters from the wire are not echoed into logs or answers.
  auto p = parseT38Attributes({{"T38FaxUdpEC", std::string("a\r\nb\0c", 6)}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.find('\n'), std::string::npos);
}

TEST(T38Params, FormatsInTheUsualOrderAndParsesBack) {
  T38Params p;
  p.version = 0;
  p.maxBitRate = 9600;
  p.maxBuffer = 2000;
  p.maxDatagram = 400;
  p.ec = UdptlEc::Redundancy;
  p.fillBitRemoval = true;
  const Attrs want = {{"T38FaxVersion", "0"},
                      {"T38MaxBitRate", "9600"},
                      {"T38FaxFillBitRemoval", ""},
                      {"T38FaxRateManagement", "transferredTCF"},
                      {"T38FaxMaxBuffer", "2000"},
                      {"T38FaxMaxDatagram", "400"},
                      {"T38FaxUdpEC", "t38UDPRedundancy"}};
  EXPECT_EQ(formatT38Attributes(p), want);
  for (UdptlEc ec : {UdptlEc::None, UdptlEc::Redundancy, UdptlEc::Fec}) {
    p.ec = ec;
    p.rateManagement =
        ec == UdptlEc::Fec ? T38RateManagement::LocalTcf : T38RateManagement::TransferredTcf;
    p.transcodingJbig = ec == UdptlEc::None;
    auto back = parseT38Attributes(formatT38Attributes(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, p);
  }
  p.ec = UdptlEc::None;
  for (const auto& [name, value] : formatT38Attributes(p)) EXPECT_NE(name, "T38FaxUdpEC");
}

TEST(T38Params, OfferFollowsOurConfig) {
  SipT38Config cfg;
  cfg.maxBitRate = 9600;
  cfg.maxDatagram = 320;
  cfg.ec = UdptlEc::Fec;
  const T38Params o = offerT38(cfg);
  EXPECT_EQ(o.version, kT38OfferVersion);
  EXPECT_EQ(o.maxBitRate, 9600);
  EXPECT_EQ(o.rateManagement, T38RateManagement::TransferredTcf);
  EXPECT_EQ(o.maxDatagram, 320);
  EXPECT_EQ(o.maxBuffer, kT38MaxBuffer);
  EXPECT_EQ(o.ec, UdptlEc::Fec);
  EXPECT_FALSE(o.fillBitRemoval || o.transcodingMmr || o.transcodingJbig);
}

struct AnswerCase {
  const char* name;
  Attrs offer;
  UdptlEc ourEc;
  int ourRate;
  // expected answer
  int version;
  int rate;
  T38RateManagement rm;
  UdptlEc ec;
};

TEST(T38Params, AnswerTable) {
  using RM = T38RateManagement;
  const std::vector<AnswerCase> cases = {
      {"asterisk redundancy",
       {{"T38FaxVersion", "0"}, {"T38MaxBitRate", "14400"}, {"T38FaxUdpEC", "t38UDPRedundancy"}},
       UdptlEc::Redundancy,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::Redundancy},
      {"version 3 offered",
       {{"T38FaxVersion", "3"}},
       UdptlEc::Redundancy,
       14400,
       3,
       14400,
       RM::TransferredTcf,
       UdptlEc::None},
      {"future version 5",
       {{"T38FaxVersion", "5"}},
       UdptlEc::Redundancy,
       14400,
       kT38MaxVersion,
       14400,
       RM::TransferredTcf,
       UdptlEc::None},
      {"33600 offered, we do 14400",
       {{"T38MaxBitRate", "33600"}},
       UdptlEc::Redundancy,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::None},
      {"9600 offered",
       {{"T38MaxBitRate", "9600"}},
       UdptlEc::Redundancy,
       14400,
       0,
       9600,
       RM::TransferredTcf,
       UdptlEc::None},
      {"fec offered, we allow fec",
       {{"T38FaxUdpEC", "t38UDPFEC"}},
       UdptlEc::Fec,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::Fec},
      {"fec offered, we allow redundancy",
       {{"T38FaxUdpEC", "t38UDPFEC"}},
       UdptlEc::Redundancy,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::Redundancy},
      {"redundancy offered, we allow fec",
       {{"T38FaxUdpEC", "t38UDPRedundancy"}},
       UdptlEc::Fec,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::Redundancy},
      {"redundancy offered, we allow none",
       {{"T38FaxUdpEC", "t38UDPRedundancy"}},
       UdptlEc::None,
       14400,
       0,
       14400,
       RM::TransferredTcf,
       UdptlEc::None},
      {"localTCF is echoed",
       {{"T38FaxRateManagement", "localTCF"}},
       UdptlEc::Redundancy,
       14400,
       0,
       14400,
       RM::LocalTcf,
       UdptlEc::None},
  };
  for (const auto& c : cases) {
    auto offer = parseT38Attributes(c.offer);
    ASSERT_TRUE(offer.ok()) << c.name;
    SipT38Config ours;
    ours.ec = c.ourEc;
    ours.maxBitRate = c.ourRate;
    ours.maxDatagram = 350;
    const T38Params a = answerT38(*offer, ours);
    EXPECT_EQ(a.version, c.version) << c.name;
    EXPECT_EQ(a.maxBitRate, c.rate) << c.name;
    EXPECT_EQ(a.rateManagement, c.rm) << c.name;
    EXPECT_EQ(a.ec, c.ec) << c.name;
    EXPECT_EQ(a.maxDatagram, 350) << c.name;
    EXPECT_EQ(a.maxBuffer, kT38MaxBuffer) << c.name;
  }
  // Options spandsp's terminal does not do are dropped from the answer.
  auto offer = parseT38Attributes(
      {{"T38FaxFillBitRemoval", ""}, {"T38FaxTranscodingMMR", ""}, {"T38FaxTranscodingJBIG", ""}});
  const T38Params a = answerT38(*offer, SipT38Config{});
  EXPECT_FALSE(a.fillBitRemoval || a.transcodingMmr || a.transcodingJbig);
}

TEST(T38Params, EffectiveParametersBoundWhatWeSend) {
  SipT38Config cfg;
  cfg.ec = UdptlEc::Fec;
  cfg.redundancyDepth = 4;
  const T38Params ours = offerT38(cfg);

  struct Case {
    const char* name;
    Attrs answer;
    int maxDatagram;
    UdptlEc ec;
    int rate;
  };
  const std::vector<Case> cases = {
      {"far end's datagram limit",
       {{"T38FaxMaxDatagram", "272"}, {"T38FaxUdpEC", "t38UDPFEC"}},
       272,
       UdptlEc::Fec,
       14400},
      {"no limit announced: 400",
       {{"T38FaxUdpEC", "t38UDPRedundancy"}},
       400,
       UdptlEc::Redundancy,
       14400},
      {"tiny limit raised to 64", {{"T38FaxMaxDatagram", "10"}}, 64, UdptlEc::None, 14400},
      {"huge limit capped at 1400",
       {{"T38FaxMaxDatagram", "65535"}, {"T38MaxBitRate", "9600"}},
       1400,
       UdptlEc::None,
       9600},
  };
  for (const auto& c : cases) {
    auto answer = parseT38Attributes(c.answer);
    ASSERT_TRUE(answer.ok()) << c.name;
    const T38Params e = effectiveT38(ours, *answer);
    EXPECT_EQ(e.maxDatagram, c.maxDatagram) << c.name;
    EXPECT_EQ(e.ec, c.ec) << c.name;
    EXPECT_EQ(e.maxBitRate, c.rate) << c.name;
    const UdptlOptions o = udptlOptionsFor(e, cfg);
    EXPECT_EQ(o.maxDatagram, static_cast<std::size_t>(c.maxDatagram)) << c.name;
    EXPECT_EQ(o.ec, c.ec) << c.name;
    EXPECT_EQ(o.redundancyDepth, 4) << c.name;
  }
  // An answer claiming more than offered is held to the offer.
  auto greedy = parseT38Attributes(
      {{"T38FaxVersion", "3"}, {"T38MaxBitRate", "33600"}, {"T38FaxRateManagement", "localTCF"}});
  const T38Params e = effectiveT38(ours, *greedy);
  EXPECT_EQ(e.version, 0);
  EXPECT_EQ(e.maxBitRate, 14400);
  EXPECT_EQ(e.rateManagement, T38RateManagement::LocalTcf);
}

}  // namespace
}  // namespace vfax::trunks::sip
