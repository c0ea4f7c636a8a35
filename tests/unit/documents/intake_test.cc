// The breadth of the document intake: every input type to fax pages (golden page counts and
// sizes), the cover page, the G4 encoder against libtiff's decoder, type detection, text to
// HTML, and the clear errors of bad inputs. Real programs throughout (vfax-convert, Ghostscript,
// LibreOffice, tesseract); the tests that need an optional program skip without it.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <tiffio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "documents/document_converter.h"
#include "documents/fax_pdf.h"
#include "documents/fax_tiff.h"
#include "documents/g4_encoder.h"
#include "documents/ocr.h"
#include "documents/sniff.h"
#include "documents/text_html.h"
#include "test_inputs.h"

namespace vfax::documents {
namespace {

using testing::request;
using testing::TempDir;

const std::string kData = std::string(VFAX_TEST_DATA) + "/documents/";

ConverterOptions testOptions() {
  ConverterOptions o;
  o.converterPath = std::string(VFAX_BINARY_DIR) + "/bin/vfax-convert";
  o.timeout = std::chrono::seconds(60);
  return o;
}

bool have(const char* program) { return !DocumentConverter::findProgram(program).empty(); }

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

double inkShare(const FaxPage& p) {
  std::size_t black = 0;
  for (std::uint8_t b : p.bits) black += static_cast<std::size_t>(__builtin_popcount(b));
  return static_cast<double>(black) / (static_cast<double>(p.width) * p.rows);
}

// --- G4 encoder ------------------------------------------------------------------------------

void expectRoundTrip(const std::vector<FaxPage>& pages) {
  TempDir dir;
  FaxTiffWriter w;
  ASSERT_TRUE(w.open(dir.file("g4.tif"), static_cast<int>(pages.size())));
  for (const FaxPage& p : pages) ASSERT_TRUE(w.addPage(p));
  ASSERT_TRUE(w.close());
  auto back = readFaxTiff(dir.file("g4.tif"));  // libtiff's decoder
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), pages.size());
  for (std::size_t i = 0; i < pages.size(); ++i) {
    ASSERT_EQ((*back)[i].width, pages[i].width);
    ASSERT_EQ((*back)[i].rows, pages[i].rows);
    for (int y = 0; y < pages[i].rows; ++y) {
      ASSERT_EQ(0, std::memcmp((*back)[i].row(y), pages[i].row(y),
                               static_cast<std::size_t>(pages[i].stride())))
          << "page " << i << " row " << y;
    }
  }
}

void setRun(FaxPage* p, int y, int from, int to) {
  for (int x = from; x < to; ++x) p->row(y)[x >> 3] |= static_cast<std::uint8_t>(0x80 >> (x & 7));
}

TEST(G4Encoder, EveryRunLengthOfBothColoursDecodes) {
  // Row r: r white, then black to the end; then the reverse. Covers every terminating and
  // make-up code of both colours up to the fax width.
  FaxPage p;
  p.resize(kFaxWidth, 2 * (kFaxWidth + 1));
  for (int r = 0; r <= kFaxWidth; ++r) {
    setRun(&p, 2 * r, r, kFaxWidth);
    setRun(&p, 2 * r + 1, 0, r);
  }
  expectRoundTrip({p});
}

TEST(G4Encoder, WideRowsUseTheExtendedMakeUpCodes) {
  FaxPage p;
  p.resize(6001, 40);  // runs past 2560 and a width that is not a multiple of 8
  for (int y = 0; y < p.rows; ++y) setRun(&p, y, 100 * y, std::min(p.width, 100 * y + 2700 + y));
  expectRoundTrip({p});
}

TEST(G4Encoder, RandomAndPatternPagesDecode) {
  std::mt19937 rng(7);
  FaxPage noise;
  noise.resize(kFaxWidth, 300);
  for (auto& b : noise.bits) b = static_cast<std::uint8_t>(rng());
  FaxPage sparse;
  sparse.resize(kFaxWidth, 300);
  for (int y = 0; y < sparse.rows; ++y) {
    for (int k = 0; k < 6; ++k) {
      const int x = static_cast<int>(rng() % kFaxWidth);
      setRun(&sparse, y, x, std::min(kFaxWidth, x + static_cast<int>(rng() % 40)));
    }
  }
  FaxPage blank;
  blank.resize(kFaxWidth, 50);
  FaxPage black;
  black.resize(kFaxWidth, 50);
  std::fill(black.bits.begin(), black.bits.end(), 0xFF);
  expectRoundTrip({noise, sparse, blank, black, testing::makeFaxPattern(1100, kNormalYDpi, 3)});
}

