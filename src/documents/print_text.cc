#include "documents/print_text.h"

extern "C" {
#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "documents/sniff.h"

namespace vfax::documents {
namespace {

using core::makeError;

// Characters read per page at most: a page of normal text has a few thousand; a hostile one
// could hold millions of invisible glyphs to make the field scan slow.
constexpr std::size_t kMaxCharsPerPage = 200'000;

void silent(void*, const char*) {}

struct Context {
  fz_context* ctx = nullptr;
  Context() {
    ctx = fz_new_context(nullptr, nullptr, FZ_STORE_DEFAULT);
    if (ctx != nullptr) {
      fz_set_warning_callback(ctx, silent, nullptr);
      fz_set_error_callback(ctx, silent, nullptr);
      fz_try(ctx) { fz_register_document_handlers(ctx); }
      fz_catch(ctx) {
        fz_drop_context(ctx);
        ctx = nullptr;
      }
    }
  }
  ~Context() { fz_drop_context(ctx); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

struct Document {
  fz_context* ctx;
  fz_document* doc = nullptr;
  explicit Document(fz_context* c) : ctx(c) {}
  ~Document() { fz_drop_document(ctx, doc); }
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
};

core::Error damaged(const char* what, const char* detail) {
  return makeError("corrupt_file", std::string("The document is damaged and cannot be read (") +
                                       what + ": " + (detail != nullptr ? detail : "") + ").");
}

// Opens `data` as a PDF into *doc and counts its pages.
core::Result<int> openPdf(fz_context* ctx, std::span<const std::uint8_t> data, Document* doc) {
  if (ctx == nullptr) return makeError("conversion_failed", "MuPDF could not start.");
  if (data.empty()) return makeError("empty_file", "The file is empty.");
  if (detectType(data.first(std::min(data.size(), kSniffBytes))) != DocType::kPdf) {
    return makeError("unsupported_type", "Control fields are read from PDF documents only.");
  }
  fz_stream* stm = nullptr;
  int pages = -1;
  int locked = 0;
  fz_var(stm);
  fz_var(pages);
  fz_var(locked);
  fz_try(ctx) {
    stm = fz_open_memory(ctx, data.data(), data.size());
    doc->doc = fz_open_document_with_stream(ctx, "application/pdf", stm);
    locked = fz_needs_password(ctx, doc->doc) && !fz_authenticate_password(ctx, doc->doc, "");
    if (!locked) pages = fz_count_pages(ctx, doc->doc);
  }
  fz_always(ctx) { fz_drop_stream(ctx, stm); }
  fz_catch(ctx) { return damaged("open", fz_caught_message(ctx)); }
  if (locked) {
    return makeError("encrypted_pdf", "The PDF is protected by a password and cannot be read.");
  }
  if (pages <= 0) return makeError("corrupt_file", "The document has no pages.");
  return pages;
}

// One line of structured text: its characters, baseline direction and start, size.
struct TextLine {
  std::vector<FieldChar> chars;
  float dx = 1, dy = 0;  // baseline direction (unit)
  float along = 0;       // start along the baseline direction
  float across = 0;      // position across it (the baseline's offset)
  float size = 0;        // the largest font size in it
  int angle = 0;         // direction in whole degrees, to group lines of one orientation
};

// A character's box: its quad along the baseline, but across it no more than the glyphs of
// ordinary text reach (0.82 of the size above the baseline, 0.24 below). The quad spans the
// font's ascent and descent, which some fonts declare as their whole bounding box (LibreOffice
// writes no ascent and descent at all): such a box reaches into the next lines, and blanking it
// out would take their descenders and accents with it.
fz_rect charBox(const fz_stext_char* c, float dx, float dy) {
  const fz_rect quad = fz_rect_from_quad(c->quad);
  if (!(c->size > 0)) return quad;
  // Baseline direction d = (dx, dy); "down" on the page, across it, is (-dy, dx) (y grows down).
  float a0 = 0, a1 = 0, c0 = 0, c1 = 0;
  bool first = true;
  for (const fz_point p : {c->quad.ll, c->quad.lr, c->quad.ul, c->quad.ur}) {
    const float vx = p.x - c->origin.x, vy = p.y - c->origin.y;
    const float along = vx * dx + vy * dy, across = -vx * dy + vy * dx;
    a0 = first ? along : std::min(a0, along);
    a1 = first ? along : std::max(a1, along);
    c0 = first ? across : std::min(c0, across);
    c1 = first ? across : std::max(c1, across);
    first = false;
  }
  c0 = std::max(c0, -0.82f * c->size);
  c1 = std::min(c1, 0.24f * c->size);
  if (c1 <= c0) return quad;
  fz_rect out{0, 0, 0, 0};
  bool any = false;
  for (const float a : {a0, a1}) {
    for (const float k : {c0, c1}) {
      const float x = c->origin.x + a * dx - k * dy, y = c->origin.y + a * dy + k * dx;
      out = any ? fz_rect{std::min(out.x0, x), std::min(out.y0, y), std::max(out.x1, x),
                          std::max(out.y1, y)}
                : fz_rect{x, y, x, y};
      any = true;
    }
  }
  return out;
}

// The lines in rows: lines of one orientation whose baselines lie within half a line's height
// of each other form a row, ordered along the baseline; rows from top to bottom. Lines drawn
// out of order (a field's runs drawn apart) come together; lines never interleave, so text laid
// over other text stays in one piece.
std::vector<FieldChar> inRows(std::vector<TextLine> lines) {
  std::stable_sort(lines.begin(), lines.end(), [](const TextLine& a, const TextLine& b) {
    return a.angle != b.angle ? a.angle < b.angle : a.across < b.across;
  });
  std::vector<std::size_t> row;
  std::vector<FieldChar> out;
  auto flush = [&]() {
    std::stable_sort(row.begin(), row.end(),
                     [&](std::size_t a, std::size_t b) { return lines[a].along < lines[b].along; });
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (k > 0) out.push_back(FieldChar{U' ', 0, 0, 0, 0});
      const auto& chars = lines[row[k]].chars;
      out.insert(out.end(), chars.begin(), chars.end());
    }
    if (!row.empty()) out.push_back(FieldChar{U'\n', 0, 0, 0, 0});
    row.clear();
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!row.empty()) {
      const TextLine& first = lines[row.front()];
      const float tolerance = 0.5f * std::max(first.size, lines[i].size);
      if (lines[i].angle != first.angle || lines[i].across - first.across > tolerance) flush();
    }
    row.push_back(i);
  }
  flush();
  return out;
}

// One page's characters into *out: as drawn, and in rows.
core::Result<void> pageChars(fz_context* ctx, fz_document* doc, int number, PageText* out) {
  fz_page* page = nullptr;
  fz_stext_page* text = nullptr;
  fz_device* dev = nullptr;
  fz_var(page);
  fz_var(text);
  fz_var(dev);
  fz_try(ctx) {
    page = fz_load_page(ctx, doc, number);
    fz_stext_options options;
    std::memset(&options, 0, sizeof options);
    // The whole page as the fax renderer draws it: contents, annotations and form fields
    // (fz_new_stext_page_from_page would read the contents only).
    text = fz_new_stext_page(ctx, fz_bound_page(ctx, page));
    dev = fz_new_stext_device(ctx, text, &options);
    fz_run_page(ctx, page, dev, fz_identity, nullptr);
    fz_close_device(ctx, dev);
  }
  fz_always(ctx) {
    fz_drop_device(ctx, dev);
    fz_drop_page(ctx, page);
  }
  fz_catch(ctx) {
    fz_drop_stext_page(ctx, text);
    return damaged("page text", fz_caught_message(ctx));
  }
  std::vector<TextLine> lines;
  std::size_t total = 0;
  for (fz_stext_block* b = text->first_block; b != nullptr; b = b->next) {
    if (b->type != FZ_STEXT_BLOCK_TEXT) continue;
    for (fz_stext_line* l = b->u.t.first_line; l != nullptr && total < kMaxCharsPerPage;
         l = l->next) {
      TextLine line;
      const float len = std::hypot(l->dir.x, l->dir.y);
      if (len > 0.01f) {
        line.dx = l->dir.x / len;
        line.dy = l->dir.y / len;
      }
      line.angle = static_cast<int>(std::lround(std::atan2(line.dy, line.dx) * 180 / M_PI));
      for (fz_stext_char* c = l->first_char; c != nullptr && total < kMaxCharsPerPage;
           c = c->next, ++total) {
        const fz_rect r = charBox(c, line.dx, line.dy);
        if (line.chars.empty()) {
          line.along = line.dx * c->origin.x + line.dy * c->origin.y;
          line.across = -line.dy * c->origin.x + line.dx * c->origin.y;
        }
        line.size = std::max(line.size, c->size);
        line.chars.push_back(FieldChar{static_cast<char32_t>(c->c), r.x0, r.y0, r.x1, r.y1});
      }
      if (line.chars.empty()) continue;
      out->drawn.insert(out->drawn.end(), line.chars.begin(), line.chars.end());
      out->drawn.push_back(FieldChar{U'\n', 0, 0, 0, 0});
      lines.push_back(std::move(line));
    }
  }
  out->rows = inRows(std::move(lines));
  fz_drop_stext_page(ctx, text);
  return {};
}

// A redaction area for MuPDF 1.21, which removes a glyph when its box (from the font's bounding
// box, shrunk by a tenth on each side) meets the area: a thin band through the middle of the
// field's line, its ends pulled in a little, so that the neighbours stay: those on the line
// (whose boxes touch the field's) and those on the lines above and below (whose font boxes may
// reach into the field's line). Worked out in PDF user space, where text
// runs left to right even on a page turned by /Rotate; `ctm` is the page's transform to
// MuPDF's page space, in which boxes and annotation rectangles are given. Should a glyph
// escape, the read-back in redactPdf() catches it.
fz_rect redactionRect(const FieldBox& b, fz_matrix ctm) {
  const fz_rect u = fz_transform_rect(fz_rect{b.x0, b.y0, b.x1, b.y1}, fz_invert_matrix(ctm));
  const float h = u.y1 - u.y0, middle = (u.y0 + u.y1) / 2;
  const float e = std::min(0.1f * h, 0.5f);
  fz_rect r{u.x0 + e, middle - 0.1f * h, u.x1 - e, middle + 0.1f * h};
  if (r.x1 <= r.x0) r.x0 = r.x1 = (u.x0 + u.x1) / 2;
  return r;  // PDF user space
}

core::Result<std::string> writePdf(fz_context* ctx, pdf_document* pdf) {
  fz_buffer* buf = nullptr;
  fz_output* out = nullptr;
  std::string bytes;
  fz_var(buf);
  fz_var(out);
  fz_try(ctx) {
    buf = fz_new_buffer(ctx, 64 * 1024);
    out = fz_new_output_with_buffer(ctx, buf);
    pdf_write_options options = pdf_default_write_options;
    options.do_garbage = 3;  // drops the old, unredacted content streams
    options.do_compress = 1;
    pdf_write_document(ctx, pdf, out, &options);
    fz_close_output(ctx, out);
  }
  fz_always(ctx) { fz_drop_output(ctx, out); }
  fz_catch(ctx) {
    fz_drop_buffer(ctx, buf);
    return damaged("write", fz_caught_message(ctx));
  }
  unsigned char* data = nullptr;
  const std::size_t len = fz_buffer_storage(ctx, buf, &data);
  bytes.assign(reinterpret_cast<const char*>(data), len);
  fz_drop_buffer(ctx, buf);
  return bytes;
}

// The redaction annotations are written into the page's /Annots by hand: MuPDF 1.21's
// pdf_create_annot() writes through a wild pointer when it fails on a damaged page (found by
// print_fields_fuzz).
core::Result<void> redactPage(fz_context* ctx, pdf_document* pdf, int number,
                              const std::vector<FieldBox>& boxes) {
  pdf_page* page = nullptr;
  pdf_obj* dict = nullptr;
  fz_var(page);
  fz_var(dict);
  fz_try(ctx) {
    page = pdf_load_page(ctx, pdf, number);
    fz_matrix ctm;
    pdf_page_transform(ctx, page, nullptr, &ctm);
    pdf_obj* annots = pdf_dict_get(ctx, page->obj, PDF_NAME(Annots));
    if (!pdf_is_array(ctx, annots)) {
      annots = pdf_dict_put_array(ctx, page->obj, PDF_NAME(Annots), static_cast<int>(boxes.size()));
    }
    for (const FieldBox& b : boxes) {
      const fz_rect r = redactionRect(b, ctm);
      dict = pdf_new_dict(ctx, pdf, 4);
      pdf_dict_put(ctx, dict, PDF_NAME(Type), PDF_NAME(Annot));
      pdf_dict_put(ctx, dict, PDF_NAME(Subtype), PDF_NAME(Redact));
      pdf_dict_put_rect(ctx, dict, PDF_NAME(Rect), r);
      pdf_obj* quad = pdf_dict_put_array(ctx, dict, PDF_NAME(QuadPoints), 8);
      for (const float v : {r.x0, r.y1, r.x1, r.y1, r.x0, r.y0, r.x1, r.y0}) {
        pdf_array_push_real(ctx, quad, v);
      }
      pdf_obj* ref = pdf_add_object_drop(ctx, pdf, dict);
      dict = nullptr;
      pdf_array_push_drop(ctx, annots, ref);
    }
    // Loaded again, the page has the annotations that pdf_redact_page() applies.
    fz_drop_page(ctx, reinterpret_cast<fz_page*>(page));
    page = nullptr;
    page = pdf_load_page(ctx, pdf, number);
    pdf_redact_options options{};
    options.black_boxes = 0;
    options.image_method = PDF_REDACT_IMAGE_NONE;
    pdf_redact_page(ctx, pdf, page, &options);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, dict);
    fz_drop_page(ctx, reinterpret_cast<fz_page*>(page));
  }
  fz_catch(ctx) { return damaged("redaction", fz_caught_message(ctx)); }
  return {};
}

// Wraps the page's content in q/Q and appends white rectangles over `boxes`.
core::Result<void> paintWhite(fz_context* ctx, pdf_document* pdf, int number,
                              const std::vector<FieldBox>& boxes) {
  pdf_page* page = nullptr;
  fz_buffer* pre = nullptr;
  fz_buffer* post = nullptr;
  pdf_obj* array = nullptr;
  fz_var(page);
  fz_var(pre);
  fz_var(post);
  fz_var(array);
  std::string tail = "Q q 1 g\n";
  fz_try(ctx) {
    page = pdf_load_page(ctx, pdf, number);
    // Annotations and form fields are drawn over the page content, so a white box cannot hide
    // them: those over a field go (redaction does not reach their appearance streams).
    for (int kind = 0; kind < 2; ++kind) {
      pdf_annot* a = kind == 0 ? pdf_first_annot(ctx, page) : pdf_first_widget(ctx, page);
      while (a != nullptr) {
        pdf_annot* next = kind == 0 ? pdf_next_annot(ctx, a) : pdf_next_widget(ctx, a);
        const fz_rect bounds = pdf_bound_annot(ctx, a);
        for (const FieldBox& b : boxes) {
          if (!fz_is_empty_rect(fz_intersect_rect(bounds, fz_rect{b.x0, b.y0, b.x1, b.y1}))) {
            pdf_delete_annot(ctx, page, a);
            break;
          }
        }
        a = next;
      }
    }
    for (int kind = 0; kind < 2; ++kind) {
      for (pdf_annot* a = kind == 0 ? pdf_first_annot(ctx, page) : pdf_first_widget(ctx, page);
           a != nullptr; a = kind == 0 ? pdf_next_annot(ctx, a) : pdf_next_widget(ctx, a)) {
        const fz_rect bounds = pdf_bound_annot(ctx, a);
        for (const FieldBox& b : boxes) {
          if (!fz_is_empty_rect(fz_intersect_rect(bounds, fz_rect{b.x0, b.y0, b.x1, b.y1}))) {
            fz_throw(ctx, FZ_ERROR_GENERIC, "an annotation over a field cannot be removed");
          }
        }
      }
    }
    fz_matrix ctm;
    pdf_page_transform(ctx, page, nullptr, &ctm);
    const fz_matrix inv = fz_invert_matrix(ctm);
    for (const FieldBox& b : boxes) {
      const fz_rect r =
          fz_transform_rect(fz_rect{b.x0 - 0.5f, b.y0 - 0.5f, b.x1 + 0.5f, b.y1 + 0.5f}, inv);
      char line[160];
      std::snprintf(line, sizeof line, "%.3f %.3f %.3f %.3f re f\n", r.x0, r.y0, r.x1 - r.x0,
                    r.y1 - r.y0);
      tail += line;
    }
    tail += "Q\n";
    pre = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>("q\n"), 2);
    post = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>(tail.data()),
                                          tail.size());
    pdf_obj* contents = pdf_dict_get(ctx, page->obj, PDF_NAME(Contents));
    array = pdf_new_array(ctx, pdf, 4);
    pdf_array_push_drop(ctx, array, pdf_add_stream(ctx, pdf, pre, nullptr, 0));
    if (pdf_is_array(ctx, contents)) {
      for (int i = 0; i < pdf_array_len(ctx, contents); ++i) {
        pdf_array_push(ctx, array, pdf_array_get(ctx, contents, i));
      }
    } else if (contents != nullptr) {
      pdf_array_push(ctx, array, contents);
    }
    pdf_array_push_drop(ctx, array, pdf_add_stream(ctx, pdf, post, nullptr, 0));
    pdf_dict_put(ctx, page->obj, PDF_NAME(Contents), array);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, array);
    fz_drop_buffer(ctx, pre);
    fz_drop_buffer(ctx, post);
    fz_drop_page(ctx, reinterpret_cast<fz_page*>(page));
  }
  fz_catch(ctx) { return damaged("white-out", fz_caught_message(ctx)); }
  return {};
}

