#include "core/previews.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vfax::core {
namespace {

namespace fs = std::filesystem;

class FakeClock final : public Clock {
 public:
  Millis now() const override { return now_; }
  Millis now_ = 1'800'000'000'000;
};

class PreviewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vfax-previews-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    previews_ = std::make_unique<Previews>((root_ / "previews").string(), clock_, 60'000, 2);
    ASSERT_TRUE(previews_->start().ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  PreviewRecord make(std::int64_t owner, const std::string& subject = "s") {
    auto dir = previews_->stage();
    EXPECT_TRUE(dir.ok());
    std::ofstream(fs::path(*dir) / "fax.tif") << "pages";
    PreviewRecord r;
    r.owner = owner;
    r.pages = 3;
    r.to = "100";
    r.deviceId = 7;
    r.subject = subject;
    r.comment = "line 1\nline \"2\"";
    r.cover = true;
    auto c = previews_->commit(*dir, r);
    EXPECT_TRUE(c.ok());
    clock_.now_ += 1;  // distinct creation times
    return *c;
  }

  fs::path root_;
  FakeClock clock_;
  std::unique_ptr<Previews> previews_;
};

TEST_F(PreviewsTest, RoundTripOwnedOnly) {
  const auto p = make(5);
  EXPECT_EQ(p.id.size(), 32u);
  EXPECT_EQ(p.expiresAt, p.createdAt + 60'000);
  auto got = previews_->get(5, p.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->pages, 3);
  EXPECT_EQ(got->deviceId, 7);
  EXPECT_EQ(got->comment, "line 1\nline \"2\"");
  EXPECT_TRUE(got->cover);
  EXPECT_EQ(previews_->get(6, p.id).error().code, "not_found");  // another user's
  for (const char* bad : {"", "..", "../faxes", "ABCDEF", "0123456789abcdef0123456789abcdeg"}) {
    EXPECT_EQ(previews_->get(5, bad).error().code, "not_found") << bad;
  }
}

TEST_F(PreviewsTest, ExpiresAndIsRemoved) {
  const auto p = make(5);
  clock_.now_ += 60'000;
  EXPECT_EQ(previews_->get(5, p.id).error().code, "not_found");
  EXPECT_FALSE(fs::exists(previews_->folder(p.id)));
  const auto q = make(5);
  clock_.now_ += 60'000;
  EXPECT_EQ(previews_->removeExpired(), 1);
  EXPECT_FALSE(fs::exists(previews_->folder(q.id)));
}

TEST_F(PreviewsTest, AtMostPerUserOldestDropped) {
  const auto a = make(5);
  const auto b = make(5);
  const auto other = make(6);
  const auto c = make(5);
  EXPECT_FALSE(previews_->get(5, a.id).ok());
  EXPECT_TRUE(previews_->get(5, b.id).ok());
  EXPECT_TRUE(previews_->get(5, c.id).ok());
  EXPECT_TRUE(previews_->get(6, other.id).ok());  // others' previews do not count
}

TEST_F(PreviewsTest, TakenOnceIntoTheJobsFolder) {
  const auto p = make(5);
  const std::string to = (root_ / "job").string();
  EXPECT_EQ(previews_->take(6, p.id, to).error().code, "not_found");
  auto t = previews_->take(5, p.id, to);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(fs::exists(fs::path(to) / "fax.tif"));
  EXPECT_FALSE(fs::exists(fs::path(to) / "meta.json"));
  EXPECT_EQ(previews_->take(5, p.id, (root_ / "again").string()).error().code, "not_found");
}

TEST_F(PreviewsTest, StartRemovesHalfMadeAndBrokenOnes) {
  auto staged = previews_->stage();
  ASSERT_TRUE(staged.ok());
  const fs::path broken = root_ / "previews" / "0123456789abcdef0123456789abcdef";
  fs::create_directories(broken);
  std::ofstream(broken / "meta.json") << "{not json";
  Previews again((root_ / "previews").string(), clock_, 60'000, 2);
  ASSERT_TRUE(again.start().ok());
  EXPECT_FALSE(fs::exists(*staged));
  EXPECT_FALSE(fs::exists(broken));
}

}  // namespace
}  // namespace vfax::core
