#include "documents/document_converter.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/log_safe.h"
#include "documents/child_process.h"
#include "documents/cover_page.h"
#include "documents/fax_pdf.h"
#include "documents/ocr.h"
#include "documents/sniff.h"
#include "documents/text_html.h"

namespace vfax::documents {
namespace {

using core::makeError;

// The child's last stderr line "vfax-error CODE MESSAGE" carries its verdict.
core::Error errorFromChild(const ChildResult& r) {
  if (!r.started) {
    return makeError("conversion_failed", "The document converter could not be started.");
  }
  if (r.stopped) {
    return makeError("stopping",
                     "The conversion was ended: vfaxd is stopping, or the job was canceled.");
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
  a.push_back("--sandbox-user=" + o.sandboxUser);
  if (o.allowUnsandboxed) a.push_back("--allow-unsandboxed");
  a.push_back("--parent-pid=" + std::to_string(::getpid()));
  return a;
}

// A work folder for one conversion in /var/tmp (world-traversable, unlike the data folder: the
// sandboxed converter, another user, reaches it by name; and not in /tmp, which the sandbox
// replaces by the folder's own tmp/), else in the temporary folder.
std::string makeWorkDir(const char* prefix) {
  struct stat st {};
  const bool varTmp = ::stat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode) &&
                      (st.st_mode & 01777) == 01777 && ::access("/var/tmp", W_OK) == 0;
  std::string pattern =
      ((varTmp ? std::filesystem::path("/var/tmp") : std::filesystem::temp_directory_path()) /
       prefix)
          .string() +
      "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

bool writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out.flush());
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

std::string DocumentConverter::findProgram(const std::string& program) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? program : std::string();
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate =
        (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

namespace {

core::Error missing(const char* what, const char* type, const char* package) {
  return makeError("missing_converter", std::string(type) + " documents need " + what +
                                            ", which is not installed here (Debian package " +
                                            package + ").");
}

}  // namespace

core::Result<std::string> DocumentConverter::sniff(const std::string& path) {
  auto type = sniffFile(path);
  if (!type) return type.error();
  // Plain text needs no parser that a hostile file could trip: starting a sandboxed child to
  // open it (about 12 ms of CPU) would cap uploads at ~150 a second. Its pages are laid out, and
  // counted, by the conversion as for every type.
  if (*type == DocType::kText) return std::string(typeName(*type));
  // PostScript and office documents are only checked for their converter here; opening them
  // means running it, which is the conversion's work.
  if (*type == DocType::kPostScript) {
    if (findProgram(options_.ghostscript).empty()) {
      return missing("Ghostscript", "PostScript", "ghostscript");
    }
    return std::string(typeName(*type));
  }
  if (isOffice(*type)) {
    if (findProgram(options_.libreoffice).empty()) {
      return missing("LibreOffice", "Office", "libreoffice-writer-nogui / libreoffice-calc-nogui");
    }
    return std::string(typeName(*type));
  }
  std::vector<std::string> args = baseArgs(options_);
  args.push_back("probe");
  args.push_back(path);
  const ChildResult r = runChild(args, options_.probeTimeout);
  if (!r.exited || r.exitCode != 0) return errorFromChild(r);
  return std::string(typeName(*type));
}

// PostScript through Ghostscript, office documents through LibreOffice, each under the limits
// of vfax-convert's `exec` and in the work folder; the PDF then takes the MuPDF path.
core::Result<std::string> DocumentConverter::toPdf(const std::string& input, int typeValue,
                                                   const std::string& workDir, int index,
                                                   const std::string& tag) {
  const auto type = static_cast<DocType>(typeValue);
  const std::string pdf = workDir + "/input" + std::to_string(index) + ".pdf";
  std::vector<std::string> args = baseArgs(options_);
  // The converter reads and writes its work folder only: the input goes in as a copy.
  std::error_code ec;
  std::filesystem::create_directories(workDir + "/tmp", ec);
  if (ec) return makeError("conversion_failed", "Cannot prepare the work folder.");
  args.push_back("--workdir=" + workDir);
  args.push_back("exec");
  if (type == DocType::kPostScript) {
    const std::string gs = findProgram(options_.ghostscript);
    if (gs.empty()) return missing("Ghostscript", "PostScript", "ghostscript");
    const std::string copy = workDir + "/input" + std::to_string(index) + ".ps";
    std::filesystem::copy_file(input, copy, ec);
    if (ec) return makeError("conversion_failed", "Cannot prepare the document for Ghostscript.");
    args.insert(args.end(), {gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                             "-dAutoRotatePages=/None", "-sOutputFile=" + pdf, "-f", copy});
  } else {
    const std::string office = findProgram(options_.libreoffice);
    if (office.empty()) {
      return missing("LibreOffice", "Office", "libreoffice-writer-nogui / libreoffice-calc-nogui");
    }
    // LibreOffice picks its import filter partly by the name, so it gets a copy with the right
    // extension; its profile lives in the work folder (no shared state between jobs).
    const std::string named =
        workDir + "/input" + std::to_string(index) + "." + officeExtension(type);
    std::filesystem::copy_file(input, named, ec);
    // Our profile: macros off, no link updates, nothing fetched from untrusted places.
    const std::string profile = workDir + "/lo-profile";
    std::filesystem::create_directories(profile + "/user", ec);
    if (ec ||
        !writeText(profile + "/user/registrymodifications.xcu", officeRegistryModifications())) {
      return makeError("conversion_failed", "Cannot prepare the document for LibreOffice.");
    }
    for (auto& a : args) {
      if (a.rfind("--memory=", 0) == 0)
        a = "--memory=" + std::to_string(options_.officeMemoryBytes);
    }
    args.insert(args.end(),
                {office, "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
                 "--nodefault", "-env:UserInstallation=file://" + workDir + "/lo-profile",
                 "--convert-to", "pdf", "--outdir", workDir, named});
  }
  const ChildResult r = runChild(args, options_.timeout, 64 * 1024, tag);
  if (!r.exited || r.exitCode != 0) {
    core::Error e = errorFromChild(r);
    if (e.code == "conversion_failed" && r.exited) {
      e.message = std::string(type == DocType::kPostScript ? "Ghostscript" : "LibreOffice") +
                  " could not convert the document (exit code " + std::to_string(r.exitCode) + ").";
    }
    return e;
  }
  if (!std::filesystem::exists(pdf, ec) || std::filesystem::file_size(pdf, ec) == 0) {
    return makeError("conversion_failed",
                     std::string(type == DocType::kPostScript ? "Ghostscript" : "LibreOffice") +
                         " produced no pages from the document.");
  }
  return pdf;
}

core::Result<int> DocumentConverter::toFax(const core::ConvertRequest& req) {
  if (req.inputs.empty()) return makeError("empty_file", "No document was given.");
  // Cheap checks first, so the common mistakes get their error without a child.
  std::vector<DocType> types;
  for (const std::string& in : req.inputs) {
    auto type = sniffFile(in);
    if (!type) return type.error();
    types.push_back(*type);
  }
  static std::atomic<unsigned> counter{0};
  const std::string unique = std::to_string(::getpid()) + "-" + std::to_string(++counter);
  const std::string tmp = req.outputTiff + ".part" + unique;
  const std::string workDir = makeWorkDir("vfax-work");
  if (workDir.empty()) {
    return makeError("conversion_failed", "Cannot create a work folder for the conversion.");
  }
  // Known while it runs, so that cancelConversion() can end it (the tag is the output's name).
  const std::string& tag = req.outputTiff;
  {
    std::lock_guard lock(activeMutex_);
    active_[tag] = false;
  }
  struct Inactive {
    DocumentConverter* self;
    const std::string& tag;
    ~Inactive() {
      std::lock_guard lock(self->activeMutex_);
      self->active_.erase(tag);
    }
  } inactive{this, tag};
  auto canceled = [this, &tag] {
    std::lock_guard lock(activeMutex_);
    return active_[tag];
  };
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(dir, e);
    }
  } cleanup{workDir};

  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < req.inputs.size(); ++i) {
    if (renderedByMupdf(types[i])) {
      inputs.push_back(req.inputs[i]);
      continue;
    }
    if (canceled()) return makeError("canceled", "The job was canceled during its conversion.");
    auto pdf = toPdf(req.inputs[i], static_cast<int>(types[i]), workDir, static_cast<int>(i), tag);
    if (!pdf) return pdf.error();
    inputs.push_back(*pdf);
  }
  std::vector<std::string> args = baseArgs(options_);
  args.push_back(req.fine ? "--fine" : "--normal");
  if (req.cover) {
    const auto language = req.coverFields.find("language");
    std::string tmpl =
        defaultCoverTemplate(language != req.coverFields.end() ? language->second : "de+en");
    if (!req.coverTemplate.empty()) {
      std::ifstream in(req.coverTemplate, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in || ss.str().empty()) {
        return makeError("conversion_failed",
                         "The cover page template " + req.coverTemplate + " cannot be read.");
      }
      tmpl = ss.str();
    }
    auto fields = req.coverFields;
    fields["pages"] = "{{pages}}";  // the child knows the count
    const std::string coverPath = workDir + "/cover.html";
    std::ofstream(coverPath, std::ios::binary) << fillTemplate(tmpl, fields);
    args.push_back("--cover=" + coverPath);
  }
  args.push_back("tofax");
  args.push_back(tmp);
  args.insert(args.end(), inputs.begin(), inputs.end());
  if (canceled()) return makeError("canceled", "The job was canceled during its conversion.");
  const ChildResult r = runChild(args, options_.timeout, 64 * 1024, tag);
  if (!r.exited || r.exitCode != 0) {
    std::remove(tmp.c_str());
    return errorFromChild(r);
  }
  const std::string pagesText = field(r.out, "pages");
  int pages = 0;
  const auto [end, pec] =
      std::from_chars(pagesText.data(), pagesText.data() + pagesText.size(), pages);
  if (pec != std::errc() || pages <= 0 || std::rename(tmp.c_str(), req.outputTiff.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "The converted fax could not be stored.");
  }
  return pages;
}

