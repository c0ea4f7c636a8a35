#include "documents/document_converter.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "documents/child_process.h"
#include "documents/fax_pdf.h"
#include "documents/sniff.h"

namespace vfax::documents {
namespace {

using core::makeError;

// The child's last stderr line "vfax-error CODE MESSAGE" carries its verdict.
core::Error errorFromChild(const ChildResult& r) {
  if (!r.started) {
    return makeError("conversion_failed", "The document converter could not be started.");
  }
  if (r.timedOut || (!r.exited && r.signal == SIGXCPU)) {
    return makeError("timeout", "The document took too long to convert.");
  }
  if (!r.exited && r.signal == SIGXFSZ) {
    return makeError("conversion_failed", "The converted fax would be too large.");
  }
  const std::string marker = "vfax-error ";
  const std::size_t at = r.err.rfind(marker);
  if (at != std::string::npos) {
    std::string line = r.err.substr(at + marker.size());
    line = line.substr(0, line.find('\n'));
    const std::size_t space = line.find(' ');
    if (space != std::string::npos) return makeError(line.substr(0, space), line.substr(space + 1));
  }
  if (!r.exited) {
    return makeError("conversion_failed",
                     "The document converter crashed on this document (signal " +
                         std::to_string(r.signal) + ").");
  }
  return makeError("conversion_failed",
                   "The document converter failed (exit code " + std::to_string(r.exitCode) + ").");
}

// "key=value" from the child's stdout.
std::string field(const std::string& out, const std::string& key) {
  const std::size_t at = out.find(key + "=");
  if (at == std::string::npos) return {};
  const std::size_t start = at + key.size() + 1;
  return out.substr(start, out.find_first_of(" \n", start) - start);
}

std::vector<std::string> baseArgs(const ConverterOptions& o) {
  std::vector<std::string> a = {o.converterPath, "--max-pages=" + std::to_string(o.maxPages),
                                "--max-output=" + std::to_string(o.maxOutputBytes),
                                "--memory=" + std::to_string(o.memoryBytes),
                                "--cpu=" + std::to_string(o.cpuSeconds)};
  if (o.debugStallMs > 0) a.push_back("--stall-ms=" + std::to_string(o.debugStallMs));
  return a;
}

}  // namespace

DocumentConverter::DocumentConverter(ConverterOptions options) : options_(std::move(options)) {
  if (options_.converterPath.empty()) options_.converterPath = defaultConverterPath();
}

std::string DocumentConverter::defaultConverterPath() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "vfax-convert";
  return (self.parent_path() / "vfax-convert").string();
}

core::Result<std::string> DocumentConverter::sniff(const std::string& path) {
  auto type = sniffFile(path);
  if (!type) return type.error();
  std::vector<std::string> args = baseArgs(options_);
  args.push_back("probe");
  args.push_back(path);
  const ChildResult r = runChild(args, options_.probeTimeout);
  if (!r.exited || r.exitCode != 0) return errorFromChild(r);
  return std::string(typeName(*type));
}

core::Result<int> DocumentConverter::toFax(const core::ConvertRequest& req) {
  if (req.inputs.empty()) return makeError("empty_file", "No document was given.");
  // Cheap checks first, so the common mistakes get their error without a child.
  for (const std::string& in : req.inputs) {
    auto type = sniffFile(in);
    if (!type) return type.error();
  }
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      req.outputTiff + ".part" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  std::vector<std::string> args = baseArgs(options_);
  args.push_back(req.fine ? "--fine" : "--normal");
  args.push_back("tofax");
  args.push_back(tmp);
  args.insert(args.end(), req.inputs.begin(), req.inputs.end());
  const ChildResult r = runChild(args, options_.timeout);
  if (!r.exited || r.exitCode != 0) {
    std::remove(tmp.c_str());
    return errorFromChild(r);
  }
  const std::string pagesText = field(r.out, "pages");
  int pages = 0;
  const auto [end, ec] =
      std::from_chars(pagesText.data(), pagesText.data() + pagesText.size(), pages);
  if (ec != std::errc() || pages <= 0 || std::rename(tmp.c_str(), req.outputTiff.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "The converted fax could not be stored.");
  }
  return pages;
}

core::Result<int> DocumentConverter::faxToPdf(const std::string& tiff, const std::string& pdf,
                                              const std::string& previewPng) {
  return faxTiffToPdf(tiff, pdf, previewPng, options_.previewWidth);
}

}  // namespace vfax::documents
