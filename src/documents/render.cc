#include "documents/render.h"

extern "C" {
#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
}

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "documents/text_html.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vfax::documents {
namespace {

using core::makeError;

// Pages longer than US Legal (14 in) are cut into several fax pages of at most this length.
constexpr double kMaxPageInches = 14.0;
constexpr double kMaxImagePixels = 150e6;

// MuPDF's allocations are counted so that a hostile document hits a clean "out of memory"
// error inside MuPDF (which it reports) before the child's hard RLIMIT_AS kills it.
struct CountingAllocator {
  std::size_t limit = 0;
  std::size_t used = 0;
};
constexpr std::size_t kHeader = 16;  // keeps the user pointer 16-byte aligned

void* countingMalloc(void* user, std::size_t size) {
  auto* a = static_cast<CountingAllocator*>(user);
  if (size > a->limit - std::min(a->used, a->limit)) return nullptr;
  auto* p = static_cast<unsigned char*>(std::malloc(size + kHeader));
  if (p == nullptr) return nullptr;
  std::memcpy(p, &size, sizeof size);
  a->used += size;
  return p + kHeader;
}

void countingFree(void* user, void* ptr) {
  if (ptr == nullptr) return;
  auto* a = static_cast<CountingAllocator*>(user);
  auto* p = static_cast<unsigned char*>(ptr) - kHeader;
  std::size_t size = 0;
  std::memcpy(&size, p, sizeof size);
  a->used -= size;
  std::free(p);
}

void* countingRealloc(void* user, void* old, std::size_t size) {
  if (old == nullptr) return countingMalloc(user, size);
  auto* a = static_cast<CountingAllocator*>(user);
  auto* p = static_cast<unsigned char*>(old) - kHeader;
  std::size_t oldSize = 0;
  std::memcpy(&oldSize, p, sizeof oldSize);
  if (size > oldSize && size - oldSize > a->limit - std::min(a->used, a->limit)) return nullptr;
  auto* q = static_cast<unsigned char*>(std::realloc(p, size + kHeader));
  if (q == nullptr) return nullptr;
  std::memcpy(q, &size, sizeof size);
  a->used = a->used - oldSize + size;
  return q + kHeader;
}

void silent(void*, const char*) {}

// One fax page to make: a band of rows of one source page under one transform.
struct PlannedPage {
  int doc = 0;
  int page = 0;
  fz_matrix ctm{};
  int top = 0;
  int rows = 0;
};

// The C side. Each function keeps its fz_try free of C++ objects with destructors, because
// MuPDF unwinds with longjmp. Errors come back as a code and MuPDF's message.
struct FzStatus {
  const char* code = nullptr;  // nullptr when fine
  bool memory = false;         // MuPDF ran out of its (capped) heap
  char message[200] = {};
};

void setStatus(fz_context* ctx, FzStatus* st, const char* code) {
  st->memory = fz_caught(ctx) == FZ_ERROR_MEMORY;
  st->code = st->memory ? "conversion_failed" : code;
  std::snprintf(st->message, sizeof st->message, "%s", fz_caught_message(ctx));
}

// Pixel size of an image file from its header (decoding waits until it is drawn).
bool imageSize(fz_context* ctx, const unsigned char* data, std::size_t len, int* w, int* h,
               FzStatus* st) {
  fz_buffer* buf = nullptr;
  fz_image* image = nullptr;
  bool ok = true;
  fz_var(buf);
  fz_var(image);
  fz_var(ok);
  fz_try(ctx) {
    buf = fz_new_buffer_from_shared_data(ctx, data, len);
    image = fz_new_image_from_buffer(ctx, buf);
    *w = image->w;
    *h = image->h;
  }
  fz_always(ctx) {
    fz_drop_image(ctx, image);
    fz_drop_buffer(ctx, buf);
  }
  fz_catch(ctx) {
    setStatus(ctx, st, "corrupt_file");
    ok = false;
  }
  return ok;
}

// HTML (and text turned into HTML) flows onto A4 pages; PDF and images have their own size.
bool layoutA4(fz_context* ctx, fz_document* doc, FzStatus* st) {
  fz_try(ctx) { fz_layout_document(ctx, doc, 595.28f, 841.89f, 12.0f); }
  fz_catch(ctx) {
    setStatus(ctx, st, "corrupt_file");
    return false;
  }
  return true;
}

fz_document* openDocument(fz_context* ctx, const unsigned char* data, std::size_t len,
                          const char* mime, FzStatus* st) {
  fz_document* doc = nullptr;
  fz_stream* stm = nullptr;
  fz_var(doc);
  fz_var(stm);
  fz_try(ctx) {
    stm = fz_open_memory(ctx, data, len);
    doc = fz_open_document_with_stream(ctx, mime, stm);
  }
  fz_always(ctx) { fz_drop_stream(ctx, stm); }
  fz_catch(ctx) {
    setStatus(ctx, st, "corrupt_file");
    return nullptr;
  }
  return doc;
}

int countPages(fz_context* ctx, fz_document* doc, FzStatus* st) {
  int n = 0;
  fz_var(n);
  fz_try(ctx) { n = fz_count_pages(ctx, doc); }
  fz_catch(ctx) {
    setStatus(ctx, st, "corrupt_file");
    return -1;
  }
  return n;
}

fz_rect pageBounds(fz_context* ctx, fz_document* doc, int number, FzStatus* st) {
  fz_rect r = fz_empty_rect;
  fz_page* page = nullptr;
  fz_var(page);
  fz_var(r);
  fz_try(ctx) {
    page = fz_load_page(ctx, doc, number);
    r = fz_bound_page(ctx, page);
  }
  fz_always(ctx) { fz_drop_page(ctx, page); }
  fz_catch(ctx) { setStatus(ctx, st, "corrupt_file"); }
  return r;
}

// Renders rows [top, top+rows) of the transformed page straight into `grey` (kFaxWidth bytes
// per row): the pixmap borrows our buffer, so there is no copy and, since the buffer lives as long
// as the renderer, no fresh pages for the kernel to fault in on every fax page.
void renderBand(fz_context* ctx, fz_document* doc, const PlannedPage& p, unsigned char* grey,
                FzStatus* st) {
  fz_page* page = nullptr;
  fz_pixmap* pix = nullptr;
  fz_device* dev = nullptr;
  fz_var(page);
  fz_var(pix);
  fz_var(dev);
  fz_try(ctx) {
    page = fz_load_page(ctx, doc, p.page);
    const fz_irect box{0, p.top, kFaxWidth, p.top + p.rows};
    pix = fz_new_pixmap_with_bbox_and_data(ctx, fz_device_gray(ctx), box, nullptr, 0, grey);
    std::memset(grey, 255, static_cast<std::size_t>(p.rows) * kFaxWidth);
    dev = fz_new_draw_device(ctx, fz_identity, pix);
    fz_run_page(ctx, page, dev, p.ctm, nullptr);
    fz_close_device(ctx, dev);
  }
  fz_always(ctx) {
    fz_drop_device(ctx, dev);
    fz_drop_pixmap(ctx, pix);
    fz_drop_page(ctx, page);
  }
  fz_catch(ctx) { setStatus(ctx, st, "corrupt_file"); }
}

// MuPDF repairs damaged PDFs silently and gives missing pages a default size, which would fax
// blank sheets; a page that is not a dictionary means the file lost part of itself.
int firstMissingPdfPage(fz_context* ctx, fz_document* doc, int count, FzStatus* st) {
  int missing = -1;
  fz_var(missing);
  fz_try(ctx) {
    pdf_document* pdf = pdf_specifics(ctx, doc);
    for (int i = 0; pdf != nullptr && i < count && missing < 0; ++i) {
      pdf_obj* page = pdf_lookup_page_obj(ctx, pdf, i);
      if (!pdf_is_dict(ctx, page)) missing = i;
    }
  }
  fz_catch(ctx) {
    setStatus(ctx, st, "corrupt_file");
    missing = 0;
  }
  return missing;
}

bool needsPassword(fz_context* ctx, fz_document* doc) {
  int locked = 0;
  fz_var(locked);
  fz_try(ctx) {
    // Many PDFs are encrypted with an empty user password and open normally in any reader.
    locked = fz_needs_password(ctx, doc) && !fz_authenticate_password(ctx, doc, "");
  }
  fz_catch(ctx) { locked = 1; }
  return locked != 0;
}

core::Error fromStatus(const FzStatus& st, const std::string& what) {
  std::string code = st.code != nullptr ? st.code : "conversion_failed";
  if (st.memory) {
    return makeError(code,
                     "The document needs more memory than a fax conversion may use (" + what +
                         "): an image is far too large, or the file is a decompression bomb.");
  }
  if (code == "corrupt_file") {
    return makeError(code, std::string("The document is damaged and cannot be read (") + what +
                               ": " + st.message + ").");
  }
  return makeError(
      code, std::string("The document could not be converted (") + what + ": " + st.message + ").");
}

// Threshold matrix of a round-dot screen: cells are ranked by a spot function so that dots grow
// from the centre of each 8x8 cell.
std::array<std::uint8_t, 64> makeScreen() {
  std::array<std::pair<double, int>, 64> order{};
  for (int i = 0; i < 64; ++i) {
    const double x = ((i % 8) + 0.5) / 4.0 - 1.0;
    const double y = ((i / 8) + 0.5) / 4.0 - 1.0;
    order[static_cast<std::size_t>(i)] = {std::cos(M_PI * x) + std::cos(M_PI * y), i};
  }
  std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first > b.first; });
  // Values at or below kDark are solid black, at or above kLight paper white.
  constexpr int kDark = 40, kLight = 224;
  std::array<std::uint8_t, 64> screen{};
  for (int rank = 0; rank < 64; ++rank) {
    screen[static_cast<std::size_t>(order[static_cast<std::size_t>(rank)].second)] =
        static_cast<std::uint8_t>(kDark + 1 + (rank * (kLight - kDark - 1)) / 64);
  }
  return screen;
}

}  // namespace