core::Result<int> DocumentConverter::renderPage(const std::string& pdf, int index, int width,
                                                const std::string& png) {
  const int n = renderPdfPagePng(pdf, index, png, width);
  if (n < 0) {
    spdlog::warn("documents: cannot render page {} of {}", index + 1, core::logSafe(pdf, 400));
    return makeError("conversion_failed", "The page could not be rendered.");
  }
  if (n <= index) {
    return makeError("not_found", "There is no page " + std::to_string(index + 1) +
                                      " (the fax has " + std::to_string(n) + ").");
  }
  return n;
}

namespace {

std::string percentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out.push_back(static_cast<char>(value));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// "key=value key=value" after the line's first word.
std::map<std::string, std::string> lineFields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in(line);
  std::string token;
  while (in >> token) {
    const std::size_t eq = token.find('=');
    if (eq != std::string::npos) out[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return out;
}

int toInt(const std::string& s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::vector<FieldBox> parseBoxes(const std::string& text) {
  std::vector<FieldBox> out;
  std::istringstream in(text);
  std::string one;
  while (std::getline(in, one, ';')) {
    FieldBox b;
    if (std::sscanf(one.c_str(), "%d:%f,%f,%f,%f", &b.page, &b.x0, &b.y0, &b.x1, &b.y1) == 5) {
      out.push_back(b);
    }
  }
  return out;
}

FieldKind kindFromName(const std::string& name) {
  if (name == "tag") return FieldKind::kTag;
  if (name == "notify") return FieldKind::kNotify;
  if (name == "prio") return FieldKind::kPriority;
  return FieldKind::kNumber;
}

// ".partPID-N": a temporary name beside the output, unique in this process.
std::string partSuffix() {
  static std::atomic<unsigned> counter{0};
  return ".part" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// PWG raster ("RaS2") and Apple raster ("UNIRAST"): what IPP Everywhere clients send. Not
// opened here: they carry no text.
const char* rasterType(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  if (in.gcount() >= 4 && std::memcmp(head, "RaS2", 4) == 0) return "pwg-raster";
  if (in.gcount() >= 8 && std::memcmp(head, "UNIRAST", 8) == 0) return "apple-raster";
  return nullptr;
}

}  // namespace

core::Result<PrintScan> DocumentConverter::scanPrintFields(const std::string& path,
                                                           const PrintScanOptions& options) {
  // The patterns are the admin's: their errors come first and say so.
  if (auto compiled = compileFieldPatterns(options.patterns); !compiled) return compiled.error();
  PrintScan scan;
  if (const char* raster = rasterType(path)) {
    scan.type = raster;
    return scan;
  }
  auto type = sniffFile(path);
  if (!type) return type.error();
  scan.type = typeName(*type);
  if (*type == DocType::kText || *type == DocType::kHtml) {
    return makeError("unsupported_type",
                     "Print jobs are read for control fields as PDF, PostScript or raster; this "
                     "one is plain text or HTML.");
  }
  if (*type != DocType::kPdf && renderedByMupdf(*type)) {  // images: count the pages only
    std::vector<std::string> args = baseArgs(options_);
    args.push_back("probe");
    args.push_back(path);
    const ChildResult r = runChild(args, options_.probeTimeout);
    if (!r.exited || r.exitCode != 0) return errorFromChild(r);
    scan.pages = toInt(field(r.out, "pages"));
    return scan;
  }
  std::string pdf = path;
  std::string workDir;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      if (!dir.empty()) std::filesystem::remove_all(dir, e);
    }
  } cleanup;
  if (*type != DocType::kPdf) {
    workDir = cleanup.dir = makeWorkDir("vfax-print");
    if (workDir.empty()) {
      return makeError("conversion_failed", "Cannot create a work folder for the conversion.");
    }
    auto converted = toPdf(path, static_cast<int>(*type), workDir, 0);
    if (!converted) return converted.error();
    pdf = *converted;
  }
  std::vector<std::string> args = baseArgs(options_);
  for (const std::string& p : options.patterns) args.push_back("--pattern=" + p);
  std::string tmp;
  if (!options.redactedPdf.empty()) {
    tmp = options.redactedPdf + partSuffix();
    args.push_back("--redact-to=" + tmp);
  }
  args.push_back("fields");
  args.push_back(pdf);
  const ChildResult r = runChild(args, options_.timeout, 4u << 20);
  if (!r.exited || r.exitCode != 0) {
    if (!tmp.empty()) std::remove(tmp.c_str());
    return errorFromChild(r);
  }
  scan.hasText = true;
  std::istringstream out(r.out);
  std::string line;
  bool header = false;
  while (std::getline(out, line)) {
    const auto kv = lineFields(line);
    if (line.rfind("type=", 0) == 0) {
      scan.pages = toInt(kv.count("pages") ? kv.at("pages") : "");
      header = true;
    } else if (line.rfind("field ", 0) == 0) {
      PrintField f;
      auto get = [&](const char* key) {
        const auto it = kv.find(key);
        return it == kv.end() ? std::string() : percentDecode(it->second);
      };
      f.kind = kindFromName(get("kind"));
      f.dialect = get("dialect");
      f.page = toInt(get("page"));
      f.value = get("value");
      f.text = get("text");
      f.problem = get("problem");
      f.boxes = parseBoxes(get("boxes"));
      scan.fields.push_back(std::move(f));
    } else if (line.rfind("warning ", 0) == 0) {
      scan.warnings.push_back(percentDecode(kv.count("text") ? kv.at("text") : ""));
    } else if (line.rfind("redacted=", 0) == 0) {
      scan.whiteBoxes = toInt(kv.count("whiteboxes") ? kv.at("whiteboxes") : "");
      scan.textKept = kv.count("textkept") && kv.at("textkept") == "1";
      scan.redacted = true;
    }
  }
  if (!header || scan.pages <= 0 || (!tmp.empty() && !scan.redacted)) {
    if (!tmp.empty()) std::remove(tmp.c_str());
    return makeError("conversion_failed", "The document converter gave no result for the job.");
  }
  if (!tmp.empty() && std::rename(tmp.c_str(), options.redactedPdf.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "The redacted job could not be stored.");
  }
  for (const std::string& w : scan.warnings)
    spdlog::warn("documents: print job {}: {}", core::logSafe(path, 400), core::logSafe(w, 600));
  return scan;
}

core::Result<int> DocumentConverter::redactFields(const std::string& in, const std::string& out,
                                                  const std::vector<FieldBox>& boxes) {
  const std::string tmp = out + partSuffix();
  std::vector<std::string> args = baseArgs(options_);
  args.push_back("redact");
  args.push_back(in);
  args.push_back(tmp);
  for (const FieldBox& b : boxes) {
    char one[128];
    std::snprintf(one, sizeof one, "%d:%.3f,%.3f,%.3f,%.3f", b.page, b.x0, b.y0, b.x1, b.y1);
    args.emplace_back(one);
  }
  const ChildResult r = runChild(args, options_.timeout);
  if (!r.exited || r.exitCode != 0) {
    std::remove(tmp.c_str());
    return errorFromChild(r);
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "The redacted document could not be stored.");
  }
  return toInt(field(r.out, "redacted"));
}