TEST(G4Encoder, SameBytesAsLibtiffsEncoder) {
  TempDir dir;
  const FaxPage page = testing::makeFaxPattern(800, kFineYDpi, 5);
  testing::writeFaxTiff(dir.file("libtiff.tif"), {page}, testing::FaxCoding::kT6SingleStrip);
  TIFF* tif = TIFFOpen(dir.file("libtiff.tif").c_str(), "r");
  ASSERT_NE(tif, nullptr);
  std::vector<std::uint8_t> theirs(static_cast<std::size_t>(TIFFRawStripSize(tif, 0)));
  ASSERT_EQ(TIFFReadRawStrip(tif, 0, theirs.data(), static_cast<tmsize_t>(theirs.size())),
            static_cast<tmsize_t>(theirs.size()));
  TIFFClose(tif);
  std::vector<std::uint8_t> ours;
  encodeG4(page, &ours);
  EXPECT_EQ(ours, theirs);
}

TEST(G4Encoder, RowChangesStartFromWhite) {
  std::vector<std::uint8_t> row(kFaxWidth / 8, 0);
  std::vector<int> changes;
  rowChanges(row.data(), kFaxWidth, &changes);
  EXPECT_TRUE(changes.empty());
  row[0] = 0x80;    // pixel 0 black
  row[100] = 0x0F;  // pixels 804..807 black
  row[215] = 0x01;  // the last pixel black: no change after it
  rowChanges(row.data(), kFaxWidth, &changes);
  EXPECT_EQ(changes, (std::vector<int>{0, 1, 804, 808, 1727}));
}

// --- type detection, text, templates ---------------------------------------------------------

TEST(Sniff, TypesByContent) {
  using T = DocType;
  EXPECT_EQ(detectType(bytes("GIF89a\x01\x00")), T::kGif);
  EXPECT_EQ(detectType(bytes("%!PS-Adobe-3.0\n")), T::kPostScript);
  EXPECT_EQ(detectType(bytes("{\\rtf1\\ansi hello}")), T::kRtf);
  EXPECT_EQ(detectType(bytes("<!DOCTYPE html><html><body>x</body></html>")), T::kHtml);
  EXPECT_EQ(detectType(bytes("\n  <div>Hallo</div>")), T::kHtml);
  EXPECT_EQ(detectType(bytes("Gr\xC3\xBC\xC3\x9F"
                             "e\n\fSeite 2\n")),
            T::kText);
  EXPECT_EQ(detectType(bytes("Gr\xFC\xDF"
                             "e aus M\xFCnchen\n")),
            T::kText);  // Latin-1
  EXPECT_EQ(detectType(bytes("<3 is not a tag\n")), T::kText);
  EXPECT_EQ(detectType(bytes(std::string("\x7f"
                                         "ELF\x02\x01\x01\0\0\0",
                                         10))),
            T::kUnknown);
  EXPECT_EQ(detectType(bytes(std::string("PK\x03\x04", 4) + "zzzz")), T::kUnknown);
  for (const auto& [file, type] : {std::pair{"letter.docx", T::kDocx},
                                   {"letter.odt", T::kOdt},
                                   {"letter.rtf", T::kRtf},
                                   {"sheet.xlsx", T::kXlsx},
                                   {"photo.gif", T::kGif},
                                   {"photo.jpg", T::kJpeg},
                                   {"photo.png", T::kPng},
                                   {"photo.ps", T::kPostScript}}) {
    auto t = sniffFile(kData + file);
    ASSERT_TRUE(t) << file;
    EXPECT_EQ(*t, type) << file;
  }
}

TEST(TextHtml, EscapesKeepsLayoutAndBreaksPagesAtFormFeeds) {
  const std::string html = textToHtml("a<b & \"c\"\n\tx\fpage 2\r\nend");
  EXPECT_NE(html.find("a&lt;b &amp; &quot;c&quot;\n        x"), std::string::npos) << html;
  EXPECT_NE(html.find("</pre><pre class=\"page\">page 2\nend</pre>"), std::string::npos) << html;
  // Latin-1 input comes out as UTF-8.
  EXPECT_NE(textToHtml("Gr\xFC\xDF"
                       "e")
                .find("Gr\xC3\xBC\xC3\x9F"
                      "e"),
            std::string::npos);
}

TEST(TextHtml, TemplateValuesAreEscaped) {
  const std::string out =
      fillTemplate("<p>{{subject}}</p><p>{{ comment }}</p>{{unknown}}|",
                   {{"subject", "<script>x</script>"}, {"comment", "line 1\nline 2 & more"}});
  EXPECT_EQ(out, "<p>&lt;script&gt;x&lt;/script&gt;</p><p>line 1<br>line 2 &amp; more</p>|");
}

