#include "core/model.h"

#include <gtest/gtest.h>

namespace vfax::core {
namespace {

TEST(Model, DirectionRoundTrip) {
  for (auto d : {Direction::In, Direction::Out}) EXPECT_EQ(directionFromString(toString(d)), d);
  EXPECT_EQ(toString(Direction::In), "in");
  EXPECT_EQ(toString(Direction::Out), "out");
  EXPECT_FALSE(directionFromString("IN"));
  EXPECT_FALSE(directionFromString(""));
}

TEST(Model, FaxStateRoundTripAndFinal) {
  const std::pair<FaxState, std::string_view> all[] = {
      {FaxState::Queued, "queued"},       {FaxState::Converting, "converting"},
      {FaxState::Waiting, "waiting"},     {FaxState::Dialing, "dialing"},
      {FaxState::Sending, "sending"},     {FaxState::Done, "done"},
      {FaxState::Failed, "failed"},       {FaxState::Canceled, "canceled"},
      {FaxState::Receiving, "receiving"}, {FaxState::Received, "received"},
  };
  for (const auto& [s, name] : all) {
    EXPECT_EQ(toString(s), name);
    EXPECT_EQ(faxStateFromString(name), s);
    const bool final = s == FaxState::Done || s == FaxState::Failed || s == FaxState::Canceled ||
                       s == FaxState::Received;
    EXPECT_EQ(isFinal(s), final) << name;
  }
  EXPECT_FALSE(faxStateFromString("cancelled"));
}

TEST(Model, OutcomeClassRoundTrip) {
  const std::pair<OutcomeClass, std::string_view> all[] = {
      {OutcomeClass::Ok, "ok"},
      {OutcomeClass::Busy, "busy"},
      {OutcomeClass::NoAnswer, "no_answer"},
      {OutcomeClass::Dropped, "dropped"},
      {OutcomeClass::Refused, "refused"},
      {OutcomeClass::Incompatible, "incompatible"},
      {OutcomeClass::LocalError, "local_error"},
      {OutcomeClass::Canceled, "canceled"},
  };
  for (const auto& [c, name] : all) {
    EXPECT_EQ(toString(c), name);
    EXPECT_EQ(outcomeClassFromString(name), c);
  }
  EXPECT_FALSE(outcomeClassFromString("no-answer"));
}

TEST(Model, DeviceKindAndFormatRoundTrip) {
  EXPECT_EQ(toString(DeviceKind::User), "user");
  EXPECT_EQ(toString(DeviceKind::Team), "team");
  EXPECT_EQ(deviceKindFromString("user"), DeviceKind::User);
  EXPECT_EQ(deviceKindFromString("team"), DeviceKind::Team);
  EXPECT_FALSE(deviceKindFromString("group"));
  for (auto f : {InboundFormat::Pdf, InboundFormat::Tiff, InboundFormat::Inline}) {
    EXPECT_EQ(inboundFormatFromString(toString(f)), f);
  }
  EXPECT_EQ(toString(InboundFormat::Inline), "inline");
  EXPECT_FALSE(inboundFormatFromString("PDF"));
}

}  // namespace
}  // namespace vfax::core