void greyToBilevel(const std::uint8_t* grey, FaxPage* page) {
  static const std::array<std::uint8_t, 64> kScreen = makeScreen();
  static const std::array<std::uint8_t, 256> kReverse = [] {
    std::array<std::uint8_t, 256> r{};
    for (int i = 0; i < 256; ++i) {
      int v = 0;
      for (int b = 0; b < 8; ++b) v |= ((i >> b) & 1) << (7 - b);
      r[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    }
    return r;
  }();
  constexpr std::uint64_t kAllWhite = ~std::uint64_t{0};
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  const int whole = page->width / 8;
  for (int y = 0; y < page->rows; ++y) {
    const std::uint8_t* in = grey + static_cast<std::size_t>(y) * page->width;
    std::uint8_t* out = page->row(y);
    const std::uint8_t* screen = &kScreen[static_cast<std::size_t>((y & 7) * 8)];
#if defined(__SSE2__)
    std::uint8_t screen16[16];
    std::memcpy(screen16, screen, 8);
    std::memcpy(screen16 + 8, screen, 8);
    const __m128i scr = _mm_loadu_si128(reinterpret_cast<const __m128i*>(screen16));
#endif
    // Eight pixels make one output byte and one screen row. Most of a fax page is paper, and
    // with anti-aliasing off text is pure black on white, so most groups are decided by word
    // tests; only real tones go through the screen.
    for (int g = 0; g < whole; ++g, in += 8) {
      std::uint64_t v;
      std::memcpy(&v, in, 8);
      if (v == kAllWhite) {
        out[g] = 0;
        continue;
      }
      const std::uint64_t high = v & kHigh;
      if (v == (high >> 7) * 0xFF) {
        // Every pixel is 0 or 255: gather the inverted top bits, first pixel to the top.
        std::uint64_t black = (~v) & kHigh;
        if constexpr (std::endian::native == std::endian::little) black = __builtin_bswap64(black);
        out[g] = static_cast<std::uint8_t>((black * 0x0002040810204081ull) >> 56);
        continue;
      }
#if defined(__SSE2__)
      const __m128i px = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in));
      // px >= screen where max(px, screen) == px: those stay white.
      const int white = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(px, scr), px)) & 0xFF;
      out[g] = kReverse[static_cast<std::size_t>(~white & 0xFF)];
