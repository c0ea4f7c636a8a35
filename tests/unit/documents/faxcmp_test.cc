// faxcmp, the integration tests' comparison tool, run as the program it is.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "test_inputs.h"

namespace vfax::documents {
namespace {

using testing::FaxCoding;
using testing::TempDir;

struct ToolRun {
  int exitCode = -1;
  std::string out;
};

ToolRun faxcmp(const std::string& args) {
  ToolRun r;
  const std::string cmd = std::string(VFAX_BINARY_DIR) + "/bin/faxcmp " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) r.out += buf;
  const int status = ::pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// What a receiver gets: the sender's header band on top of each page.
FaxPage withHeader(const FaxPage& page, int headerRows) {
  FaxPage out;
  out.yDpi = page.yDpi;
  out.resize(page.width, page.rows + headerRows);
  for (int y = 0; y < headerRows; ++y) {
    for (int x = 10; x < 600; x += 3) out.row(y)[x >> 3] |= static_cast<uint8_t>(0x80 >> (x & 7));
  }
  std::copy(page.bits.begin(), page.bits.end(), out.row(headerRows));
  return out;
}

class FaxcmpTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::vector<FaxPage> sent = {testing::makeFaxPattern(1200, kFineYDpi, 1),
                               testing::makeFaxPattern(900, kFineYDpi, 2)};
  std::string sentPath = dir.file("sent.tif");
  std::string recvPath = dir.file("recv.tif");
  void SetUp() override { testing::writeFaxTiff(sentPath, sent, FaxCoding::kT6SingleStrip); }
};

TEST_F(FaxcmpTest, FindsTheHeaderOffsetAndPasses) {
  testing::writeFaxTiff(recvPath, {withHeader(sent[0], 32), withHeader(sent[1], 32)},
                        FaxCoding::kT4_1D);
  const ToolRun r = faxcmp(sentPath + " " + recvPath);
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("page 1: 100.00%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("header 32 rows"), std::string::npos) << r.out;
  EXPECT_EQ(faxcmp(sentPath + " " + recvPath + " --skip-top-rows 32").exitCode, 0);
  EXPECT_EQ(faxcmp(sentPath + " " + recvPath + " --skip-top-rows 10").exitCode, 1);
}

TEST_F(FaxcmpTest, DamagedRowsFail) {
  FaxPage damaged = withHeader(sent[1], 20);
  for (int y = 300; y < 330; ++y) damaged.row(y)[100] ^= 0xFF;  // 30 of 900 rows: 96.7 %
  testing::writeFaxTiff(recvPath, {withHeader(sent[0], 20), damaged}, FaxCoding::kT6SingleStrip);
  const ToolRun r = faxcmp(sentPath + " " + recvPath);
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos);
}

TEST_F(FaxcmpTest, MissingPageFails) {
  testing::writeFaxTiff(recvPath, {withHeader(sent[0], 20)}, FaxCoding::kT6SingleStrip);
  EXPECT_EQ(faxcmp(sentPath + " " + recvPath).exitCode, 1);
}

TEST_F(FaxcmpTest, ListsPages) {
  const ToolRun r = faxcmp("--pages " + sentPath);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out, "pages 2\npage 1: 1728x1200 204x196 dpi\npage 2: 1728x900 204x196 dpi\n");
}

}  // namespace
}  // namespace vfax::documents