core::Result<int> DocumentConverter::extractPages(const std::string& in, const std::string& out,
                                                  int first, int last) {
  const std::string tmp = out + partSuffix();
  std::vector<std::string> args = baseArgs(options_);
  args.insert(args.end(), {"pages", in, tmp, std::to_string(first), std::to_string(last)});
  const ChildResult r = runChild(args, options_.timeout);
  if (!r.exited || r.exitCode != 0) {
    std::remove(tmp.c_str());
    return errorFromChild(r);
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError("conversion_failed", "The pages could not be stored.");
  }
  return toInt(field(r.out, "pages"));
}

DocumentConverter::SandboxStatus DocumentConverter::sandboxStatus() {
  std::lock_guard lock(sandboxMutex_);
  if (sandbox_) return *sandbox_;
  std::vector<std::string> args = baseArgs(options_);
  args.push_back("check");
  const ChildResult r = runChild(args, options_.probeTimeout);
  SandboxStatus status;
  if (r.exited && r.exitCode == 0 && !field(r.out, "sandbox").empty()) {
    // The value runs to the end of the line ("unsandboxed (allowed by config)").
    const std::size_t at = r.out.find("sandbox=") + 8;
    status.mode = r.out.substr(at, r.out.find('\n', at) - at);
  } else {
    status.mode = "unavailable";
    status.reason = errorFromChild(r).message;
  }
  if (r.stopped) return status;  // not kept: it says nothing about the sandbox
  sandbox_ = status;
  return status;
}

