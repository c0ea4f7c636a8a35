#include "api/metrics.h"

#include <gtest/gtest.h>

namespace vfax::api {
namespace {

TEST(RenderMetrics, WritesEveryStateAndTheLines) {
  FaxCounts counts;
  counts[{core::Direction::Out, core::FaxState::Done}] = 12;
  counts[{core::Direction::In, core::FaxState::Received}] = 3;
  core::LineStatus lines;
  lines.total = 4;
  lines.reservedInbound = 1;
  lines.inUse = 2;
  lines.inbound = 1;
  lines.outbound = 1;
  lines.queued = 5;
  const std::string text = renderMetrics(counts, lines);
  EXPECT_NE(text.find("vfax_faxes{direction=\"out\",state=\"done\"} 12\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vfax_faxes{direction=\"in\",state=\"received\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_faxes{direction=\"out\",state=\"queued\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_faxes{direction=\"in\",state=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_faxes{direction=\"out\",state=\"held\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_lines_total 4\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_lines_reserved_inbound 1\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_lines_in_use{direction=\"in\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_lines_in_use{direction=\"out\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vfax_queue_depth 5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vfax_faxes gauge\n"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace vfax::api
