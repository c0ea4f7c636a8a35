// Fax TIFF -> PDF: every coding spandsp may write, rendered back with MuPDF and with poppler.
#include "documents/fax_pdf.h"

#include <gtest/gtest.h>

extern "C" {
#include <mupdf/fitz.h>
}

#include <cstdio>
#include <filesystem>

#include "documents/document_converter.h"
#include "documents/fax_tiff.h"
#include "test_inputs.h"

namespace vfax::documents {
namespace {

using testing::FaxCoding;
using testing::request;
using testing::TempDir;

struct PdfPage {
  float widthPt = 0, heightPt = 0;
  FaxPage bitmap;
};

// Renders every page at the fax page's own resolution, so pixels map one to one.
std::vector<PdfPage> renderPdf(const std::string& path, double xDpi, double yDpi) {
  std::vector<PdfPage> out;
  fz_context* ctx = fz_new_context(nullptr, nullptr, FZ_STORE_DEFAULT);
  fz_register_document_handlers(ctx);
  fz_set_aa_level(ctx, 0);
  fz_document* doc = fz_open_document(ctx, path.c_str());
  for (int i = 0; i < fz_count_pages(ctx, doc); ++i) {
    fz_page* page = fz_load_page(ctx, doc, i);
    const fz_rect r = fz_bound_page(ctx, page);
    fz_pixmap* pix = fz_new_pixmap_from_page(
        ctx, page, fz_scale(static_cast<float>(xDpi / 72), static_cast<float>(yDpi / 72)),
        fz_device_gray(ctx), 0);
    PdfPage p;
    p.widthPt = r.x1 - r.x0;
    p.heightPt = r.y1 - r.y0;
    p.bitmap.resize(fz_pixmap_width(ctx, pix), fz_pixmap_height(ctx, pix));
    const unsigned char* s = fz_pixmap_samples(ctx, pix);
    for (int y = 0; y < p.bitmap.rows; ++y) {
      for (int x = 0; x < p.bitmap.width; ++x) {
        if (s[y * fz_pixmap_stride(ctx, pix) + x] < 128) {
          p.bitmap.row(y)[x >> 3] |= static_cast<uint8_t>(0x80 >> (x & 7));
        }
      }
    }
    out.push_back(std::move(p));
    fz_drop_pixmap(ctx, pix);
    fz_drop_page(ctx, page);
  }
  fz_drop_document(ctx, doc);
  fz_drop_context(ctx);
  return out;
}

long differingPixels(const FaxPage& a, const FaxPage& b) {
  if (a.width != b.width || a.rows != b.rows) return -1;
  long diff = 0;
  for (std::size_t i = 0; i < a.bits.size(); ++i) diff += __builtin_popcount(a.bits[i] ^ b.bits[i]);
  return diff;
}

class FaxPdfTest : public ::testing::TestWithParam<FaxCoding> {
 protected:
  TempDir dir;
};

TEST_P(FaxPdfTest, RoundTripIsLossless) {
  const std::vector<FaxPage> pages = {testing::makeFaxPattern(2200, kFineYDpi, 1),
                                      testing::makeFaxPattern(1100, kFineYDpi, 2)};
  const std::string tif = dir.file("in.tif"), pdf = dir.file("out.pdf"), png = dir.file("p.png");
  testing::writeFaxTiff(tif, pages, GetParam());
  auto n = faxTiffToPdf(tif, pdf, png);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  const auto rendered = renderPdf(pdf, kFaxXDpi, kFineYDpi);
  ASSERT_EQ(rendered.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(rendered[i].widthPt, 1728 * 72 / 204.0, 0.01);
    EXPECT_NEAR(rendered[i].heightPt, pages[i].rows * 72 / 196.0, 0.01);
    EXPECT_EQ(differingPixels(rendered[i].bitmap, pages[i]), 0) << "page " << i + 1;
  }
  // The preview is a PNG of page 1, 600 px wide.
  const std::string head = testing::readFile(png).substr(0, 24);
  ASSERT_EQ(head.substr(1, 3), "PNG");
  const auto be32 = [&](std::size_t at) {
    return (static_cast<uint8_t>(head[at]) << 24) | (static_cast<uint8_t>(head[at + 1]) << 16) |
           (static_cast<uint8_t>(head[at + 2]) << 8) | static_cast<uint8_t>(head[at + 3]);
  };
  EXPECT_EQ(be32(16), 600);
  EXPECT_NEAR(be32(20), 600.0 * 2200 / 196 / (1728 / 204.0), 2);
}

INSTANTIATE_TEST_SUITE_P(Codings, FaxPdfTest,
                         ::testing::Values(FaxCoding::kT4_1D, FaxCoding::kT4_2D,
                                           FaxCoding::kT6SingleStrip, FaxCoding::kT6MultiStrip,
                                           FaxCoding::kT6Lsb, FaxCoding::kUncompressed));

TEST(FaxPdf, SingleStripG4IsEmbeddedAsIs) {
  TempDir dir;
  const std::string tif = dir.file("in.tif");
  testing::writeFaxTiff(tif, {testing::makeFaxPattern(1000, kFineYDpi, 3)},
                        FaxCoding::kT6SingleStrip);
  auto coded = readCodedPages(tif);
  ASSERT_TRUE(coded);
  ASSERT_EQ(coded->size(), 1u);
  EXPECT_FALSE((*coded)[0].reencoded);
  testing::writeFaxTiff(tif, {testing::makeFaxPattern(1000, kFineYDpi, 3)}, FaxCoding::kT4_2D);
  coded = readCodedPages(tif);
  ASSERT_TRUE(coded);
  EXPECT_TRUE((*coded)[0].reencoded);
}

TEST(FaxPdf, NormalResolutionPageHasFullHeight) {
  TempDir dir;
  const std::string tif = dir.file("in.tif"), pdf = dir.file("out.pdf");
  testing::writeFaxTiff(tif, {testing::makeFaxPattern(1145, kNormalYDpi, 4)}, FaxCoding::kT4_1D);
  ASSERT_TRUE(faxTiffToPdf(tif, pdf, ""));
  const auto rendered = renderPdf(pdf, kFaxXDpi, kNormalYDpi);
  ASSERT_EQ(rendered.size(), 1u);
  EXPECT_NEAR(rendered[0].heightPt, 1145 * 72 / 98.0, 0.01);  // about A4: 841 pt
  EXPECT_EQ(differingPixels(rendered[0].bitmap, testing::makeFaxPattern(1145, kNormalYDpi, 4)), 0);
}

TEST(FaxPdf, PopplerRendersItTheSame) {
  if (std::system("pdftoppm -v > /dev/null 2>&1") != 0) GTEST_SKIP() << "poppler-utils missing";
  TempDir dir;
  const FaxPage page = testing::makeFaxPattern(800, kFineYDpi, 5);
  const std::string tif = dir.file("in.tif"), pdf = dir.file("out.pdf");
  testing::writeFaxTiff(tif, {page}, FaxCoding::kT6SingleStrip);
  ASSERT_TRUE(faxTiffToPdf(tif, pdf, ""));
  const std::string cmd = "pdftoppm -mono -rx 204 -ry 196 " + pdf + " " + dir.file("pp");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  // PBM: "P4\n1728 ROWS\n" then rows, 1 = black. Poppler may round the height to a row more.
  const std::string pbm = testing::readFile(dir.file("pp-1.pbm"));
  int w = 0, h = 0, used = 0;
  ASSERT_EQ(std::sscanf(pbm.c_str(), "P4\n%d %d\n%n", &w, &h, &used), 2);
  ASSERT_EQ(w, 1728);
  ASSERT_NEAR(h, 800, 1);
  FaxPage back;
  back.resize(1728, 800);
  ASSERT_GE(pbm.size() - static_cast<std::size_t>(used), back.bits.size());
  std::copy_n(pbm.begin() + used, back.bits.size(), back.bits.begin());
  EXPECT_LT(differingPixels(back, page), 1728 * 800 / 1000);
}

TEST(FaxPdf, ConverterOutputRoundTripsThroughPdf) {
  TempDir dir;
  ConverterOptions o;
  o.converterPath = std::string(VFAX_BINARY_DIR) + "/bin/vfax-convert";
  DocumentConverter converter(o);
  const std::string in = dir.file("in.pdf"), tif = dir.file("fax.tif");
  testing::writeFile(in, testing::makePdf(2));
  ASSERT_TRUE(converter.toFax(request({in}, tif)));
  auto n = converter.faxToPdf(tif, dir.file("fax.pdf"), dir.file("fax.png"));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  const auto fax = readFaxTiff(tif);
  ASSERT_TRUE(fax);
  const auto rendered = renderPdf(dir.file("fax.pdf"), kFaxXDpi, kFineYDpi);
  ASSERT_EQ(rendered.size(), 2u);
  EXPECT_EQ(differingPixels(rendered[1].bitmap, (*fax)[1]), 0);
}

TEST(FaxPdf, NotATiffIsCorrupt) {
  TempDir dir;
  testing::writeFile(dir.file("x.tif"), "II*\0garbage");
  auto r = faxTiffToPdf(dir.file("x.tif"), dir.file("x.pdf"), dir.file("x.png"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "corrupt_file");
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.pdf")));
}

}  // namespace
}  // namespace vfax::documents