bool isBlank(char32_t c) { return c == ' ' || c == '\n' || c == '\t' || c == 0xA0; }

}  // namespace

core::Result<std::vector<PageText>> readPdfText(std::span<const std::uint8_t> data, int maxPages) {
  Context context;
  Document doc(context.ctx);
  auto pages = openPdf(context.ctx, data, &doc);
  if (!pages) return pages.error();
  if (*pages > maxPages) {
    return makeError("too_many_pages", "The document has " + std::to_string(*pages) +
                                           " pages; at most " + std::to_string(maxPages) +
                                           " are allowed.");
  }
  std::vector<PageText> out(static_cast<std::size_t>(*pages));
  for (int i = 0; i < *pages; ++i) {
    if (auto r = pageChars(context.ctx, doc.doc, i, &out[static_cast<std::size_t>(i)]); !r) {
      return r.error();
    }
  }
  return out;
}

core::Result<std::vector<std::vector<FieldChar>>> readPdfChars(std::span<const std::uint8_t> data,
                                                               int maxPages) {
  auto text = readPdfText(data, maxPages);
  if (!text) return text.error();
  std::vector<std::vector<FieldChar>> out;
  out.reserve(text->size());
  for (PageText& page : *text) out.push_back(std::move(page.drawn));
  return out;
}

