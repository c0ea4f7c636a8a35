// DocumentConverter end to end: the real vfax-convert child, real files, real MuPDF and libtiff.
#include "documents/document_converter.h"

#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <filesystem>

#include "documents/fax_tiff.h"
#include "test_inputs.h"

namespace vfax::documents {
namespace {

using testing::request;
using testing::TempDir;
using testing::TiffKind;

ConverterOptions testOptions() {
  ConverterOptions o;
  o.converterPath = std::string(VFAX_BINARY_DIR) + "/bin/vfax-convert";
  o.timeout = std::chrono::seconds(60);
  return o;
}

// Checks the TIFF-F tags of every page and returns the pages' heights.
std::vector<int> checkFaxTiff(const std::string& path, double yDpi) {
  std::vector<int> heights;
  TIFF* tif = TIFFOpen(path.c_str(), "r");
  EXPECT_NE(tif, nullptr);
  if (tif == nullptr) return heights;
  int index = 0;
  do {
    uint32_t w = 0, h = 0, rowsPerStrip = 0;
    uint16_t compression = 0, photometric = 0, fill = 0, unit = 0, bps = 0, pageNo = 0,
             pageTotal = 0;
    float xr = 0, yr = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
    TIFFGetField(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
    TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr);
    TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &rowsPerStrip);
    EXPECT_EQ(TIFFGetField(tif, TIFFTAG_PAGENUMBER, &pageNo, &pageTotal), 1);
    EXPECT_EQ(w, 1728u);
    EXPECT_EQ(bps, 1);
    EXPECT_EQ(compression, COMPRESSION_CCITTFAX4);
    EXPECT_EQ(photometric, PHOTOMETRIC_MINISWHITE);
    EXPECT_EQ(fill, FILLORDER_MSB2LSB);
    EXPECT_EQ(unit, RESUNIT_INCH);
    EXPECT_FLOAT_EQ(xr, 204.0f);
    EXPECT_FLOAT_EQ(yr, static_cast<float>(yDpi));
    EXPECT_EQ(TIFFNumberOfStrips(tif), 1u);
    EXPECT_EQ(pageNo, index);
    heights.push_back(static_cast<int>(h));
    ++index;
  } while (TIFFReadDirectory(tif));
  TIFFClose(tif);
  for (int h : heights) (void)h;
  return heights;
}

class DocumentConverterTest : public ::testing::Test {
 protected:
  TempDir dir;
  DocumentConverter converter{testOptions()};

