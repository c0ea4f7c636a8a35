#pragma once
// The port to the documents component (conversion runs in a child process; these calls block and
// are made from worker threads, never from the scheduler or telephony threads).
#include <map>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/settings.h"

namespace vfax::core {

struct ConvertRequest {
  std::vector<std::string> inputs;  // paths, in order; pages are concatenated
  std::string outputTiff;           // G4 fax TIFF, 1728 px wide
  bool fine = true;                 // 204x196 dpi, else 204x98
  /// A cover page goes first when set: an HTML template (its file; empty: the built-in German and
  /// English default) whose {{key}} placeholders are filled from coverFields (sender,
  /// sender_fax, recipient, recipient_fax, date, subject, comment; "language" de+en | de | en
  /// picks the built-in template's labels); {{pages}} is the total page count, cover included,
  /// which the converter fills in.
  bool cover = false;
  std::string coverTemplate{};
  std::map<std::string, std::string> coverFields{};
};

class Documents {
 public:
  virtual ~Documents() = default;
  /// Checks type and basic soundness quickly (the API calls this before accepting a file).
  /// Error codes: `unsupported_type`, `empty_file`, `corrupt_file`.
  virtual Result<std::string> sniff(const std::string& path) = 0;  // returns "pdf", "tiff", ...
  /// Returns the page count. Error codes as sniff plus `conversion_failed`, `too_many_pages`.
  virtual Result<int> toFax(const ConvertRequest& req) = 0;
  /// A fax TIFF (received or converted) to a PDF (G4 data as is) and a PNG preview of page 1.
  virtual Result<int> faxToPdf(const std::string& tiff, const std::string& pdf,
                               const std::string& previewPng) = 0;
  /// Renders page `index` (from 0) of a PDF that vfax wrote itself (faxToPdf's) to a PNG `width`
  /// px wide, in-process (the PDF is trusted). Returns the PDF's page count; `not_found` when
  /// index is beyond it, `conversion_failed` when it cannot be rendered.
  virtual Result<int> renderPage(const std::string& pdf, int index, int width,
                                 const std::string& png) = 0;
  /// Sets req's cover page (template and fields) for `fax`: `sender` is the name of its device
  /// (or the server's header name), `now` the date printed, `templatesDir` where an admin's
  /// cover-LANG.html or cover.html replaces the built-in template. Cheap (a stat or two): called
  /// on the scheduler thread.
  virtual void fillCoverPage(const Fax& fax, const std::string& sender, const Settings& settings,
                             Millis now, const std::string& templatesDir, ConvertRequest* req) = 0;
  /// The daemon stops: conversions running now end at once (with an error nobody records: the
  /// scheduler no longer runs, so their jobs stay `converting` and are redone after the next
  /// start), and none start any more. Nothing the converter started outlives this.
  virtual void stopConversions() {}
  /// The job whose pages go to `outputTiff` was canceled: its conversion, if one runs, ends now
  /// (with an error nobody records) instead of running to its end or its limits.
  virtual void cancelConversion(const std::string& outputTiff) { (void)outputTiff; }
};

}  // namespace vfax::core
