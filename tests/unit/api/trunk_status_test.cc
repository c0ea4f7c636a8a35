// /healthz, /lines and /metrics as they show the trunks (core::Telephony::trunkStatus()).
#include <gtest/gtest.h>

#include "api/json.h"
#include "api/metrics.h"
#include "api/routes.h"

namespace vfax::api {
namespace {

std::vector<core::TrunkStatus> trunks(bool iax2Up) {
  return {{"loopback", true, "", 1},
          {"iax2", iax2Up, iax2Up ? "" : "cannot listen on 127.0.0.1:4569: in use", 0}};
}

TEST(Health, OkWhenEveryTrunkIsUp) {
  EXPECT_EQ(healthJson(trunks(true)), Json({{"status", "ok"}}));
  EXPECT_EQ(healthJson({}), Json({{"status", "ok"}}));
}

TEST(Health, DegradedNamesEachTrunkThatIsDownAndWhy) {
  auto down = trunks(false);
  down.push_back({"sip", false, "", 0});
  const Json h = healthJson(down);
  EXPECT_EQ(h["status"], "degraded");
  ASSERT_EQ(h["reasons"].size(), 2u) << h.dump();
  EXPECT_EQ(h["reasons"][0], "trunk iax2: cannot listen on 127.0.0.1:4569: in use");
  EXPECT_EQ(h["reasons"][1], "trunk sip: not up");
}

TEST(Lines, CarryTheTrunks) {
  core::LineStatus l;
  l.total = 4;
  const Json j = toJson(l, trunks(false));
  EXPECT_EQ(j["total"], 4);
  ASSERT_EQ(j["trunks"].size(), 2u);
  EXPECT_EQ(j["trunks"][0],
            Json({{"name", "loopback"}, {"up", true}, {"reason", ""}, {"calls", 1}}));
  EXPECT_EQ(j["trunks"][1]["up"], false);
  EXPECT_EQ(j["trunks"][1]["reason"], "cannot listen on 127.0.0.1:4569: in use");
  EXPECT_EQ(toJson(l, {})["trunks"], Json::array());
}

TEST(Lines, CarryTheSipRegistrations) {
  SipLineState sip{
      true,
      "",
      2,
      {{"provider", true, "127.0.0.1:5070", ""}, {"backup", false, "", "408 Request Timeout"}}};
  core::LineStatus l;
  std::vector<core::TrunkStatus> list = trunks(true);
  list.push_back({"sip", true, "", 2});
  Json j = toJson(l, list);
  detail::putSipLines(j, sip, true);
  ASSERT_EQ(j["trunks"].size(), 3u);
  EXPECT_FALSE(j["trunks"][1].contains("registrations"));  // additive: only the sip entry
  EXPECT_EQ(j["trunks"][2]["registrations"],
            Json::parse(R"([{"name":"provider","registered":true,"registrar":"127.0.0.1:5070",)"
                        R"("last_error":""},{"name":"backup","registered":false,"registrar":"",)"
                        R"("last_error":"408 Request Timeout"}])"));
  // A user sees names and states only.
  j = toJson(l, list);
  detail::putSipLines(j, sip, false);
  EXPECT_EQ(j["trunks"][2]["registrations"][1], Json({{"name", "backup"}, {"registered", false}}));
  // A trunk telephony does not list (yet) gets an entry of its own.
  sip.up = false;
  sip.reason = "cannot listen on udp:127.0.0.1:5060";
  j = toJson(l, trunks(true));
  detail::putSipLines(j, sip, true);
  ASSERT_EQ(j["trunks"].size(), 3u);
  EXPECT_EQ(j["trunks"][2]["name"], "sip");
  EXPECT_EQ(j["trunks"][2]["up"], false);
  EXPECT_EQ(j["trunks"][2]["reason"], "cannot listen on udp:127.0.0.1:5060");
  EXPECT_EQ(j["trunks"][2]["calls"], 2);
}

TEST(Metrics, TrunkUpAndCallsPerTrunk) {
  const std::string text = renderMetrics({}, core::LineStatus{}, trunks(false));
  EXPECT_NE(text.find("# TYPE vfax_trunk_up gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vfax_trunk_up{trunk=\"loopback\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vfax_trunk_up{trunk=\"iax2\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vfax_trunk_calls{trunk=\"loopback\"} 1\n"), std::string::npos) << text;
  // Label values are escaped, whatever a trunk calls itself.
  const std::string odd = renderMetrics({}, core::LineStatus{}, {{"a\"b\\c", true, "", 0}});
  EXPECT_NE(odd.find("vfax_trunk_up{trunk=\"a\\\"b\\\\c\"} 1\n"), std::string::npos) << odd;
  EXPECT_EQ(renderMetrics({}, core::LineStatus{}).find("vfax_trunk"), std::string::npos);
}

}  // namespace
}  // namespace vfax::api