  core::Result<int> convert(const std::vector<std::string>& inputs, bool fine = true) {
    return converter.toFax(request(inputs, dir.file("out.tif"), fine));
  }
  std::string pdf(const std::string& name, int pages, double w = 612, double h = 792) {
    const std::string path = dir.file(name);
    testing::writeFile(path, testing::makePdf(pages, w, h));
    return path;
  }
};

TEST_F(DocumentConverterTest, ThreePagePdfBecomesThreeFinePages) {
  auto pages = convert({pdf("in.pdf", 3)});
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(*pages, 3);
  const auto heights = checkFaxTiff(dir.file("out.tif"), 196);
  ASSERT_EQ(heights.size(), 3u);
  // Letter scaled to 1728 px: 11 in x (1728 / 8.5) px/in x 196/204.
  for (int h : heights) EXPECT_NEAR(h, 2149, 2);
  auto bitmaps = readFaxTiff(dir.file("out.tif"));
  ASSERT_TRUE(bitmaps);
  // The black bar (72..372 pt across, 72..92 pt up from the bottom) is solid black.
  const FaxPage& p = (*bitmaps)[0];
  const int barY = p.rows - static_cast<int>(82 * 1728 / 612.0 * 196 / 204);
  EXPECT_TRUE(p.black(400, barY));
  EXPECT_FALSE(p.black(1700, barY));
  // The 50 % grey box is halftoned: neither white nor black.
  const int greyY = p.rows - static_cast<int>(300 * 1728 / 612.0 * 196 / 204);
  int black = 0;
  for (int x = 300; x < 700; ++x) black += p.black(x, greyY) + p.black(x, greyY + 3);
  EXPECT_GT(black, 200);
  EXPECT_LT(black, 600);
}

TEST_F(DocumentConverterTest, NormalResolutionHasHalfTheRows) {
  const std::string in = pdf("in.pdf", 1);
  ASSERT_TRUE(convert({in}, true));
  const auto fine = checkFaxTiff(dir.file("out.tif"), 196);
  ASSERT_TRUE(convert({in}, false));
  const auto normal = checkFaxTiff(dir.file("out.tif"), 98);
  ASSERT_EQ(fine.size(), 1u);
  ASSERT_EQ(normal.size(), 1u);
  EXPECT_NEAR(fine[0], 2 * normal[0], 2);
}

TEST_F(DocumentConverterTest, A4AndLegalFitTheWidthOnOnePage) {
  auto a4 = convert({pdf("a4.pdf", 1, 595, 842)});
  ASSERT_TRUE(a4);
  EXPECT_EQ(*a4, 1);
  EXPECT_NEAR(checkFaxTiff(dir.file("out.tif"), 196)[0], 2350, 2);
  auto legal = convert({pdf("legal.pdf", 1, 612, 1008)});
  ASSERT_TRUE(legal);
  EXPECT_EQ(*legal, 1);
  EXPECT_NEAR(checkFaxTiff(dir.file("out.tif"), 196)[0], 2735, 2);
}

TEST_F(DocumentConverterTest, LandscapePageIsTurnedToPortrait) {
  auto pages = convert({pdf("landscape.pdf", 1, 792, 612)});
  ASSERT_TRUE(pages);
  EXPECT_EQ(*pages, 1);
  EXPECT_NEAR(checkFaxTiff(dir.file("out.tif"), 196)[0], 2149, 2);
}

TEST_F(DocumentConverterTest, PageLongerThanLegalIsSplit) {
  // 612 x 2000 pt: 5425 fine rows at fax width, more than two Legal lengths (2744 rows) can't hold
  // in one, so two fax pages.
  auto pages = convert({pdf("long.pdf", 1, 612, 2000)});
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(*pages, 2);
  const auto heights = checkFaxTiff(dir.file("out.tif"), 196);
  ASSERT_EQ(heights.size(), 2u);
  EXPECT_EQ(heights[0], 2744);
  EXPECT_NEAR(heights[0] + heights[1], 5425, 2);
}

TEST_F(DocumentConverterTest, TiffsOfEveryKindAndMultipleInputsConcatenate) {
  const std::string rgb = dir.file("rgb.tif"), grey = dir.file("grey.tif"),
                    bilevel = dir.file("bw.tif"), palette = dir.file("pal.tif");
  testing::writeImageTiff(rgb, TiffKind::kRgb, 2, 850, 1100, 100, 100);
  testing::writeImageTiff(grey, TiffKind::kGrey, 1, 600, 800, 72, 72);
  testing::writeImageTiff(bilevel, TiffKind::kBilevel, 3, 1700, 1100, 200, 100);  // odd: 200x100
  testing::writeImageTiff(palette, TiffKind::kPalette, 1, 300, 400, 37, 37);
  auto pages = convert({rgb, grey, bilevel, palette, pdf("in.pdf", 2)});
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(*pages, 2 + 1 + 3 + 1 + 2);
  const auto heights = checkFaxTiff(dir.file("out.tif"), 196);
  ASSERT_EQ(heights.size(), 9u);
  EXPECT_NEAR(heights[0], 1100 * 1728 / 850 * 196 / 204, 3);
  // 1700 x 1100 px at 200 x 100 dpi is 8.5 x 11 in: Letter.
  EXPECT_NEAR(heights[3], 2149, 2);
}

TEST_F(DocumentConverterTest, SniffReportsTypeByContent) {
  const std::string p = dir.file("document.txt");  // the name says text; the content is PDF
  testing::writeFile(p, testing::makePdf(1));
  auto type = converter.sniff(p);
  ASSERT_TRUE(type) << type.error().message;
  EXPECT_EQ(*type, "pdf");
  const std::string t = dir.file("scan.pdf");
  testing::writeImageTiff(t, TiffKind::kGrey, 2, 100, 100, 72, 72);
  auto tiff = converter.sniff(t);
  ASSERT_TRUE(tiff);
  EXPECT_EQ(*tiff, "tiff");
  // Text is known without a child; it still converts like every type.
  const std::string txt = dir.file("letter.bin");
  testing::writeFile(txt, "Dear customer,\nyour order has shipped.\n");
  auto text = converter.sniff(txt);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "text");
  auto pages = convert({txt});
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(*pages, 1);
}