TEST(TextHtml, CoverTemplateLanguages) {
  const std::string both = defaultCoverTemplate("de+en"), de = defaultCoverTemplate("de"),
                    en = defaultCoverTemplate("en");
  for (const char* label : {"Betreff", "Subject", "{{subject}}", "{{pages}}"}) {
    EXPECT_NE(both.find(label), std::string::npos) << label;
  }
  EXPECT_NE(de.find("Betreff"), std::string::npos);
  EXPECT_EQ(de.find("Subject"), std::string::npos);
  EXPECT_NE(en.find("Subject"), std::string::npos);
  EXPECT_EQ(en.find("Betreff"), std::string::npos);
  EXPECT_EQ(both.find("{{label"), std::string::npos);
}

// --- conversions -----------------------------------------------------------------------------

class IntakeTest : public ::testing::Test {
 protected:
  TempDir dir;
  DocumentConverter converter{testOptions()};

  core::Result<int> convert(const std::vector<std::string>& inputs, bool fine = true) {
    return converter.toFax(request(inputs, dir.file("out.tif"), fine));
  }
  std::vector<FaxPage> pages() {
    auto p = readFaxTiff(dir.file("out.tif"));
    EXPECT_TRUE(p);
    return p ? std::move(*p) : std::vector<FaxPage>{};
  }
  std::string write(const std::string& name, const std::string& contents) {
    testing::writeFile(dir.file(name), contents);
    return dir.file(name);
  }
};

TEST_F(IntakeTest, TextWithUmlautsFormFeedAndLongLines) {
  std::string text =
      "Gr\xC3\xBC\xC3\x9F"
      "e aus M\xC3\xBCnchen \xE2\x80\x93 \xC3\x84\xC3\x96\xC3\x9C\n";
  for (int i = 0; i < 30; ++i) text += "a long line that has to wrap ";
  text += "\n\fSeite zwei\n";
  const std::string in = write("mail.dat", text);  // no extension: the content decides
  auto type = converter.sniff(in);
  ASSERT_TRUE(type) << type.error().message;
  EXPECT_EQ(*type, "text");
  auto n = convert({in});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  const auto p = pages();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NEAR(p[0].rows, 2349, 2);  // A4 (841.89 x 595.28 pt) at 1728 px across, 196/204
  EXPECT_GT(inkShare(p[0]), 0.001);
  EXPECT_LT(inkShare(p[0]), 0.05);
}

TEST_F(IntakeTest, NormalResolutionText) {
  auto n = converter.toFax(request({write("t.txt", "Hallo\n")}, dir.file("out.tif"), false));
  ASSERT_TRUE(n) << n.error().message;
  const auto p = pages();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_DOUBLE_EQ(p[0].yDpi, kNormalYDpi);
  EXPECT_NEAR(p[0].rows, 1174, 2);
}

TEST_F(IntakeTest, HtmlMailBodyWithInlineImage) {
  // An inline image as a data: URI (the mail gateway turns cid: parts into these).
  std::ifstream png(kData + "photo.png", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(raw[i]) << 16) |
                       (i + 1 < raw.size() ? static_cast<unsigned char>(raw[i + 1]) << 8 : 0) |
                       (i + 2 < raw.size() ? static_cast<unsigned char>(raw[i + 2]) : 0);
    b64 += kB64[(v >> 18) & 63];
    b64 += kB64[(v >> 12) & 63];
    b64 += i + 1 < raw.size() ? kB64[(v >> 6) & 63] : '=';
    b64 += i + 2 < raw.size() ? kB64[v & 63] : '=';
  }
  const std::string in =
      write("body",
            "<html><body><h1>Bestellung</h1><p>Sehr geehrte Damen und Herren, anbei das Foto."
            "</p><img src=\"data:image/png;base64," +
                b64 + "\" style=\"width:12cm\"></body></html>");
  auto n = convert({in});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1);
  const auto p = pages();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_GT(inkShare(p[0]), 0.03);  // the photo's halftone, not just a line of text
}

bool kernelHasLandlock() {
#ifdef SYS_landlock_create_ruleset
  return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u /* VERSION */) >= 1;
#else
  return false;
#endif
}

