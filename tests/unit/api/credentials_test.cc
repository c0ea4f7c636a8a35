#include "api/credentials.h"

#include <gtest/gtest.h>

namespace vfax::api {
namespace {

TEST(Credentials, CookieValue) {
  EXPECT_EQ(cookieValue("vfax_session=abc", "vfax_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; vfax_session=abc; b=2", "vfax_session"), "abc");
  EXPECT_EQ(cookieValue("a=1;vfax_session=x;vfax_session=y", "vfax_session"), "x");
  EXPECT_EQ(cookieValue("xvfax_session=abc", "vfax_session"), "");
  EXPECT_EQ(cookieValue("vfax_session", "vfax_session"), "");
  EXPECT_EQ(cookieValue("", "vfax_session"), "");
  EXPECT_EQ(cookieValue(";;;=;", "vfax_session"), "");
}

TEST(Credentials, BearerToken) {
  EXPECT_EQ(bearerToken("Bearer vfx_1"), "vfx_1");
  EXPECT_EQ(bearerToken("bearer vfx_1"), "vfx_1");
  EXPECT_EQ(bearerToken("Bearer "), "");
  EXPECT_EQ(bearerToken("Basic dXNlcjpwdw=="), "");
  EXPECT_EQ(bearerToken(""), "");
}

TEST(Credentials, SameOrigin) {
  EXPECT_TRUE(sameOrigin("fax.example:8080", "http://fax.example:8080", ""));
  EXPECT_TRUE(sameOrigin("fax.example", "https://fax.example", ""));
  EXPECT_FALSE(sameOrigin("fax.example", "https://evil.example", "https://fax.example/"));
  EXPECT_FALSE(sameOrigin("fax.example", "http://fax.example.evil", ""));
  // No Origin (or "null"): the Referer decides, and must be our page, not a look-alike host.
  EXPECT_TRUE(sameOrigin("fax.example", "", "http://fax.example/app/send"));
  EXPECT_TRUE(sameOrigin("fax.example", "null", "https://fax.example"));
  EXPECT_FALSE(sameOrigin("fax.example", "", "http://fax.example.evil/"));
  EXPECT_FALSE(sameOrigin("fax.example", "", ""));
  EXPECT_FALSE(sameOrigin("", "http://", ""));
  // Behind a reverse proxy that sends its own Host: the configured public origin counts.
  EXPECT_TRUE(sameOrigin("127.0.0.1:8080", "https://fax.example", "", "https://fax.example"));
  EXPECT_TRUE(sameOrigin("127.0.0.1:8080", "", "https://fax.example/x", "https://fax.example"));
  EXPECT_FALSE(sameOrigin("127.0.0.1:8080", "https://fax.example.evil", "", "https://fax.example"));
}

}  // namespace
}  // namespace vfax::api
