// libFuzzer target over POST /faxes and /faxes/preview past cpp-httplib's multipart parser
// (api/upload.h): the parts it hands on (any names, file names and data, in any order and
// chunking) go into a MultipartCollector with small limits, then into buildSubmitRequest. Limits
// hold while reading, every refusal has a known code, and the staging folder is gone once the
// collector is. The input is a sequence of records: a byte that picks the part's name (or, with
// the high bit set, more data for the current part), a length byte, that many bytes (the file
// name of a new part, or data).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include "api/upload.h"

namespace {

namespace fs = std::filesystem;

// The folder the collectors make theirs in; removed at exit.
struct Staging {
  Staging() : dir((fs::temp_directory_path() / "vfax-upload-fuzz-XXXXXX").string()) {
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
  }
  ~Staging() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string dir;
};

const std::string& stagingDir() {
  static const Staging staging;
  return staging.dir;
}

constexpr const char* kNames[] = {"file",    "to",         "device", "tag",     "priority",
                                  "notify",  "resolution", "cover",  "subject", "comment",
                                  "preview", "copies",     "",       "FILE"};

bool knownCode(const std::string& code) {
  static const std::set<std::string> codes{"too_many_files",    "unknown_field", "invalid_request",
                                           "payload_too_large", "bad_request",   "invalid_number",
                                           "unknown_device",    "not_found",     "no_file"};
  return codes.contains(code);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vfax::api::UploadLimits limits;
  limits.maxBytes = 2048;
  limits.maxFiles = 3;
  limits.maxFieldBytes = 600;  // above the subject's 500, below the comment's 4000
  const bool printForm = size > 0 && (data[0] & 1) != 0;
  if (printForm) limits.textFields = {"to", "tag", "preview"};
  std::string dir;
  {
    auto made = vfax::api::MultipartCollector::create(stagingDir(), limits);
    if (!made) std::abort();
    auto& c = **made;
    dir = c.dir();
    bool reading = true;
    std::size_t i = size > 0 ? 1 : 0;
    while (reading && i + 2 <= size) {
      const std::uint8_t pick = data[i];
      const std::size_t n = std::min<std::size_t>(data[i + 1], size - i - 2);
      const char* bytes = reinterpret_cast<const char*>(data + i + 2);
      i += 2 + n;
      if ((pick & 0x80) != 0) {
        reading = c.onData(bytes, n);
      } else {
        reading = c.onPart(kNames[pick % std::size(kNames)], std::string(bytes, n));
      }
    }
    auto done = c.finish();
    if (!done) {
      if (!knownCode(done.error().code) || !c.error()) std::abort();
    } else {
      if (c.files().size() > static_cast<std::size_t>(limits.maxFiles)) std::abort();
      std::uintmax_t staged = 0;
      for (const auto& f : c.files()) {
        if (fs::path(f.path).parent_path() != fs::path(dir)) std::abort();
        staged += fs::file_size(f.path);
      }
      for (const auto& [name, value] : c.fields()) {
        if (value.size() > limits.maxFieldBytes || name == "file") std::abort();
        staged += value.size();
      }
      if (staged > limits.maxBytes) std::abort();
      for (const auto form : {vfax::api::SubmitForm::Send, vfax::api::SubmitForm::Preview}) {
        auto req = vfax::api::buildSubmitRequest(c.fields(), c.files(), form);
        if (!req) {
          if (!knownCode(req.error().code)) std::abort();
          continue;
        }
        if (req->files.empty() && req->previewId.empty()) std::abort();
        if (req->subject.size() > 500 || req->comment.size() > 4000) std::abort();
      }
    }
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) std::abort();  // the collector removed its staging folder
  return 0;
}
