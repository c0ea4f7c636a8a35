#include "api/upload.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vfax::api {
namespace {

namespace fs = std::filesystem;

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vfax-api-upload-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    staging_ = tmpl;
  }
  void TearDown() override { fs::remove_all(staging_); }
  bool stagingEmpty() const { return fs::is_empty(staging_); }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static bool feed(MultipartCollector& c, const std::string& name, const std::string& filename,
                   const std::string& data) {
    if (!c.onPart(name, filename)) return false;
    // In two pieces, as the parser may deliver them.
    const auto half = data.size() / 2;
    return c.onData(data.data(), half) && c.onData(data.data() + half, data.size() - half);
  }
  std::string staging_;
};

TEST_F(UploadTest, StagesFilesAndFields) {
  auto c = MultipartCollector::create(staging_, {});
  ASSERT_TRUE(c);
  ASSERT_TRUE(feed(**c, "to", "", "+49 89 1234"));
  ASSERT_TRUE(feed(**c, "file", "a.pdf", "%PDF-1.4 one"));
  ASSERT_TRUE(feed(**c, "file", "", "second"));
  ASSERT_TRUE(feed(**c, "resolution", "", "normal"));
  ASSERT_TRUE((*c)->finish());
  ASSERT_EQ((*c)->files().size(), 2u);
  EXPECT_EQ((*c)->files()[0].filename, "a.pdf");
  EXPECT_EQ(read((*c)->files()[0].path), "%PDF-1.4 one");
  EXPECT_EQ((*c)->files()[1].filename, "file 2");
  EXPECT_EQ(read((*c)->files()[1].path), "second");

  auto req = buildSubmitRequest((*c)->fields(), (*c)->files());
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->to, "+49 89 1234");
  EXPECT_FALSE(req->fine);
  EXPECT_EQ(req->files.size(), 2u);
  const std::string dir = (*c)->dir();
  EXPECT_TRUE(fs::exists(dir));
  c->reset();
  EXPECT_FALSE(fs::exists(dir));  // nothing left behind by a request
  EXPECT_TRUE(stagingEmpty());
}

TEST_F(UploadTest, TooLargeStopsReading) {
  UploadLimits limits;
  limits.maxBytes = 10;
  auto c = MultipartCollector::create(staging_, limits);
  ASSERT_TRUE(c);
  EXPECT_FALSE(feed(**c, "file", "big.pdf", "0123456789ABC"));
  auto r = (*c)->finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "payload_too_large");
  c->reset();
  EXPECT_TRUE(stagingEmpty());
}

TEST_F(UploadTest, TooManyFiles) {
  UploadLimits limits;
  limits.maxFiles = 1;
  auto c = MultipartCollector::create(staging_, limits);
  ASSERT_TRUE(c);
  ASSERT_TRUE(feed(**c, "file", "a.pdf", "x"));
  EXPECT_FALSE((*c)->onPart("file", "b.pdf"));
  EXPECT_EQ((*c)->finish().error().code, "too_many_files");
}

TEST_F(UploadTest, UnknownAndRepeatedFields) {
  auto c = MultipartCollector::create(staging_, {});
  ASSERT_TRUE(c);
  EXPECT_FALSE((*c)->onPart("number", ""));
  EXPECT_EQ((*c)->error()->code, "unknown_field");

  auto d = MultipartCollector::create(staging_, {});
  ASSERT_TRUE(d);
  ASSERT_TRUE(feed(**d, "to", "", "1"));
  EXPECT_FALSE((*d)->onPart("to", ""));
  EXPECT_EQ((*d)->error()->code, "invalid_request");
}

TEST_F(UploadTest, LongFieldRejected) {
  auto c = MultipartCollector::create(staging_, {});
  ASSERT_TRUE(c);
  EXPECT_FALSE(feed(**c, "tag", "", std::string(5000, 'x')));
  EXPECT_EQ((*c)->finish().error().code, "invalid_request");
}

TEST(BuildSubmitRequest, FieldsAndErrors) {
  using Fields = std::multimap<std::string, std::string>;
  std::vector<core::Upload> one{{"a.pdf", "/nonexistent/1"}};
  auto ok = buildSubmitRequest(
      Fields{{"to", "123"}, {"device", "4"}, {"priority", "-5"}, {"tag", "t"}, {"notify", "n@example.com"}}, one);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->deviceId, 4);
  EXPECT_EQ(ok->priority, -5);
  EXPECT_EQ(ok->tag, "t");
  EXPECT_EQ(ok->notify, "n@example.com");
  EXPECT_TRUE(ok->fine);

  EXPECT_EQ(buildSubmitRequest(Fields{}, one).error().code, "invalid_number");
  EXPECT_EQ(buildSubmitRequest(Fields{{"to", "  "}}, one).error().code, "invalid_number");
  EXPECT_EQ(buildSubmitRequest(Fields{{"to", "1"}}, {}).error().code, "no_file");
  EXPECT_EQ(buildSubmitRequest(Fields{{"to", "1"}, {"device", "x"}}, one).error().code, "unknown_device");
  EXPECT_EQ(buildSubmitRequest(Fields{{"to", "1"}, {"priority", "high"}}, one).error().code, "invalid_request");
  EXPECT_EQ(buildSubmitRequest(Fields{{"to", "1"}, {"resolution", "superfine"}}, one).error().code,
            "invalid_request");
}

}  // namespace
}  // namespace vfax::api
