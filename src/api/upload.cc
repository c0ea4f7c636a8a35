#include "api/upload.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <system_error>

#include "api/query.h"

namespace vfax::api {

namespace fs = std::filesystem;

namespace {

// Text fields the form may carry besides `file` parts.
bool isTextField(const std::string& name) {
  return name == "to" || name == "device" || name == "tag" || name == "priority" ||
         name == "notify" || name == "resolution" || name == "cover" || name == "subject" ||
         name == "comment" || name == "preview";
}

}  // namespace

core::Result<std::unique_ptr<MultipartCollector>> MultipartCollector::create(
    const std::string& stagingDir, UploadLimits limits) {
  std::string tmpl = (fs::path(stagingDir) / "upload-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::error_code ec(errno, std::generic_category());
    return core::makeError("storage_error",
                           "cannot create a staging folder in " + stagingDir + ": " + ec.message());
  }
  return std::unique_ptr<MultipartCollector>(new MultipartCollector(tmpl, limits));
}

MultipartCollector::MultipartCollector(std::string dir, UploadLimits limits)
    : dir_(std::move(dir)), limits_(limits) {}

MultipartCollector::~MultipartCollector() {
  if (file_ != nullptr) std::fclose(file_);
  // Service::submit moved the files it accepted (and removed them on its errors); whatever is
  // left here belongs to a request that failed before or during reading.
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool MultipartCollector::fail(std::string code, std::string message) {
  if (!error_) error_ = core::Error{std::move(code), std::move(message)};
  return false;
}

bool MultipartCollector::closeFile() {
  if (file_ == nullptr) return true;
  const bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) return fail("storage_error", "cannot write a staged upload in " + dir_);
  return true;
}

bool MultipartCollector::onPart(const std::string& name, const std::string& filename) {
  if (error_) return false;
  if (!closeFile()) return false;
  field_ = nullptr;
  if (name == "file") {
    if (static_cast<int>(files_.size()) >= limits_.maxFiles) {
      return fail("too_many_files",
                  "a fax takes at most " + std::to_string(limits_.maxFiles) + " files");
    }
    const std::string path = dir_ + "/" + std::to_string(files_.size() + 1);
    file_ = std::fopen(path.c_str(), "wbx");
    if (file_ == nullptr) return fail("storage_error", "cannot create a staged upload " + path);
    files_.push_back(
        {filename.empty() ? "file " + std::to_string(files_.size() + 1) : filename, path});
    return true;
  }
  if (!limits_.textFields.empty()) {
    if (std::find(limits_.textFields.begin(), limits_.textFields.end(), name) ==
        limits_.textFields.end()) {
      std::string known = "file";
      for (const auto& f : limits_.textFields) known += ", " + f;
      return fail("unknown_field", "the form has a field '" + name + "'; known: " + known);
    }
  } else if (!isTextField(name)) {
    return fail("unknown_field",
                "the form has a field '" + name +
                    "'; known: to, file, device, tag, priority, notify, resolution, cover, "
                    "subject, comment, preview");
  }
  if (fields_.contains(name))
    return fail("invalid_request", "the field '" + name + "' is given twice");
  field_ = &fields_.emplace(name, std::string())->second;
  return true;
}

bool MultipartCollector::onData(const char* data, std::size_t n) {
  if (error_) return false;
  total_ += n;
  if (total_ > limits_.maxBytes) {
    return fail("payload_too_large",
                "the upload is larger than " + std::to_string(limits_.maxBytes >> 20) + " MiB");
  }
  if (file_ != nullptr) {
    if (std::fwrite(data, 1, n, file_) != n)
      return fail("storage_error", "cannot write a staged upload in " + dir_);
    return true;
  }
  if (field_ == nullptr) return fail("bad_request", "multipart data outside of a part");
  if (field_->size() + n > limits_.maxFieldBytes) {
    return fail("invalid_request",
                "a form field is longer than " + std::to_string(limits_.maxFieldBytes) + " bytes");
  }
  field_->append(data, n);
  return true;
}

core::Result<void> MultipartCollector::finish() {
  closeFile();
  field_ = nullptr;
  if (error_) return *error_;
  return {};
}

core::Result<core::SubmitRequest> buildSubmitRequest(
    const std::multimap<std::string, std::string>& fields, std::vector<core::Upload> files,
    SubmitForm form) {
  core::SubmitRequest req;
  auto field = [&fields](const char* name) -> const std::string* {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  };
  for (const auto& [name, value] : fields) {
    if (!value.empty()) req.fieldsGiven.insert(name);
  }
  if (form == SubmitForm::Preview && field("preview") != nullptr) {
    return core::makeError("invalid_request", "a preview is made of files, not of another preview");
  }
  const std::string* preview = form == SubmitForm::Send ? field("preview") : nullptr;
  if (preview != nullptr) {
    if (preview->empty()) return core::makeError("not_found", "preview: give the id of a preview");
    if (!files.empty()) {
      return core::makeError("invalid_request", "send either files or a preview, not both");
    }
    req.previewId = *preview;
  }
  const std::string* to = field("to");
  const bool toGiven = to != nullptr && to->find_first_not_of(" \t") != std::string::npos;
  // With a preview the number may come from it; a preview may be made before the number is known.
  if (!toGiven && form == SubmitForm::Send && preview == nullptr) {
    return core::makeError("invalid_number", "give the number to fax to in the field 'to'");
  }
  if (toGiven) req.to = *to;
  if (const std::string* d = field("device"); d != nullptr && !d->empty()) {
    auto id = parseId(*d);
    if (!id)
      return core::makeError("unknown_device", "device must be a device id, got '" + *d + "'");
    req.deviceId = *id;
  }
  if (const std::string* t = field("tag")) req.tag = *t;
  if (const std::string* n = field("notify")) req.notify = *n;
  if (const std::string* p = field("priority"); p != nullptr && !p->empty()) {
    int v = 0;
    const char* begin = p->data() + (p->front() == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, p->data() + p->size(), v);
    if (ec != std::errc{} || ptr != p->data() + p->size()) {
      return core::makeError("invalid_request",
                             "priority must be a whole number, got '" + *p + "'");
    }
    req.priority = v;
  }
  if (const std::string* r = field("resolution"); r != nullptr && !r->empty()) {
    if (*r == "fine") {
      req.fine = true;
    } else if (*r == "normal") {
      req.fine = false;
    } else {
      return core::makeError("invalid_request",
                             "resolution must be fine or normal, got '" + *r + "'");
    }
  }
  // cover: true/false (also 1/0, yes/no); absent or empty takes the settings' default.
  if (const std::string* c = field("cover"); c != nullptr && !c->empty()) {
    if (*c == "true" || *c == "1" || *c == "yes" || *c == "on") {
      req.coverPage = true;
    } else if (*c == "false" || *c == "0" || *c == "no" || *c == "off") {
      req.coverPage = false;
    } else {
      return core::makeError("invalid_request", "cover must be true or false, got '" + *c + "'");
    }
  }
  if (const std::string* s = field("subject")) req.subject = *s;
  if (const std::string* c = field("comment")) req.comment = *c;
  constexpr std::size_t kMaxCoverText = 4000;
  if (req.subject.size() > 500 || req.comment.size() > kMaxCoverText) {
    return core::makeError("invalid_request",
                           "subject (500) or comment (4000 characters) is too long");
  }
  req.files = std::move(files);
  if (req.files.empty() && req.previewId.empty()) {
    return core::makeError("no_file", "attach at least one document (field 'file')");
  }
  return req;
}

}  // namespace vfax::api
