#include "api/errors.h"

#include <gtest/gtest.h>

namespace vfax::api {
namespace {

TEST(HttpStatusFor, MapsDomainCodes) {
  EXPECT_EQ(httpStatusFor("invalid_number"), 400);
  EXPECT_EQ(httpStatusFor("invalid_setting"), 400);
  EXPECT_EQ(httpStatusFor("unknown_setting"), 400);
  EXPECT_EQ(httpStatusFor("invalid_device"), 400);
  EXPECT_EQ(httpStatusFor("no_file"), 400);
  EXPECT_EQ(httpStatusFor("unknown_device"), 400);
  EXPECT_EQ(httpStatusFor("unauthorized"), 401);
  EXPECT_EQ(httpStatusFor("forbidden"), 403);
  EXPECT_EQ(httpStatusFor("not_found"), 404);
  EXPECT_EQ(httpStatusFor("conflict"), 409);
  EXPECT_EQ(httpStatusFor("not_ready"), 409);
  EXPECT_EQ(httpStatusFor("payload_too_large"), 413);
  EXPECT_EQ(httpStatusFor("too_many_files"), 413);
  EXPECT_EQ(httpStatusFor("unsupported_type"), 415);
  EXPECT_EQ(httpStatusFor("destination_not_allowed"), 422);
  EXPECT_EQ(httpStatusFor("storage_error"), 500);
  EXPECT_EQ(httpStatusFor("internal"), 500);
}

TEST(HttpStatusFor, UnknownCodeIsServerError) { EXPECT_EQ(httpStatusFor("sqlite_busy"), 500); }

TEST(ToHttpError, ClientErrorKeepsCodeAndMessage) {
  auto h = toHttpError(core::makeError("invalid_number", "'12x' is not a phone number"));
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(h.body["error"]["code"], "invalid_number");
  EXPECT_EQ(h.body["error"]["message"], "'12x' is not a phone number");
}

TEST(ToHttpError, ServerErrorHidesInternals) {
  auto h =
      toHttpError(core::makeError("storage_error", "cannot open /var/lib/vfax/db: disk I/O error"));
  EXPECT_EQ(h.status, 500);
  EXPECT_EQ(h.body["error"]["code"], "storage_error");
  EXPECT_EQ(h.body["error"]["message"].get<std::string>().find("/var/lib"), std::string::npos);

  auto unknown = toHttpError(core::makeError("sqlite_locked", "database /x is locked"));
  EXPECT_EQ(unknown.status, 500);
  EXPECT_EQ(unknown.body["error"]["code"], "internal");
  EXPECT_EQ(unknown.body["error"]["message"].get<std::string>().find("/x"), std::string::npos);
}

}  // namespace
}  // namespace vfax::api