TEST_F(IntakeTest, HtmlCannotPullInFilesOfTheServer) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel: see README";
  const std::string image = std::filesystem::absolute(kData + "photo.png").string();
  std::string climb;
  for (int i = 0; i < 30; ++i) climb += "../";
  const std::string in =
      write("evil.html", "<html><head><link rel=\"stylesheet\" href=\"" + climb +
                             "etc/passwd\"></head><body><p>x</p><img src=\"" + image +
                             "\" width=\"500\"><img src=\"" + climb + image.substr(1) +
                             "\" width=\"500\"><img src=\"file://" + image +
                             "\" width=\"500\"></body></html>");
  auto n = convert({in});
  ASSERT_TRUE(n) << n.error().message;
  const auto p = pages();
  ASSERT_FALSE(p.empty());
  for (const FaxPage& page : p) EXPECT_LT(inkShare(page), 0.01);  // no photo came through
}

TEST_F(IntakeTest, RepairablePdfAndOwnerPasswordOnlyPdfConvert) {
  std::string damaged = testing::makePdf(2);
  damaged = damaged.substr(0, damaged.rfind("startxref")) + "startxref\n999999\n%%EOF\n";
  auto n = convert({write("damaged.pdf", damaged)});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  if (!have("gs")) GTEST_SKIP() << "Ghostscript missing";
  const std::string locked = dir.file("owner.pdf");
  ASSERT_EQ(std::system(("gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOwnerPassword=o "
                         "-sOutputFile=" +
                         locked + " " + write("plain.pdf", testing::makePdf(1)))
                            .c_str()),
            0);
  n = convert({locked});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1);
}

TEST_F(IntakeTest, ImagesOfEveryKind) {
  for (const char* f : {"photo.gif", "photo.jpg", "photo.png"}) {
    auto n = convert({kData + f});
    ASSERT_TRUE(n) << f << ": " << n.error().message;
    EXPECT_EQ(*n, 1) << f;
    const auto p = pages();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].width, kFaxWidth);
    EXPECT_GT(inkShare(p[0]), 0.1) << f;
  }
}

TEST_F(IntakeTest, PostScriptThroughGhostscript) {
  if (!have("gs")) GTEST_SKIP() << "Ghostscript missing";
  const std::string ps = write("job",
                               "%!PS\n/Helvetica findfont 20 scalefont setfont\n"
                               "72 700 moveto (Seite 1) show showpage\n"
                               "72 700 moveto (Seite 2) show showpage\n");
  auto type = converter.sniff(ps);
  ASSERT_TRUE(type);
  EXPECT_EQ(*type, "postscript");
  auto n = convert({ps, kData + "photo.ps"});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
}

TEST_F(IntakeTest, MissingGhostscriptIsAClearError) {
  ConverterOptions o = testOptions();
  o.ghostscript = "/nonexistent/gs";
  DocumentConverter noGs(o);
  auto r = noGs.sniff(kData + "photo.ps");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_converter");
  EXPECT_NE(r.error().message.find("ghostscript"), std::string::npos) << r.error().message;
  auto c = noGs.toFax(request({kData + "photo.ps"}, dir.file("out.tif")));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "missing_converter");
}

TEST_F(IntakeTest, OfficeDocumentsThroughLibreOffice) {
  if (!have("soffice")) GTEST_SKIP() << "LibreOffice missing";
  for (const char* f : {"letter.docx", "letter.odt", "letter.rtf", "sheet.xlsx"}) {
    auto type = converter.sniff(kData + f);
    ASSERT_TRUE(type) << f << ": " << type.error().message;
  }
  auto n = convert(
      {kData + "letter.docx", kData + "letter.odt", kData + "letter.rtf", kData + "sheet.xlsx"});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 4);
  for (const FaxPage& p : pages()) EXPECT_GT(inkShare(p), 0.0005);
}

TEST_F(IntakeTest, MissingLibreOfficeIsAClearError) {
  ConverterOptions o = testOptions();
  o.libreoffice = "";
  DocumentConverter noOffice(o);
  auto r = noOffice.sniff(kData + "letter.docx");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_converter");
  EXPECT_NE(r.error().message.find("LibreOffice"), std::string::npos);
}

TEST_F(IntakeTest, CoverPageGoesFirstAndCountsItself) {
  core::ConvertRequest req = request({write("a.pdf", testing::makePdf(2))}, dir.file("out.tif"));
  req.cover = true;
  req.coverFields = {{"sender", "Vertrieb <M\xC3\xBCller & Co>"},
                     {"recipient_fax", "+49 89 123456"},
                     {"subject", "Angebot"},
                     {"comment", "Zeile 1\nZeile 2"}};
  auto n = converter.toFax(req);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
  const auto p = pages();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_GT(inkShare(p[0]), 0.002);  // the cover has text and rules
  // An admin's template replaces the default.
  req.coverTemplate =
      write("cover.html", "<html><body><p>{{subject}}: {{pages}}</p></body></html>");
  n = converter.toFax(req);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
  req.coverTemplate = dir.file("missing.html");
  auto bad = converter.toFax(req);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "conversion_failed");
}

