#include "print/options.h"

#include <gtest/gtest.h>

namespace vfax::print {
namespace {

TEST(ParseListen, NumericAddressesAndAny) {
  std::string a;
  int p = 0;
  EXPECT_EQ(parseListen("127.0.0.1:8631", a, p), "");
  EXPECT_EQ(a, "127.0.0.1");
  EXPECT_EQ(p, 8631);
  EXPECT_EQ(parseListen("[::1]:631", a, p), "");
  EXPECT_EQ(a, "[::1]");
  EXPECT_EQ(parseListen("0.0.0.0:8631", a, p), "");
  EXPECT_EQ(a, "*");
  EXPECT_EQ(parseListen("[::]:8631", a, p), "");
  EXPECT_EQ(a, "*");
}

TEST(ParseListen, RefusesWhatPapplCannotBindAsMeant) {
  std::string a = "x";
  int p = 1;
  EXPECT_NE(parseListen("fax.example.com:8631", a, p).find("numeric"), std::string::npos);
  EXPECT_NE(parseListen("::1:8631", a, p).find("brackets"), std::string::npos);
  EXPECT_NE(parseListen("[::1:8631", a, p).find("bracket"), std::string::npos);
  EXPECT_NE(parseListen("127.0.0.1:0", a, p).find("port"), std::string::npos);
  EXPECT_NE(parseListen("127.0.0.1:65536", a, p).find("port"), std::string::npos);
  EXPECT_NE(parseListen("127.0.0.1:86x", a, p).find("port"), std::string::npos);
  EXPECT_NE(parseListen("127.0.0.1", a, p), "");
  EXPECT_EQ(a, "x");  // untouched on error
  EXPECT_EQ(p, 1);
}

TEST(ParseArgs, RequiredAndPaired) {
  EXPECT_EQ(parseArgs({"--api", "http://127.0.0.1:1"}).error, "--spool is required");
  EXPECT_EQ(parseArgs({"--spool", "/s"}).error, "--api must be vfaxd's http:// URL");
  EXPECT_EQ(parseArgs({"--spool", "/s", "--api", "http://x", "--tls-cert", "c"}).error,
            "--tls-cert and --tls-key go together");
  EXPECT_EQ(parseArgs({"--spool"}).error, "--spool needs a value");
  EXPECT_EQ(parseArgs({"--secret", "x"}).error, "unknown argument '--secret'");
  auto ok = parseArgs({"--spool", "/s", "--api", "http://127.0.0.1:8080", "--listen", "[::1]:9631",
                       "--anonymous", "--no-dnssd", "--max-bytes", "1000", "--log-level", "debug"});
  ASSERT_TRUE(ok.options) << ok.error;
  EXPECT_EQ(ok.options->listenAddress, "[::1]");
  EXPECT_EQ(ok.options->port, 9631);
  EXPECT_TRUE(ok.options->anonymous);
  EXPECT_FALSE(ok.options->dnssd);
  EXPECT_EQ(ok.options->maxBytes, 1000u);
  EXPECT_EQ(parseArgs({"--spool", "/s", "--api", "http://x", "--log-level", "loud"}).error,
            "--log-level must be debug, info, warn or error");
}

TEST(Base64, DecodesAndRefuses) {
  EXPECT_EQ(decodeBase64("YW5uOnB3"), "ann:pw");
  EXPECT_EQ(decodeBase64("YW5uOnB3MQ=="), "ann:pw1");
  EXPECT_EQ(decodeBase64("YW5uOnB3MQ"), "ann:pw1");  // padding optional
  EXPECT_EQ(decodeBase64(""), "");
  EXPECT_FALSE(decodeBase64("YW5u*nB3"));
  EXPECT_FALSE(decodeBase64("YW5uOnB3M==="));
  EXPECT_FALSE(decodeBase64("YQ=x"));
  EXPECT_FALSE(decodeBase64("Y"));  // 6 bits: not a byte
}

TEST(BasicAuthorization, SplitsAtTheFirstColon) {
  auto c = parseBasicAuthorization("Basic YW5uOnA6dw==");  // ann:p:w
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "ann");
  EXPECT_EQ(c->password, "p:w");
  EXPECT_TRUE(parseBasicAuthorization("basic   YW5uOnB3  "));
  EXPECT_FALSE(parseBasicAuthorization("Bearer YW5uOnB3"));
  EXPECT_FALSE(parseBasicAuthorization("BasicYW5uOnB3"));
  EXPECT_FALSE(parseBasicAuthorization("Basic Om5vdXNlcg=="));  // ":nouser"
  EXPECT_FALSE(parseBasicAuthorization("Basic YW5u"));          // "ann", no colon
  EXPECT_FALSE(parseBasicAuthorization("Basic YQphOmI="));      // control character in the name
  EXPECT_FALSE(parseBasicAuthorization(""));
}

TEST(VfaxdBody, AuthorizeJobsAndErrors) {
  VfaxdAnswer a;
  a.status = 200;
  parseVfaxdBody(R"({"user": 7, "username": "ann", "device": null})", a);
  EXPECT_EQ(a.user, "7");
  EXPECT_EQ(a.username, "ann");
  EXPECT_EQ(a.device, "");

  VfaxdAnswer j;
  j.status = 201;
  parseVfaxdBody(R"({"faxes": [{"id": 1}, {"id": 2}], "held": true})", j);
  EXPECT_EQ(j.faxes, 2);
  EXPECT_TRUE(j.held);

  VfaxdAnswer e;
  e.status = 422;
  parseVfaxdBody(R"({"error": {"code": "corrupt_file", "message": "bad\npdf"}})", e);
  EXPECT_EQ(e.code, "corrupt_file");
  EXPECT_EQ(e.message, "bad pdf");  // one line for the print dialog

  VfaxdAnswer g;
  g.status = 502;
  parseVfaxdBody("<html>proxy error</html>", g);
  EXPECT_EQ(g.message, "vfaxd refused the job (HTTP 502)");

  VfaxdAnswer l;
  l.status = 400;
  parseVfaxdBody(R"({"error": {"message": ")" + std::string(5000, 'x') + "\"}}", l);
  EXPECT_EQ(l.message.size(), 900u);
}

}  // namespace
}  // namespace vfax::print
