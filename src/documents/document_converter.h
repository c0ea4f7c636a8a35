#pragma once
// core::Documents for vfaxd: untrusted inputs are opened and rendered in the vfax-convert child
// process under resource limits; the fax-to-PDF direction (our own TIFFs) runs in-process.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/documents.h"
#include "documents/print_fields.h"

namespace vfax::documents {

struct ConverterOptions {
  /// Path of the vfax-convert program (see DocumentConverter::defaultConverterPath()).
  std::string converterPath;
  std::chrono::milliseconds timeout{120'000};      // wall clock per conversion, then SIGKILL
  std::chrono::milliseconds probeTimeout{20'000};  // for sniff()
  int cpuSeconds = 120;                            // RLIMIT_CPU of the child
  std::uint64_t memoryBytes = 1024ull << 20;       // RLIMIT_AS of the child (not under ASan)
  int maxPages = 200;                              // fax pages per job
  std::uint64_t maxOutputBytes = 64ull << 20;      // size of the fax TIFF
  int previewWidth = 600;                          // px, for faxToPdf's PNG
  /// Fault injection for tests: the child sleeps this long before it starts working.
  int debugStallMs = 0;
  /// Ghostscript (PostScript input) and LibreOffice (office documents): names are looked up in
  /// PATH; empty disables the type with a `missing_converter` error.
  std::string ghostscript = "gs";
  std::string libreoffice = "soffice";
  std::uint64_t officeMemoryBytes = 4096ull << 20;  // LibreOffice maps much more than it uses
  /// OCR of received faxes (tesseract, German and English) into a text layer of the PDF; asked
  /// at each faxToPdf so a settings change applies at once. Unset: off.
  std::function<bool()> ocrReceived;
  std::string tesseract = "tesseract";
  std::chrono::milliseconds ocrTimeout{60'000};
  /// The sandbox (convert/sandbox.h): the user converters run as when vfaxd runs as root ("":
  /// stay root, not recommended), and whether documents may be converted without Landlock.
  std::string sandboxUser = "nobody";
  bool allowUnsandboxed = false;
  int thumbnails = 4;        // thumb-N.png next to the preview, for the first pages
  int thumbnailWidth = 200;  // px
};

/// What scanPrintFields() should do besides finding the fields.
struct PrintScanOptions {
  /// The admin's extra field patterns (see compileFieldPatterns()); a bad one fails the scan
  /// with `bad_pattern` before the job is opened.
  std::vector<std::string> patterns;
  /// When set and the job has text (PDF, PostScript, office documents): the job as a PDF with
  /// every field found (usable or not) blanked out is written here, to be faxed instead of the
  /// job. Not written for raster jobs (nothing to blank; fax the job itself).
  std::string redactedPdf;
};

/// The control fields of a print job (README.md, "Print-to-Fax control fields").
struct PrintScan {
  std::string type;      // "pdf", "postscript", "png", "pwg-raster", "apple-raster", ...
  int pages = 0;         // the job's pages; 0 for PWG/Apple raster (not opened here)
  bool hasText = false;  // false: a raster job, which has no fields
  std::vector<PrintField> fields;
  std::vector<std::string> warnings;  // pattern limits hit, too many fields on a page
  bool redacted = false;              // PrintScanOptions::redactedPdf was written
  int whiteBoxes = 0;  // fields painted over because MuPDF's redaction left text behind
  /// Redaction would have taken text beside the fields, so they were painted over instead: the
  /// fax page shows no field, but the PDF's text still holds it.
  bool textKept = false;
};

class DocumentConverter : public core::Documents {
 public:
  explicit DocumentConverter(ConverterOptions options);

  /// vfax-convert next to the running executable (/proc/self/exe's folder).
  static std::string defaultConverterPath();

  core::Result<std::string> sniff(const std::string& path) override;
  core::Result<int> toFax(const core::ConvertRequest& req) override;
  core::Result<int> faxToPdf(const std::string& tiff, const std::string& pdf,
                             const std::string& previewPng) override;
  core::Result<int> renderPage(const std::string& pdf, int index, int width,
                               const std::string& png) override;
  void fillCoverPage(const core::Fax& fax, const std::string& sender,
                     const core::Settings& settings, core::Millis now,
                     const std::string& templatesDir, core::ConvertRequest* req) override;

  /// Reads a print job's control fields in the vfax-convert child (PostScript through
  /// Ghostscript and office documents through LibreOffice first) and, if asked, writes the job
  /// with the fields blanked out. Raster jobs (TIFF, PNG, JPEG, GIF, BMP, PWG and Apple raster)
  /// give no fields. Errors: those of toFax() for the document, `bad_pattern`,
  /// `too_many_fields` (over 2,000 in one job), and
  /// `unsupported_type` for plain text and HTML.
  core::Result<PrintScan> scanPrintFields(const std::string& path, const PrintScanOptions& options);
  /// Writes the PDF `in` to `out` with the glyphs in `boxes` removed (and, where that leaves
  /// text behind, painted over in white), in the child. Returns the number of boxes applied.
  core::Result<int> redactFields(const std::string& in, const std::string& out,
                                 const std::vector<FieldBox>& boxes);

  /// Writes pages [first, last] (from 1) of the PDF `in` to `out`, in the child: one letter of
  /// a mail-merge job (PlannedFax). Returns the number of pages.
  core::Result<int> extractPages(const std::string& in, const std::string& out, int first,
                                 int last);

  /// What the converter's sandbox is here, found by starting vfax-convert once (then kept):
  /// `mode` is "landlock+netns+uid" (its parts as they apply), "unsandboxed (allowed by config)"
  /// or "unavailable" (conversions fail with `sandbox_unavailable`; `reason` says why).
  struct SandboxStatus {
    std::string mode;
    std::string reason;
    bool available() const { return mode != "unavailable"; }
  };
  SandboxStatus sandboxStatus();

  void stopConversions() override;
  void cancelConversion(const std::string& outputTiff) override;

  /// LibreOffice's registrymodifications.xcu for the profile of a conversion: macros never run,
  /// links are never updated, links to untrusted places are blocked.
  static std::string officeRegistryModifications();

  /// The path of `program` (as is when it has a slash, else searched in PATH); "" if not found.
  static std::string findProgram(const std::string& program);

 private:
  core::Result<std::string> toPdf(const std::string& input, int type, const std::string& workDir,
                                  int index, const std::string& tag = {});
  ConverterOptions options_;
  std::mutex sandboxMutex_;
  std::mutex activeMutex_;
  std::map<std::string, bool> active_;  // conversions running, by output: canceled?
  std::optional<SandboxStatus> sandbox_;
};

}  // namespace vfax::documents