TEST_F(IntakeTest, PhotoPageNoLargerThanGhostscriptTiffg4) {
  if (!have("gs")) GTEST_SKIP() << "Ghostscript missing";
  const std::string pdf = dir.file("photo.pdf"), gsTif = dir.file("gs.tif");
  ASSERT_EQ(std::system(("gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile=" + pdf +
                         " " + kData + "photo.ps")
                            .c_str()),
            0);
  ASSERT_EQ(std::system(("gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=tiffg4 -r204x196 "
                         "-g1728x2292 -sOutputFile=" +
                         gsTif + " " + pdf)
                            .c_str()),
            0);
  auto n = convert({pdf});
  ASSERT_TRUE(n) << n.error().message;
  const auto ours = std::filesystem::file_size(dir.file("out.tif"));
  const auto theirs = std::filesystem::file_size(gsTif);
  EXPECT_LE(ours, theirs) << "vfax " << ours << " bytes, Ghostscript " << theirs;
}

TEST_F(IntakeTest, TextSurvivesTheRoundTripLegibly) {
  if (!have("tesseract")) GTEST_SKIP() << "tesseract missing";
  const std::string source =
      "Sehr geehrte Damen und Herren,\n\nwir bestaetigen Ihre Bestellung vom Montag.\n"
      "Die Lieferung erfolgt in der naechsten Woche.\n\nMit freundlichen Gruessen\n";
  auto n = converter.toFax(request({write("letter.txt", source)}, dir.file("out.tif")));
  ASSERT_TRUE(n) << n.error().message;
  ASSERT_TRUE(converter.faxToPdf(dir.file("out.tif"), dir.file("out.pdf"), dir.file("p.png")));
  auto words = addOcrLayer(dir.file("out.tif"), dir.file("out.pdf"), OcrOptions{});
  ASSERT_TRUE(words) << words.error().message;
  // The PDF's text layer holds what tesseract read from the fax page.
  const std::string txt = dir.file("out.txt");
  if (std::system(("pdftotext " + dir.file("out.pdf") + " " + txt).c_str()) != 0) {
    GTEST_SKIP() << "pdftotext missing";
  }
  std::ifstream in(txt);
  const std::string read((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int found = 0, total = 0;
  std::istringstream ws(source);
  for (std::string w; ws >> w;) {
    ++total;
    if (read.find(w) != std::string::npos) ++found;
  }
  EXPECT_GE(found * 10, total * 9) << found << " of " << total << " words read back:\n" << read;
  EXPECT_TRUE(std::filesystem::exists(dir.file("thumb-1.png")));
}

// --- bad inputs ------------------------------------------------------------------------------

void expectClearError(const core::Result<int>& r, std::initializer_list<const char*> codes) {
  ASSERT_FALSE(r);
  bool known = false;
  for (const char* c : codes) known |= r.error().code == c;
  EXPECT_TRUE(known) << r.error().code << ": " << r.error().message;
  EXPECT_GT(r.error().message.size(), 20u);
}

TEST_F(IntakeTest, ZeroPagesAbsurdSizesAndBombsGiveClearErrors) {
  // A PDF with an empty page tree.
  expectClearError(convert({write("zero.pdf", testing::makePdf(0))}), {"corrupt_file"});
  // A PNG that claims 20000 x 20000 pixels (400 MB of grey) with a tiny body.
  std::string png("\x89PNG\r\n\x1a\n", 8);
  auto be32 = [](unsigned v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  png += be32(13) + "IHDR" + be32(20000) + be32(20000) + std::string("\x08\x00\x00\x00\x00", 5) +
         be32(0);
  png += be32(0) + "IEND" + be32(0);
  expectClearError(convert({write("huge.png", png)}), {"image_too_large"});
  auto sniffed = converter.sniff(dir.file("huge.png"));
  ASSERT_FALSE(sniffed);
  EXPECT_EQ(sniffed.error().code, "image_too_large");
  // A page 2 pt wide and 14,400 pt tall: thousands of fax pages.
  expectClearError(convert({write("thin.pdf", testing::makePdf(1, 2, 14400))}), {"too_many_pages"});
  // Each failure was one job's: the next document converts.
  auto ok = convert({kData + "photo.gif"});
  EXPECT_TRUE(ok) << ok.error().message;
}

}  // namespace
}  // namespace vfax::documents
