#pragma once
// POST /faxes: streams multipart parts into a per-request staging folder (files) or memory (the
// small text fields), with the limits enforced while reading, then builds the SubmitRequest.
// Everything staged is removed when the collector goes away, unless submit() took the files.
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/service.h"

namespace vfax::api {

struct UploadLimits {
  std::uint64_t maxBytes = 50ull << 20;  // all parts together
  int maxFiles = 20;
  std::size_t maxFieldBytes = 4096;  // one text field
  /// Set: the text fields this form takes instead of POST /faxes' (the printer's print jobs).
  std::vector<std::string> textFields{};
};

class MultipartCollector {
 public:
  /// Creates a fresh folder below `stagingDir` (which must exist).
  static core::Result<std::unique_ptr<MultipartCollector>> create(const std::string& stagingDir,
                                                                  UploadLimits limits);
  ~MultipartCollector();
  MultipartCollector(const MultipartCollector&) = delete;
  MultipartCollector& operator=(const MultipartCollector&) = delete;

  /// A new part starts. False stops reading; error() says why.
  bool onPart(const std::string& name, const std::string& filename);
  /// Bytes of the current part.
  bool onData(const char* data, std::size_t n);
  /// Ends the last part (flushes and closes its file).
  core::Result<void> finish();

  const std::optional<core::Error>& error() const { return error_; }
  const std::multimap<std::string, std::string>& fields() const { return fields_; }
  const std::vector<core::Upload>& files() const { return files_; }
  const std::string& dir() const { return dir_; }

 private:
  MultipartCollector(std::string dir, UploadLimits limits);
  bool fail(std::string code, std::string message);
  bool closeFile();

  std::string dir_;
  UploadLimits limits_;
  std::uint64_t total_ = 0;
  std::FILE* file_ = nullptr;
  std::string* field_ = nullptr;  // the text field being read, or null while reading a file
  std::multimap<std::string, std::string> fields_;
  std::vector<core::Upload> files_;
  std::optional<core::Error> error_;
};

enum class SubmitForm {
  Send,     // POST /faxes: `to` required; files, or `preview` (an id) instead of files
  Preview,  // POST /faxes/preview: files required, `to` optional
};

/// The text fields of POST /faxes (to, device, tag, priority, notify, resolution, cover, subject,
/// comment, preview) plus the staged files -> the request for Service::submitAs. Missing `to` is
/// `invalid_number`.
core::Result<core::SubmitRequest> buildSubmitRequest(
    const std::multimap<std::string, std::string>& fields, std::vector<core::Upload> files,
    SubmitForm form = SubmitForm::Send);

}  // namespace vfax::api
