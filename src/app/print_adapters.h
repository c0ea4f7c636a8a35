#pragma once
// Print-to-Fax: core's PrintDocuments port over the documents component (control fields read,
// planned and blanked out in the vfax-convert child), and the settings vfaxd takes from its
// environment until [print] in the config file carries them.
#include <string>
#include <vector>

#include "api/http_server.h"
#include "core/print_intake.h"
#include "documents/document_converter.h"

namespace vfax::app {

class PrintDocumentsAdapter final : public core::PrintDocuments {
 public:
  explicit PrintDocumentsAdapter(documents::DocumentConverter& converter) : converter_(converter) {}
  core::Result<core::PrintScanResult> scan(const std::string& job,
                                           const std::vector<std::string>& patterns,
                                           const std::string& redactedPdf) override;
  core::Result<int> extractPages(const std::string& in, const std::string& out, int first,
                                 int last) override;
  core::Result<void> checkPatterns(const std::vector<std::string>& patterns) override;

 private:
  documents::DocumentConverter& converter_;
};

/// The printer's API options from the environment: VFAX_PRINTER_SECRET (the secret vfax-printer
/// sends; tests that call the internal routes without the child set it), and
/// VFAX_PRINT_ANONYMOUS_DEVICE / VFAX_PRINT_ANONYMOUS_ALLOW (comma-separated). Unset: no secret,
/// so the internal routes answer 404.
api::PrintApiOptions printApiOptionsFromEnvironment();

}  // namespace vfax::app