#else
      unsigned bits = 0;
      for (int k = 0; k < 8; ++k) bits = (bits << 1) | (in[k] < screen[k] ? 1u : 0u);
      out[g] = static_cast<std::uint8_t>(bits);
#endif
    }
    for (int x = whole * 8; x < page->width; ++x, ++in) {
      if (*in < screen[x & 7]) out[x >> 3] |= static_cast<std::uint8_t>(0x80 >> (x & 7));
    }
  }
}

struct FaxRenderer::Impl {
  RenderOptions options;
  CountingAllocator counter;
  fz_alloc_context alloc{};
  fz_context* ctx = nullptr;
  std::vector<fz_document*> docs;
  std::deque<std::string> converted;  // text turned into HTML; MuPDF reads it in place
  std::vector<PlannedPage> plan;
  std::vector<std::uint8_t> grey;  // reused by every page (see renderBand)

  ~Impl() {
    for (fz_document* d : docs) fz_drop_document(ctx, d);
    fz_drop_context(ctx);
  }
};

FaxRenderer::FaxRenderer(RenderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->counter.limit = options.memoryLimit;
  impl_->alloc = fz_alloc_context{&impl_->counter, countingMalloc, countingRealloc, countingFree};
  // A store a quarter of the heap keeps fonts and images cached across bands of one page.
  impl_->ctx = fz_new_context(&impl_->alloc, nullptr, options.memoryLimit / 4);
  if (impl_->ctx != nullptr) {
    fz_set_warning_callback(impl_->ctx, silent, nullptr);
    fz_set_error_callback(impl_->ctx, silent, nullptr);
    fz_set_aa_level(impl_->ctx, 0);  // crisp text: grey edges would only turn into dither noise
    fz_try(impl_->ctx) { fz_register_document_handlers(impl_->ctx); }
    fz_catch(impl_->ctx) {
      fz_drop_context(impl_->ctx);
      impl_->ctx = nullptr;
    }
  }
}