namespace {

bool centreIn(const FieldChar& c, const FieldBox& b) {
  const float cx = (c.x0 + c.x1) / 2, cy = (c.y0 + c.y1) / 2;
  return cx > b.x0 && cx < b.x1 && cy > b.y0 && cy < b.y1;
}

// The characters outside every box, with their places, in a fixed order.
using Placed = std::tuple<std::size_t, char32_t, float, float>;
std::vector<Placed> outside(const std::vector<std::vector<FieldChar>>& pages,
                            const std::map<int, std::vector<FieldBox>>& byPage) {
  std::vector<Placed> out;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    const auto it = byPage.find(static_cast<int>(p + 1));
    for (const FieldChar& c : pages[p]) {
      if (isBlank(c.c)) continue;
      const bool inside =
          it != byPage.end() && std::any_of(it->second.begin(), it->second.end(),
                                            [&](const FieldBox& b) { return centreIn(c, b); });
      if (!inside) out.emplace_back(p, c.c, c.y0, c.x0);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Redaction must leave every character outside the boxes where it was (to a quarter point:
// the content is rewritten, numbers get rounded). MuPDF 1.21 can move a line it did not
// touch, when it empties the text object before it.
bool sameOutside(const std::vector<Placed>& a, const std::vector<Placed>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::get<0>(a[i]) != std::get<0>(b[i]) || std::get<1>(a[i]) != std::get<1>(b[i]) ||
        std::fabs(std::get<2>(a[i]) - std::get<2>(b[i])) > 0.25f ||
        std::fabs(std::get<3>(a[i]) - std::get<3>(b[i])) > 0.25f) {
      return false;
    }
  }
  return true;
}

// `source` with white rectangles over `boxes` (and the annotations over them removed).
core::Result<std::string> paintWhiteAll(std::span<const std::uint8_t> source,
                                        const std::map<int, std::vector<FieldBox>>& boxes) {
  Context context;
  Document doc(context.ctx);
  auto pages = openPdf(context.ctx, source, &doc);
  if (!pages) return pages.error();
  pdf_document* pdf = pdf_specifics(context.ctx, doc.doc);
  for (const auto& [page, list] : boxes) {
    if (auto r = paintWhite(context.ctx, pdf, page - 1, list); !r) return r.error();
  }
  return writePdf(context.ctx, pdf);
}

}  // namespace

core::Result<RedactResult> redactPdf(std::span<const std::uint8_t> data,
                                     const std::vector<FieldBox>& boxes) {
  RedactResult result;
  std::map<int, std::vector<FieldBox>> byPage;
  std::string redacted;
  {
    Context context;
    Document doc(context.ctx);
    auto pages = openPdf(context.ctx, data, &doc);
    if (!pages) return pages.error();
    pdf_document* pdf = pdf_specifics(context.ctx, doc.doc);
    if (pdf == nullptr) return makeError("unsupported_type", "Only PDF documents can be redacted.");
    for (const FieldBox& b : boxes) {
      if (b.page < 1 || b.page > *pages) {
        return makeError("conversion_failed", "A redaction box names page " +
                                                  std::to_string(b.page) + " of a document of " +
                                                  std::to_string(*pages) + " pages.");
      }
      byPage[b.page].push_back(b);
    }
    for (const auto& [page, list] : byPage) {
      if (auto r = redactPage(context.ctx, pdf, page - 1, list); !r) return r.error();
      result.redacted += static_cast<int>(list.size());
    }
    auto written = writePdf(context.ctx, pdf);
    if (!written) return written.error();
    redacted = std::move(*written);
  }
  if (byPage.empty()) {
    result.pdf = std::move(redacted);
    return result;
  }
  // Read both back. MuPDF judges a glyph by its font's bounding box, which may reach into the
  // next line (fonts with no ascent or descent, tight leading), and can move text it did not
  // remove: if redaction took or moved any character outside the boxes, the original is kept
  // and the boxes are painted white instead.
  auto before = readPdfChars(data, 100000);
  if (!before) return before.error();
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(redacted.data()),
                                            redacted.size());
  auto chars = readPdfChars(bytes, 100000);
  if (!chars) return chars.error();
  if (!sameOutside(outside(*chars, byPage), outside(*before, byPage))) {
    auto painted = paintWhiteAll(data, byPage);
    if (!painted) return painted.error();
    result.redacted = 0;
    result.whiteBoxes = static_cast<int>(boxes.size());
    result.textKept = true;
    result.pdf = std::move(*painted);
    return result;
  }
  // Any character left inside a box (a form field, an annotation) is covered instead.
  std::map<int, std::vector<FieldBox>> survivors;
  for (const auto& [page, list] : byPage) {
    const auto& pc = (*chars)[static_cast<std::size_t>(page - 1)];
    for (const FieldBox& b : list) {
      if (std::any_of(pc.begin(), pc.end(),
                      [&](const FieldChar& c) { return !isBlank(c.c) && centreIn(c, b); })) {
        survivors[page].push_back(b);
        ++result.whiteBoxes;
      }
    }
  }
  if (survivors.empty()) {
    result.pdf = std::move(redacted);
    return result;
  }
  auto painted = paintWhiteAll(bytes, survivors);
  if (!painted) return painted.error();
  result.pdf = std::move(*painted);
  return result;
}

