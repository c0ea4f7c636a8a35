// /healthz, /lines and /metrics as they show the trunks (core::Telephony::trunkStatus()).
#include <gtest/gtest.h>

#include "api/json.h"
#include "api/metrics.h"

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
