#pragma once
// Print-to-Fax intake: what a print job becomes. vfax-printer (src/print/) hands each job to
// vfaxd's internal route POST /api/v1/print/jobs; the API calls PrintIntake::submit(), which
// reads the job's control fields (through the PrintDocuments port), blanks them out, splits a
// mail-merge job into its letters and stores one fax job per planned fax (submitAs, so the
// destination policy and the daily page limit apply), or one held job for its user to complete.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/accounts.h"
#include "core/model.h"
#include "core/result.h"
#include "core/service.h"

namespace vfax::core {

/// One fax a print job asks for: pages [firstPage, lastPage] (from 1) to `number`.
struct PrintPlanItem {
  int firstPage = 1;
  int lastPage = 1;
  std::string number;
  std::string tag;
  std::string notify;
  int priority = -1;  // HylaFAX's 0-255 (lower first); -1: not set
  int letter = 1;     // which letter of a mail-merge job
};

/// What the documents component read from a print job.
struct PrintScanResult {
  int pages = 0;         // 0 when not known (raster jobs)
  bool hasText = false;  // raster jobs have no text and so no fields
  /// The file to fax: the job with its fields blanked out when it has text, else the job itself.
  std::string faxable;
  std::vector<PrintPlanItem> plan;    // empty: no usable number field
  std::vector<std::string> problems;  // fields found but not usable ("@@+FAX:call me@@")
  std::vector<std::string> warnings;  // pattern limits hit and the like
};

/// The port to the documents component for print jobs (app/ implements it over
/// documents::DocumentConverter). Calls block (a child process); made on HTTP worker threads.
class PrintDocuments {
 public:
  virtual ~PrintDocuments() = default;
  /// Reads the control fields of `job` (built-in dialects and the admin's `patterns`), plans the
  /// faxes, and writes the job with every field blanked out to `redactedPdf` when it has text.
  /// Errors: those of Documents::toFax for the document, `bad_pattern`, `too_many_fields`,
  /// `unsupported_type`.
  virtual Result<PrintScanResult> scan(const std::string& job,
                                       const std::vector<std::string>& patterns,
                                       const std::string& redactedPdf) = 0;
  /// Writes pages [first, last] (from 1) of the PDF `in` to `out`; returns the page count.
  virtual Result<int> extractPages(const std::string& in, const std::string& out, int first,
                                   int last) = 0;
  /// Compiles the admin's patterns; error `invalid_setting` naming the pattern and the reason.
  virtual Result<void> checkPatterns(const std::vector<std::string>& patterns) = 0;
};

struct PrintJob {
  /// The document as received (staged; the intake removes it), or for PWG/Apple raster the
  /// pages vfax-printer assembled (a multi-page TIFF, or one PNG per page: several files, which
  /// have no fields).
  std::vector<std::string> files;
  std::string format;  // the MIME type the printer was told
  /// Set for a job of the printer's anonymous device (unauthenticated, allowed address).
  std::optional<std::int64_t> anonymousDevice;
  std::string jobName;
  std::string ippJobId;
  std::string address;  // the printing client
};

struct PrintOutcome {
  std::vector<Fax> faxes;
  bool held = false;
};

/// Tells the user that their print job was refused (no number in mode `fields`, a document that
/// cannot be converted, a number not allowed). Must not block for long.
using PrintRefusalMail =
    std::function<void(const std::string& to, const std::string& jobName, const Error& reason)>;

/// HylaFAX's job priority (0-255, lower first, 127 normal) as vfax's (-100..100, higher first).
int priorityFromField(int hylafaxPriority);

class PrintIntake {
 public:
  PrintIntake(Service& service, PrintDocuments& documents, std::string stagingDir);

  /// Before use: who is told of refused jobs (unset: nobody).
  void setRefusalMail(PrintRefusalMail mail) { refusalMail_ = std::move(mail); }

  /// Stores the fax job(s) of print job `job` for `caller` (the printing user, or vfaxd itself
  /// for an anonymous device's job). The job's files are consumed whatever the answer. Errors:
  /// `no_number` (mode fields), `invalid_number`, `destination_not_allowed`, `corrupt_file`,
  /// `conversion_failed`, `unsupported_type`, ... (their message is what the print dialog shows).
  Result<PrintOutcome> submit(const Caller& caller, const PrintJob& job);

 private:
  Result<PrintOutcome> process(const Caller& caller, const PrintJob& job, const std::string& dir,
                               const std::string& notify);

  Service& service_;
  PrintDocuments& documents_;
  std::string stagingDir_;
  PrintRefusalMail refusalMail_;
};

}  // namespace vfax::core