core::Result<std::string> extractPdfPages(std::span<const std::uint8_t> data, int first, int last) {
  Context context;
  fz_context* ctx = context.ctx;
  Document doc(ctx);
  auto pages = openPdf(ctx, data, &doc);
  if (!pages) return pages.error();
  if (first < 1 || last < first || last > *pages) {
    return makeError("conversion_failed",
                     "Pages " + std::to_string(first) + "-" + std::to_string(last) +
                         " do not exist in a document of " + std::to_string(*pages) + " pages.");
  }
  pdf_document* src = pdf_specifics(ctx, doc.doc);
  if (src == nullptr) return makeError("unsupported_type", "Only PDF pages can be extracted.");
  pdf_document* dst = nullptr;
  pdf_graft_map* map = nullptr;
  fz_var(dst);
  fz_var(map);
  fz_try(ctx) {
    dst = pdf_create_document(ctx);
    map = pdf_new_graft_map(ctx, dst);
    for (int p = first; p <= last; ++p) pdf_graft_mapped_page(ctx, map, -1, src, p - 1);
  }
  fz_always(ctx) { pdf_drop_graft_map(ctx, map); }
  fz_catch(ctx) {
    fz_drop_document(ctx, reinterpret_cast<fz_document*>(dst));
    return damaged("pages", fz_caught_message(ctx));
  }
  auto written = writePdf(ctx, dst);
  fz_drop_document(ctx, reinterpret_cast<fz_document*>(dst));
  return written;
}

}  // namespace vfax::documents
