#include "mail/mime_intake.h"

#include <gtest/gtest.h>

#include <string>

namespace vfax::mail {
namespace {

std::string crlf(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(MimeIntake, NestedMultipartWithOctetStreamAndRfc2231Name) {
  const std::string raw = crlf(
      "From: \"Müller, Hans\" <Hans@Example.TEST>\n"
      "Subject: =?UTF-8?Q?0_89_123456=3B_0_30_999?=\n"
      "Message-ID: <abc@example.test>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\n"
      "\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\n"
      "\n"
      "--inner\n"
      "Content-Type: text/plain; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "Gr=FC=DFe\n"
      "--inner\n"
      "Content-Type: text/html; charset=utf-8\n"
      "\n"
      "<p>Gr&uuml;&szlig;e</p>\n"
      "--inner--\n"
      "--outer\n"
      "Content-Type: application/octet-stream\n"
      "Content-Disposition: attachment; filename*=UTF-8''Angebot%20f%C3%BCr%20Sie.pdf\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "JVBERi0xLjQKJcfs\n"
      "--outer--\n");
  auto m = parseMail(raw);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->from, "hans@example.test");
  EXPECT_EQ(m->subject, "0 89 123456; 0 30 999");
  EXPECT_EQ(m->messageId, "abc@example.test");
  EXPECT_EQ(m->textBody.substr(0, 7), "Grüße");
  EXPECT_NE(m->htmlBody.find("<p>"), std::string::npos);
  ASSERT_EQ(m->attachments.size(), 1u);
  EXPECT_EQ(m->attachments[0].filename, "Angebot für Sie.pdf");
  EXPECT_EQ(m->attachments[0].contentType, "application/octet-stream");
  EXPECT_EQ(m->attachments[0].data.substr(0, 8), "%PDF-1.4");
}

TEST(MimeIntake, Rfc2047FileNameAsOutlookWritesIt) {
  const std::string raw = crlf(
      "From: a@example.test\n"
      "Subject: 100\n"
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: text/plain\n"
      "\n"
      "hi\n"
      "--b\n"
      "Content-Type: application/pdf; name=\"=?iso-8859-1?Q?Pr=FCfung.pdf?=\"\n"
      "Content-Disposition: attachment; filename=\"=?iso-8859-1?Q?Pr=FCfung.pdf?=\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "JVBERi0=\n"
      "--b--\n");
  auto m = parseMail(raw);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->attachments.size(), 1u);
  EXPECT_EQ(m->attachments[0].filename, "Prüfung.pdf");
  EXPECT_EQ(m->attachments[0].data, "%PDF-");
}

TEST(MimeIntake, ForwardedMailContributesItsAttachmentsNotItsText) {
  const std::string raw = crlf(
      "From: fwd@example.test\n"
      "Subject: 100\n"
      "Content-Type: multipart/mixed; boundary=o\n"
      "\n"
      "--o\n"
      "Content-Type: text/plain\n"
      "\n"
      "see below\n"
      "--o\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "From: orig@example.test\n"
      "Subject: original\n"
      "Content-Type: multipart/mixed; boundary=i\n"
      "\n"
      "--i\n"
      "Content-Type: text/plain\n"
      "\n"
      "original text\n"
      "--i\n"
      "Content-Type: image/tiff\n"
      "Content-Disposition: attachment; filename=scan.tif\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "SUkqAA==\n"
      "--i--\n"
      "--o--\n");
  auto m = parseMail(raw);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from, "fwd@example.test");
  EXPECT_EQ(m->textBody.substr(0, 9), "see below");
  ASSERT_EQ(m->attachments.size(), 1u);
  EXPECT_EQ(m->attachments[0].filename, "scan.tif");
  EXPECT_EQ(m->attachments[0].data, std::string("II*\0", 4));
}

TEST(MimeIntake, SignaturesTnefAndInlineLogosAreNotDocuments) {
  const std::string raw = crlf(
      "From: a@example.test\n"
      "Subject: 100\n"
      "Auto-Submitted: auto-replied\n"
      "Content-Type: multipart/signed; boundary=s; protocol=\"application/pkcs7-signature\"\n"
      "\n"
      "--s\n"
      "Content-Type: multipart/related; boundary=r\n"
      "\n"
      "--r\n"
      "Content-Type: text/html\n"
      "\n"
      "<img src=\"cid:logo\">\n"
      "--r\n"
      "Content-Type: image/png\n"
      "Content-ID: <logo>\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "iVBORw0KGgo=\n"
      "--r--\n"
      "--s\n"
      "Content-Type: application/ms-tnef; name=winmail.dat\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "eJ8+IgA=\n"
      "--s\n"
      "Content-Type: application/pkcs7-signature; name=smime.p7s\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "AAAA\n"
      "--s--\n");
  auto m = parseMail(raw);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->attachments.empty());
  EXPECT_TRUE(m->tnef);
  EXPECT_TRUE(m->autoSubmitted);
  EXPECT_EQ(m->skipped.size(), 3u);
}

TEST(MimeIntake, MalformedAndHugeMailsAreErrorsOrEmptyNotCrashes) {
  EXPECT_TRUE(parseMail("").ok() || !parseMail("").ok());  // either way, no crash
  auto noBoundary = parseMail(crlf("From: a@b.test\nContent-Type: multipart/mixed\n\n--x\nbody\n"));
  ASSERT_TRUE(noBoundary);
  EXPECT_TRUE(noBoundary->attachments.empty());
  auto badBase64 = parseMail(
      crlf("From: a@b.test\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
           "Content-Disposition: attachment; filename=x.pdf\n\n!!!!@@@@====\n"));
  ASSERT_TRUE(badBase64);
  IntakeLimits limits;
  limits.maxBytes = 10;
  auto big = parseMail(std::string(100, 'x'), limits);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, "mail_too_large");
  // Deep nesting stops at the limit.
  std::string deep = "From: a@b.test\n";
  for (int i = 0; i < 50; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
  }
  deep +=
      "Content-Type: application/pdf\nContent-Disposition: attachment; filename=x.pdf\n\n%PDF\n";
  auto d = parseMail(crlf(deep));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->attachments.empty());
}

}  // namespace
}  // namespace vfax::mail