void DocumentConverter::stopConversions() { killAllChildren(); }

void DocumentConverter::cancelConversion(const std::string& outputTiff) {
  {
    std::lock_guard lock(activeMutex_);
    const auto it = active_.find(outputTiff);
    if (it == active_.end()) return;
    it->second = true;
  }
  killChildren(outputTiff);
}

std::string DocumentConverter::officeRegistryModifications() {
  // (path, property, value). Writer's Update/Link: 0 never, 1 on request, 2 always;
  // Calc's: 0 always, 1 never, 2 on request. MacroSecurityLevel 3: only signed macros from
  // trusted places, and with DisableMacrosExecution none at all.
  static const char* const kItems[][3] = {
      {"/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true"},
      {"/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3"},
      {"/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "true"},
      {"/org.openoffice.Office.Common/Security/Scripting", "ExecutePlugins", "false"},
      {"/org.openoffice.Office.Common/Security/Scripting", "OfficeBasic", "0"},
      {"/org.openoffice.Office.Common/Security/Scripting", "CheckDocumentEvents", "true"},
      {"/org.openoffice.Office.Writer/Content/Update", "Link", "0"},
      {"/org.openoffice.Office.Calc/Content/Update", "Link", "1"},
  };
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<oor:items xmlns:oor=\"http://openoffice.org/2001/registry\" "
      "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n";
  for (const auto& item : kItems) {
    out += std::string("<item oor:path=\"") + item[0] + "\"><prop oor:name=\"" + item[1] +
           "\" oor:op=\"fuse\"><value>" + item[2] + "</value></prop></item>\n";
  }
  out += "</oor:items>\n";
  return out;
}

void DocumentConverter::fillCoverPage(const core::Fax& fax, const std::string& sender,
                                      const core::Settings& settings, core::Millis now,
                                      const std::string& templatesDir, core::ConvertRequest* req) {
  documents::fillCoverPage(fax, sender, settings.coverLanguage, now, templatesDir, req);
}

core::Result<int> DocumentConverter::faxToPdf(const std::string& tiff, const std::string& pdf,
                                              const std::string& previewPng) {
  auto pages = faxTiffToPdf(tiff, pdf, previewPng, options_.previewWidth);
  if (!pages) return pages;
  // Thumbnails for the web page: thumb-1.png ... next to the preview. They are a convenience,
  // so a failure only costs the thumbnail.
  if (!previewPng.empty()) {
    const auto dir = std::filesystem::path(previewPng).parent_path();
    for (int i = 0; i < std::min(*pages, options_.thumbnails); ++i) {
      const std::string thumb = (dir / ("thumb-" + std::to_string(i + 1) + ".png")).string();
      if (renderPdfPagePng(pdf, i, thumb, options_.thumbnailWidth) <= i) {
        spdlog::warn("documents: no thumbnail {} of {}", i + 1, core::logSafe(pdf, 400));
      }
    }
  }
  // Received faxes only (what vfax converted itself has its text already); OCR failing never
  // costs the fax: the plain PDF stays.
  if (options_.ocrReceived && options_.ocrReceived() && !isOwnFaxTiff(tiff)) {
    OcrOptions ocr;
    ocr.tesseract = options_.tesseract;
    ocr.timeout = options_.ocrTimeout;
    auto words = addOcrLayer(tiff, pdf, ocr);
    if (!words) {
      spdlog::warn("documents: no OCR text layer for {}: {}", core::logSafe(pdf, 400),
                   core::logSafe(words.error().message, 600));
    } else {
      spdlog::info("documents: OCR found {} words in {}", *words, core::logSafe(pdf, 400));
    }
  }
  return pages;
}

}  // namespace vfax::documents
