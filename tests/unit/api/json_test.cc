#include "api/json.h"
#include "core/pin.h"

#include <gtest/gtest.h>

namespace vfax::api {
namespace {

constexpr core::Millis kT = 1'793'700'902'120;  // 2026-11-03T10:15:02.120Z

TEST(IsoTime, UtcWithMillis) {
  EXPECT_EQ(isoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(isoTime(kT), "2026-11-03T10:15:02.120Z");
  EXPECT_TRUE(isoTimeOrNull(0).is_null());
}

core::Fax sampleFax() {
  core::Fax f;
  f.id = 9;
  f.direction = core::Direction::Out;
  f.state = core::FaxState::Waiting;
  f.number = "+4989123456";
  f.deviceId = 3;
  f.pages = 1;
  f.pagesTotal = 2;
  f.remoteId = "+49 89 654321";
  f.createdAt = kT;
  f.updatedAt = kT + 1000;
  f.priority = 5;
  f.tag = "invoice-77";
  f.notify = "a@example.com";
  f.attemptCount = 1;
  f.nextAttemptAt = kT + 60'000;
  f.tsi = "+49 89 123456-10";
  f.fine = false;
  core::Attempt done;
  done.startedAt = kT;
  done.endedAt = kT + 30'000;
  done.finished = true;
  done.outcome = core::OutcomeClass::Busy;
  done.code = 17;
  done.reason = "busy";
  done.media = core::FaxMedia::T38;
  done.codec = "PCMA";
  core::Attempt running;
  running.startedAt = kT + 61'000;
  running.bitRate = 14400;
  running.ecm = true;
  running.compression = "T.6";
  f.attempts = {done, running};
  return f;
}

TEST(FaxJson, CarriesEveryField) {
  const Json j = toJson(sampleFax());
  EXPECT_EQ(j["id"], 9);
  EXPECT_EQ(j["direction"], "out");
  EXPECT_EQ(j["state"], "waiting");
  EXPECT_EQ(j["number"], "+4989123456");
  EXPECT_EQ(j["device"], 3);
  EXPECT_EQ(j["pages"], 1);
  EXPECT_EQ(j["pages_total"], 2);
  EXPECT_EQ(j["remote_id"], "+49 89 654321");
  EXPECT_EQ(j["created_at"], "2026-11-03T10:15:02.120Z");
  EXPECT_EQ(j["updated_at"], "2026-11-03T10:15:03.120Z");
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["tag"], "invoice-77");
  EXPECT_EQ(j["priority"], 5);
  EXPECT_EQ(j["notify"], "a@example.com");
  EXPECT_EQ(j["attempt_count"], 1);
  EXPECT_EQ(j["next_attempt_at"], "2026-11-03T10:16:02.120Z");
  EXPECT_EQ(j["tsi"], "+49 89 123456-10");
  EXPECT_EQ(j["resolution"], "normal");
  EXPECT_TRUE(j["extension"].is_null());
  EXPECT_TRUE(j["caller_id"].is_null());
  ASSERT_EQ(j["attempts"].size(), 2u);
  const Json& a0 = j["attempts"][0];
  EXPECT_EQ(a0["outcome"], "busy");
  EXPECT_EQ(a0["reason"], "busy");
  EXPECT_EQ(a0["ended_at"], "2026-11-03T10:15:32.120Z");
  EXPECT_EQ(a0["media"], "t38");
  EXPECT_EQ(a0["codec"], "PCMA");
  const Json& a1 = j["attempts"][1];
  EXPECT_TRUE(a1["outcome"].is_null());  // still running
  EXPECT_TRUE(a1["ended_at"].is_null());
  EXPECT_EQ(a1["bit_rate"], 14400);
  EXPECT_EQ(a1["ecm"], true);
  EXPECT_EQ(a1["compression"], "T.6");
  EXPECT_TRUE(a1["media"].is_null());  // known once the call ended
  EXPECT_FALSE(a1.contains("codec"));  // none negotiated
  for (const char* key : {"started_at", "ended_at", "outcome", "reason", "bit_rate", "ecm",
                          "compression", "pages", "remote_id", "media"}) {
    EXPECT_TRUE(a1.contains(key)) << key;
  }
}

TEST(FaxJson, FailedInboundWithoutDevice) {
  core::Fax f;
  f.id = 1;
  f.direction = core::Direction::In;
  f.state = core::FaxState::Failed;
  f.error = "the call dropped after page 2";
  f.nextAttemptAt = kT;  // meaningless once final
  f.extension = "10";
  f.callerId = "ACME";
  const Json j = toJson(f);
  EXPECT_EQ(j["direction"], "in");
  EXPECT_TRUE(j["device"].is_null());
  EXPECT_EQ(j["error"], "the call dropped after page 2");
  EXPECT_TRUE(j["next_attempt_at"].is_null());
  EXPECT_EQ(j["extension"], "10");
  EXPECT_EQ(j["caller_id"], "ACME");
  EXPECT_EQ(j["resolution"], "fine");
  EXPECT_TRUE(j["attempts"].is_array());
}

TEST(DeviceJson, EffectiveTsiAndCustomFlag) {
  core::Device d;
  d.id = 4;
  d.kind = core::DeviceKind::Team;
  d.name = "Sales";
  d.email = "sales@example.com";
  d.extension = "20";
  d.inboundFormat = core::InboundFormat::Inline;
  Json j = toJson(d, "+49 89 123456-20");
  EXPECT_EQ(j["id"], 4);
  EXPECT_EQ(j["kind"], "team");
  EXPECT_EQ(j["name"], "Sales");
  EXPECT_EQ(j["email"], "sales@example.com");
  EXPECT_EQ(j["extension"], "20");
  EXPECT_EQ(j["tsi"], "+49 89 123456-20");
  EXPECT_EQ(j["tsi_custom"], false);
  EXPECT_EQ(j["inbound_format"], "inline");
  d.tsi = "+1 555 0100";
  EXPECT_EQ(toJson(d, d.tsi)["tsi_custom"], true);
  EXPECT_EQ(j["has_pin"], false);
  d.pinHash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  const Json withPin = toJson(d, d.tsi);
  EXPECT_EQ(withPin["has_pin"], true);
  EXPECT_EQ(withPin.dump().find("argon2"), std::string::npos);  // the hash never leaves
  EXPECT_FALSE(withPin.contains("pin"));
}

TEST(MergeDevice, PinIsWriteOnlyHashedAndValidated) {
  core::Device d;
  d.id = 4;
  ASSERT_TRUE(mergeDevice(d, Json{{"pin", "0815"}}));
  EXPECT_EQ(d.pinHash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(core::verifyPin(d.pinHash, "0815"));
  // A GET result (has_pin) can be put back; has_pin alone cannot change anything.
  ASSERT_TRUE(mergeDevice(d, toJson(d, "")));
  EXPECT_TRUE(core::verifyPin(d.pinHash, "0815"));
  EXPECT_EQ(mergeDevice(d, Json{{"has_pin", false}}).error().code, "invalid_device");
  for (const Json& bad :
       {Json("12"), Json("1234567890123"), Json("12a4"), Json(1234), Json(true)}) {
    auto r = mergeDevice(d, Json{{"pin", bad}});
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.error().code, "invalid_device");
    EXPECT_EQ(r.error().message.find(bad.dump()), std::string::npos);  // never echoed
  }
  EXPECT_TRUE(core::verifyPin(d.pinHash, "0815"));  // a refused change leaves it
  ASSERT_TRUE(mergeDevice(d, Json{{"pin", nullptr}}));
  EXPECT_TRUE(d.pinHash.empty());
  ASSERT_TRUE(mergeDevice(d, Json{{"pin", "123456"}, {"has_pin", true}}));
  ASSERT_TRUE(mergeDevice(d, Json{{"pin", ""}}));
  EXPECT_TRUE(d.pinHash.empty());
}

TEST(MergeDevice, PartialUpdateKeepsOtherFields) {
  core::Device d;
  d.id = 4;
  d.name = "Sales";
  d.email = "sales@example.com";
  d.extension = "20";
  d.tsi = "+1 555 0100";
  ASSERT_TRUE(mergeDevice(d, Json{{"email", "team@example.com"}, {"inbound_format", "tiff"}}));
  EXPECT_EQ(d.name, "Sales");
  EXPECT_EQ(d.email, "team@example.com");
  EXPECT_EQ(d.extension, "20");
  EXPECT_EQ(d.inboundFormat, core::InboundFormat::Tiff);
  EXPECT_EQ(d.tsi, "+1 555 0100");
}

TEST(MergeDevice, GetResultCanBePutBack) {
  core::Device d;
  d.id = 4;
  d.name = "Sales";
  d.email = "sales@example.com";
  d.extension = "20";
  const Json got = toJson(d, "+49 89 123456-20");
  core::Device copy = d;
  ASSERT_TRUE(mergeDevice(copy, got));
  EXPECT_EQ(copy.tsi, "");  // the derived TSI did not become a custom one
  EXPECT_EQ(copy.name, "Sales");
}

TEST(MergeDevice, RejectsBadInput) {
  core::Device d;
  d.id = 4;
  auto unknown = mergeDevice(d, Json{{"mail", "x@example.com"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "unknown_field");
  EXPECT_EQ(mergeDevice(d, Json{{"kind", "robot"}}).error().code, "invalid_device");
  EXPECT_EQ(mergeDevice(d, Json{{"extension", 20}}).error().code, "invalid_device");
  EXPECT_EQ(mergeDevice(d, Json{{"inbound_format", "docx"}}).error().code, "invalid_device");
  EXPECT_EQ(mergeDevice(d, Json{{"id", 5}}).error().code, "invalid_device");
  EXPECT_EQ(mergeDevice(d, Json::array()).error().code, "invalid_json");
  core::Device fresh;
  EXPECT_EQ(mergeDevice(fresh, Json{{"id", 1}}).error().code, "invalid_device");
}

TEST(SettingsJson, IntsAreNumbers) {
  core::Settings s;
  const Json j = toJson(s);
  EXPECT_EQ(j["total_lines"], 4);
  EXPECT_EQ(j["reserved_inbound_lines"], 1);
  EXPECT_EQ(j["retention_days"], 30);
  EXPECT_EQ(j["send_attempts"], 3);
  EXPECT_EQ(j["country_code"], "49");
  EXPECT_EQ(j["mail_to_fax_mode"], "attachments");
  EXPECT_EQ(j["cleanup_schedule"], "");
  for (const auto& key : core::settingKeys()) EXPECT_TRUE(j.contains(key)) << key;
}

TEST(SettingsChanges, NumbersBecomeStrings) {
  auto c = settingsChanges(Json{{"total_lines", 8}, {"area_code", "30"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->at("total_lines"), "8");
  EXPECT_EQ(c->at("area_code"), "30");
  EXPECT_EQ(settingsChanges(Json{{"total_lines", 2.5}}).error().code, "invalid_setting");
  EXPECT_EQ(settingsChanges(Json{{"total_lines", true}}).error().code, "invalid_setting");
  EXPECT_EQ(settingsChanges(Json{{"total_lines", nullptr}}).error().code, "invalid_setting");
  EXPECT_EQ(settingsChanges(Json::array()).error().code, "invalid_json");
}

TEST(SettingsJson, ListsAreArrays) {
  core::Settings s;
  Json j = toJson(s);
  EXPECT_EQ(j["allowed_destinations"], Json::array({"+49"}));  // unset: the own country
  EXPECT_EQ(j["blocked_number_types"],
            Json::array({"premium_rate", "shared_cost", "personal_number", "uan", "voip"}));
  EXPECT_EQ(j["blocked_prefixes"], Json::array());
  EXPECT_EQ(j["daily_page_limit"], 0);
  s.blockedPrefixes = {"+49900", "+44"};
  EXPECT_EQ(toJson(s)["blocked_prefixes"], Json::array({"+49900", "+44"}));
}

TEST(SettingsChanges, ListsFromArraysStringsAndNull) {
  auto c = settingsChanges(Json{{"allowed_destinations", Json::array({"+49", "+43"})},
                                {"blocked_prefixes", "+44,+1900"},
                                {"blocked_number_types", Json::array()}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->at("allowed_destinations"), "+49,+43");
  EXPECT_EQ(c->at("blocked_prefixes"), "+44,+1900");
  EXPECT_EQ(c->at("blocked_number_types"), "");
  EXPECT_EQ(settingsChanges(Json{{"allowed_destinations", nullptr}})->at("allowed_destinations"),
            "");
  auto notStrings = settingsChanges(Json{{"blocked_prefixes", Json::array({49})}});
  ASSERT_FALSE(notStrings);
  EXPECT_EQ(notStrings.error().code, "invalid_setting");
  EXPECT_NE(notStrings.error().message.find("blocked_prefixes"), std::string::npos);
  EXPECT_EQ(settingsChanges(Json{{"blocked_prefixes", Json::array({"+1,+2"})}}).error().code,
            "invalid_setting");
  // Arrays are for lists only.
  EXPECT_EQ(settingsChanges(Json{{"total_lines", Json::array({"1"})}}).error().code,
            "invalid_setting");
}

TEST(NumberCheckJson, Shapes) {
  core::NumberCheck ok;
  ok.input = "089 123456";
  ok.valid = true;
  ok.allowed = true;
  ok.asYouType = "089 123456";
  ok.number.e164 = "+4989123456";
  ok.number.dialString = "0123456";
  ok.number.national = "089 123456";
  ok.number.international = "+49 89 123456";
  ok.number.type = core::NumberType::FixedLine;
  Json j = toJson(ok);
  EXPECT_EQ(j["e164"], "+4989123456");
  EXPECT_EQ(j["dial_string"], "0123456");
  EXPECT_EQ(j["type"], "fixed_line");
  EXPECT_EQ(j["internal"], false);
  EXPECT_EQ(j["allowed"], true);
  EXPECT_TRUE(j["reason"].is_null());
  core::NumberCheck bad;
  bad.input = "+49 20";
  bad.asYouType = "+49 20";
  bad.reasonCode = "invalid_number";
  bad.reason = "'+49 20' is not a valid fax number";
  j = toJson(bad);
  EXPECT_EQ(j["valid"], false);
  EXPECT_TRUE(j["e164"].is_null());
  EXPECT_TRUE(j["type"].is_null());
  EXPECT_EQ(j["as_you_type"], "+49 20");
  EXPECT_EQ(j["reason_code"], "invalid_number");
  for (const char* key : {"input", "valid", "e164", "dial_string", "national", "international",
                          "as_you_type", "type", "internal", "allowed", "reason"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(ParseObject, EmptyAndBrokenBodies) {
  EXPECT_TRUE(parseObject("", true));
  EXPECT_TRUE(parseObject(" \n", true)->empty());
  EXPECT_EQ(parseObject("", false).error().code, "invalid_json");
  EXPECT_EQ(parseObject("{\"a\":", false).error().code, "invalid_json");
  EXPECT_EQ(parseObject("[1]", false).error().code, "invalid_json");
  EXPECT_EQ((*parseObject("{\"a\":1}", false))["a"], 1);
}

TEST(TokenAndLinesJson, Shapes) {
  core::ApiToken t;
  t.id = 2;
  t.name = "ci";
  t.prefix = "vfx_abcd";
  t.userId = 7;
  t.createdAt = kT;
  Json j = toJson(t);
  EXPECT_EQ(j["name"], "ci");
  EXPECT_EQ(j["user"], 7);
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_TRUE(j["last_used_at"].is_null());
  EXPECT_FALSE(j.contains("hash"));
  core::LineStatus l;
  l.total = 4;
  l.queued = 2;
  Json lj = toJson(l);
  EXPECT_EQ(lj["total"], 4);
  EXPECT_EQ(lj["queued"], 2);
  EXPECT_TRUE(lj.contains("reserved_inbound"));
  EXPECT_TRUE(lj.contains("in_use"));
}

}  // namespace
}  // namespace vfax::api