void expectError(const core::Result<int>& r, const std::string& code) {
  ASSERT_FALSE(r) << "expected " << code;
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}
void expectError(const core::Result<std::string>& r, const std::string& code) {
  ASSERT_FALSE(r) << "expected " << code;
  EXPECT_EQ(r.error().code, code) << r.error().message;
}

TEST_F(DocumentConverterTest, EmptyFile) {
  const std::string p = dir.file("empty.pdf");
  testing::writeFile(p, "");
  expectError(convert({p}), "empty_file");
  expectError(converter.sniff(p), "empty_file");
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.tif")));
}

TEST_F(DocumentConverterTest, RandomBytesZipAndElfAreUnsupported) {
  std::string random(4096, '\0');
  unsigned state = 12345;
  for (char& c : random) c = static_cast<char>((state = state * 1103515245 + 12345) >> 16);
  const std::string zip = std::string("PK\x03\x04", 4) + std::string(100, 'z');
  const std::string elf = std::string(
                              "\x7f"
                              "ELF\x02\x01\x01",
                              7) +
                          std::string(100, '\0');
  for (const auto& [name, contents] :
       {std::pair{"random.pdf", random}, {"a.zip", zip}, {"a.out", elf}}) {
    const std::string p = dir.file(name);
    testing::writeFile(p, contents);
    expectError(convert({p}), "unsupported_type");
    expectError(converter.sniff(p), "unsupported_type");
  }
}

TEST_F(DocumentConverterTest, TruncatedPdfIsCorrupt) {
  const std::string full = testing::makePdf(3);
  const std::string p = dir.file("cut.pdf");
  // Cut right after the page tree object: no page objects remain to recover.
  testing::writeFile(p, full.substr(0, full.find("3 0 obj")));
  expectError(convert({p}), "corrupt_file");
  expectError(converter.sniff(p), "corrupt_file");
}

TEST_F(DocumentConverterTest, BrokenTiffIsCorrupt) {
  const std::string p = dir.file("broken.tif");
  testing::writeFile(p, std::string("II*\0\x08\0\0\0\xff\xff", 10) + std::string(50, '\x01'));
  expectError(convert({p}), "corrupt_file");
  expectError(converter.sniff(p), "corrupt_file");
}

TEST_F(DocumentConverterTest, EncryptedPdf) {
  if (std::system("gs --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "Ghostscript missing";
  const std::string plain = pdf("plain.pdf", 1), locked = dir.file("locked.pdf");
  const std::string cmd =
      "gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOwnerPassword=owner "
      "-sUserPassword=secret -sOutputFile=" +
      locked + " " + plain + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  expectError(convert({locked}), "encrypted_pdf");
  expectError(converter.sniff(locked), "encrypted_pdf");
}

TEST_F(DocumentConverterTest, TooManyPages) {
  ConverterOptions o = testOptions();
  o.maxPages = 2;
  DocumentConverter small(o);
  expectError(small.toFax(request({pdf("in.pdf", 3)}, dir.file("out.tif"))), "too_many_pages");
  // Two inputs that only together exceed the limit.
  expectError(small.toFax(request({pdf("a.pdf", 1), pdf("b.pdf", 2)}, dir.file("out.tif"))),
              "too_many_pages");
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.tif")));
}

TEST_F(DocumentConverterTest, ChildOverItsTimeIsKilledAndTheParentGoesOn) {
  ConverterOptions o = testOptions();
  o.timeout = std::chrono::milliseconds(300);
  o.debugStallMs = 30'000;
  DocumentConverter slow(o);
  const std::string in = pdf("in.pdf", 1);
  expectError(slow.toFax(request({in}, dir.file("out.tif"))), "timeout");
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.tif")));
  // The parent is unharmed and the next conversion works.
  auto pages = convert({in});
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(*pages, 1);
}

TEST_F(DocumentConverterTest, MissingConverterIsAClearError) {
  ConverterOptions o = testOptions();
  o.converterPath = dir.file("no-such-program");
  DocumentConverter broken(o);
  expectError(broken.toFax(request({pdf("in.pdf", 1)}, dir.file("out.tif"))), "conversion_failed");
}

TEST(DocumentConverterPath, DefaultIsNextToTheExecutable) {
  const std::string p = DocumentConverter::defaultConverterPath();
  EXPECT_EQ(std::filesystem::path(p).filename(), "vfax-convert");
  EXPECT_EQ(std::filesystem::path(p).parent_path(),
            std::filesystem::read_symlink("/proc/self/exe").parent_path());
}

}  // namespace
}  // namespace vfax::documents
