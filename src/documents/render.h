#pragma once
// Renders documents (PDF, TIFF, PNG, JPEG) to bilevel fax pages with MuPDF. Runs in the
// vfax-convert child (and in the fuzz target); never in the daemon, because the input is untrusted.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "documents/fax_page.h"
#include "documents/sniff.h"

namespace vfax::documents {

struct RenderOptions {
  bool fine = true;
  int maxPages = 500;                            // fax pages, after splitting long pages
  std::size_t memoryLimit = 512u * 1024 * 1024;  // MuPDF's heap; beyond it a page fails cleanly
};

/// Plans and renders fax pages. Usage: add() every input (this opens it and computes how many
/// fax pages it gives, so the total is known before the first page is written), then
/// render(i) for i in [0, pageCount()).
class FaxRenderer {
 public:
  explicit FaxRenderer(RenderOptions options);
  ~FaxRenderer();
  FaxRenderer(const FaxRenderer&) = delete;
  FaxRenderer& operator=(const FaxRenderer&) = delete;

  /// `data` must stay alive until the renderer is destroyed. Errors: `unsupported_type`,
  /// `empty_file`, `corrupt_file`, `encrypted_pdf`, `too_many_pages`, `conversion_failed`.
  core::Result<void> add(std::span<const std::uint8_t> data);
  int pageCount() const;
  core::Result<FaxPage> render(int index);
  /// The source page count of the most recently added document (for probing).
  int lastSourcePages() const { return lastSourcePages_; }
  DocType lastType() const { return lastType_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int lastSourcePages_ = 0;
  DocType lastType_ = DocType::kUnknown;
};

/// Grey (0 black .. 255 white) to bilevel: solid darks and lights by threshold, the tones in
/// between as a clustered-dot ordered dither (dots survive G4 coding and fax transmission better
/// than dispersed patterns). `grey` has `page->width` bytes per row, `page->rows` rows.
void greyToBilevel(const std::uint8_t* grey, FaxPage* page);

}  // namespace vfax::documents