FaxRenderer::~FaxRenderer() = default;

int FaxRenderer::pageCount() const { return static_cast<int>(impl_->plan.size()); }

core::Result<void> FaxRenderer::add(std::span<const std::uint8_t> data) {
  fz_context* ctx = impl_->ctx;
  if (ctx == nullptr) return makeError("conversion_failed", "The PDF engine could not start.");
  if (data.empty()) return makeError("empty_file", "The file is empty.");
  lastType_ = detectType(data.subspan(0, std::min(data.size(), kSniffBytes)));
  if (lastType_ == DocType::kUnknown) {
    return makeError("unsupported_type",
                     "The file type is not supported: send PDF, PostScript, TIFF, PNG, JPEG, GIF, "
                     "text, HTML or an office document.");
  }
  if (!renderedByMupdf(lastType_)) {
    return makeError("conversion_failed", std::string("A ") + typeName(lastType_) +
                                              " document must be converted to PDF first.");
  }
  if (lastType_ == DocType::kText) {
    impl_->converted.push_back(
        textToHtml(std::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
    const std::string& html = impl_->converted.back();
    data = std::span(reinterpret_cast<const std::uint8_t*>(html.data()), html.size());
  }
  FzStatus st;
  if (lastType_ == DocType::kPng || lastType_ == DocType::kJpeg || lastType_ == DocType::kGif ||
      lastType_ == DocType::kBmp || lastType_ == DocType::kTiff) {
    // A few hundred bytes can claim gigapixels; such images are refused before anything is
    // decoded (an A3 page scanned at 600 dpi is 70 megapixels).
    int w = 0, h = 0;
    if (!imageSize(ctx, data.data(), data.size(), &w, &h, &st)) return fromStatus(st, "image");
    if (static_cast<double>(w) * h > kMaxImagePixels) {
      return makeError("image_too_large",
                       "The image is " + std::to_string(w) + " x " + std::to_string(h) +
                           " pixels; images up to " +
                           std::to_string(static_cast<int>(kMaxImagePixels / 1e6)) +
                           " megapixels can be faxed.");
    }
  }
  fz_document* doc = openDocument(ctx, data.data(), data.size(), mimeType(lastType_), &st);
  if (doc == nullptr) return fromStatus(st, "open");
  if ((lastType_ == DocType::kHtml || lastType_ == DocType::kText) && !layoutA4(ctx, doc, &st)) {
    fz_drop_document(ctx, doc);
    return fromStatus(st, "layout");
  }
  impl_->docs.push_back(doc);
  const int docIndex = static_cast<int>(impl_->docs.size()) - 1;
  if (needsPassword(ctx, doc)) {
    return makeError("encrypted_pdf", "The PDF is protected by a password; send it unprotected.");
  }
  const int n = countPages(ctx, doc, &st);
  if (n < 0) return fromStatus(st, "page count");
  if (n == 0) return makeError("corrupt_file", "The document has no pages.");
  lastSourcePages_ = n;
  if (const int missing = firstMissingPdfPage(ctx, doc, n, &st); missing >= 0) {
    return makeError("corrupt_file", "The PDF is damaged: page " + std::to_string(missing + 1) +
                                         " is missing (the file may be truncated).");
  }
  const int maxPages = impl_->options.maxPages;
  if (n > maxPages || pageCount() + n > maxPages) {
    return makeError("too_many_pages",
                     "The fax would have more than " + std::to_string(maxPages) + " pages.");
  }
  const double yDpi = impl_->options.fine ? kFineYDpi : kNormalYDpi;
  for (int i = 0; i < n; ++i) {
    const fz_rect r = pageBounds(ctx, doc, i, &st);
    if (st.code != nullptr) return fromStatus(st, "page size");
    const float w = r.x1 - r.x0, h = r.y1 - r.y0;
    if (!(w > 1 && h > 1) || !std::isfinite(w) || !std::isfinite(h)) {
      return makeError("corrupt_file", "Page " + std::to_string(i + 1) +
                                           " has no usable size; the document is damaged.");
    }
    // Landscape pages are turned so that their long side runs down the paper, as fax
    // machines do; then every page is scaled to the fax width.
    const bool landscape = w > h * 1.05f;
    fz_matrix ctm = landscape ? fz_rotate(90) : fz_identity;
    const fz_rect t = fz_transform_rect(r, ctm);
    const double sx = kFaxWidth / static_cast<double>(t.x1 - t.x0);
    const double sy = sx * yDpi / kFaxXDpi;
    ctm = fz_concat(ctm, fz_translate(-t.x0, -t.y0));
    ctm = fz_concat(ctm, fz_scale(static_cast<float>(sx), static_cast<float>(sy)));
    const double totalRows = std::ceil((t.y1 - t.y0) * sy - 0.01);
    const int maxRows = static_cast<int>(std::lround(kMaxPageInches * yDpi));
    if (totalRows > static_cast<double>(maxRows) * maxPages) {
      return makeError("too_many_pages",
                       "Page " + std::to_string(i + 1) + " is too long to send as fax pages.");
    }
    const int rows = std::max(1, static_cast<int>(totalRows));
    for (int top = 0; top < rows; top += maxRows) {
      impl_->plan.push_back(PlannedPage{docIndex, i, ctm, top, std::min(maxRows, rows - top)});
      if (pageCount() > maxPages) {
        return makeError("too_many_pages",
                         "The fax would have more than " + std::to_string(maxPages) + " pages.");
      }
    }
  }
  return {};
}

core::Result<FaxPage> FaxRenderer::render(int index) {
  const PlannedPage& p = impl_->plan.at(static_cast<std::size_t>(index));
  FaxPage page;
  page.yDpi = impl_->options.fine ? kFineYDpi : kNormalYDpi;
  page.resize(kFaxWidth, p.rows);
  // One pass over the page content per fax page: a page is at most Legal length, so the grey
  // buffer stays under 5 MB.
  std::vector<std::uint8_t>& grey = impl_->grey;
  const std::size_t need = static_cast<std::size_t>(p.rows) * kFaxWidth;
  if (grey.size() < need) grey.resize(need);
  FzStatus st;
  renderBand(impl_->ctx, impl_->docs[static_cast<std::size_t>(p.doc)], p, grey.data(), &st);
  if (st.code != nullptr) return fromStatus(st, "page " + std::to_string(p.page + 1));
  greyToBilevel(grey.data(), &page);
  return page;
}

}  // namespace vfax::documents
