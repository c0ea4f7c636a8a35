// vfax-convert: the child process that opens untrusted documents. It limits itself (address
// space, CPU, file size) before it reads any input, renders with MuPDF and writes a G4 TIFF-F.
// Protocol with the parent (DocumentConverter): results as "key=value" on stdout, exit 0; on
// failure one line "vfax-error CODE MESSAGE" on stderr, exit 2.
//
//   vfax-convert [--max-pages=N] [--max-output=BYTES] [--memory=BYTES] [--cpu=SECONDS]
//                [--fine|--normal] [--stall-ms=N] tofax OUT.tif IN...
//   vfax-convert [limits] [--cover=COVER.html] tofax OUT.tif IN...
//   vfax-convert [limits] probe IN
//   vfax-convert [limits] --workdir=DIR exec PROGRAM ARG...
//                (Ghostscript, LibreOffice: run in the sandbox, reading and writing DIR only)
//   vfax-convert [sandbox options] check   (prints "sandbox=landlock+netns+uid" or fails)
//   vfax-convert [limits] [--pattern=REGEX]... [--redact-to=OUT.pdf] fields IN.pdf
//   vfax-convert [limits] redact IN.pdf OUT.pdf PAGE:X0,Y0,X1,Y1...
//   vfax-convert [limits] pages IN.pdf OUT.pdf FIRST LAST      (one letter of a mail merge)
//
// `fields` prints "type=pdf pages=N fields=K", then one line per field
// "field kind=K dialect=D page=P value=V text=T problem=P boxes=P:X0,Y0,X1,Y1;..." and one per
// warning "warning text=T" (values percent-encoded), and with --redact-to writes the PDF with
// every field found blanked out ("redacted=N whiteboxes=M textkept=0|1"). `redact` blanks the given
// boxes.
//
// Sandbox options (convert/sandbox.h): --sandbox-user=NAME (when started as root; default
// nobody), --allow-unsandboxed (go on without Landlock), --parent-pid=PID. Without Landlock and
// without --allow-unsandboxed every command fails with `sandbox_unavailable`.
//
// The cover is HTML whose {{pages}} is still open: only here is the page count known.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "documents/convert/sandbox.h"
#include "documents/fax_tiff.h"
#include "documents/print_fields.h"
#include "documents/print_text.h"
#include "documents/render.h"

namespace {

using vfax::documents::FaxRenderer;
using vfax::documents::FaxTiffWriter;
using vfax::documents::RenderOptions;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

int fail(const std::string& code, const std::string& message) {
  std::fprintf(stderr, "vfax-error %s %s\n", code.c_str(), message.c_str());
  return 2;
}

int fail(const vfax::core::Error& e) { return fail(e.code, e.message); }

bool number(std::string_view arg, std::string_view name, unsigned long long* out) {
  if (arg.substr(0, name.size()) != name) return false;
  const std::string_view v = arg.substr(name.size());
  return std::from_chars(v.data(), v.data() + v.size(), *out).ec == std::errc();
}

void limit(int resource, rlim_t value) {
  rlimit rl{value, value};
  if (resource == RLIMIT_CPU) rl.rlim_max = value + 1;  // SIGXCPU first, then SIGKILL
  ::setrlimit(resource, &rl);
}

// A read-only mapping of one input; MuPDF reads it in place.
struct MappedFile {
  void* data = MAP_FAILED;
  std::size_t size = 0;
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data != MAP_FAILED) ::munmap(data, size);
  }
  bool open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0;
    size = ok ? static_cast<std::size_t>(st.st_size) : 0;
    if (ok && size > 0) {
      data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      ok = data != MAP_FAILED;
    }
    ::close(fd);
    return ok;
  }
  std::span<const std::uint8_t> bytes() const {
    if (data == MAP_FAILED) return {};
    return {static_cast<const std::uint8_t*>(data), size};
  }
};

std::string absolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

std::string fillPages(const std::string& tmpl, int pages) {
  std::string out = tmpl;
  const std::string key = "{{pages}}", value = std::to_string(pages);
  for (std::size_t at = out.find(key); at != std::string::npos; at = out.find(key, at)) {
    out.replace(at, key.size(), value);
    at += value.size();
  }
  return out;
}

std::string percentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '@' || c == '+') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// "P:X0,Y0,X1,Y1"
bool parseBox(const char* text, vfax::documents::FieldBox* box) {
  char tail = 0;
  return std::sscanf(text, "%d:%f,%f,%f,%f%c", &box->page, &box->x0, &box->y0, &box->x1, &box->y1,
                     &tail) == 5;
}

// Filled in by main() from the options; every command enters the sandbox with it.
vfax::documents::SandboxPolicy gPolicy;

// Enters the sandbox or says why not (the caller fails with it).
bool enter(vfax::documents::SandboxState* state, std::string* why) {
  *why = vfax::documents::enterSandbox(gPolicy, state);
  return why->empty();
}

int sandboxFailure(const std::string& why) {
  return fail("sandbox_unavailable", "The document converter's sandbox: " + why + ".");
}

// More would not fit the parent's capture of our output; no real job comes near.
constexpr std::size_t kMaxJobFields = 2000;

// The `fields` and `redact` commands (Print-to-Fax control fields).
int printFields(const std::string& command, int argc, char** argv, int i, int maxPages,
                const std::vector<std::string>& patterns, const std::string& redactTo) {
  namespace d = vfax::documents;
  const bool redactOnly = command == "redact";
  if (command == "pages") {
    int first = 0, last = 0;
    if (i + 4 != argc || std::sscanf(argv[i + 2], "%d", &first) != 1 ||
        std::sscanf(argv[i + 3], "%d", &last) != 1) {
      return fail("conversion_failed", "vfax-convert: usage: pages IN.pdf OUT.pdf FIRST LAST");
    }
    MappedFile file;
    if (!file.open(argv[i])) return fail("corrupt_file", "The file cannot be read.");
    if (file.size == 0) return fail("empty_file", "The file is empty.");
    const std::string out = argv[i + 1];
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("conversion_failed", "Cannot create " + out + ".");
    d::SandboxState sandbox;
    std::string why;
    if (!enter(&sandbox, &why)) {
      ::close(fd);
      return sandboxFailure(why);
    }
    auto pdf = d::extractPdfPages(file.bytes(), first, last);
    d::leaveSandbox(sandbox);
    const bool ok = pdf && writeAll(fd, *pdf);
    ::close(fd);
    if (!ok) {
      ::unlink(out.c_str());
      return pdf ? fail("conversion_failed", "The pages cannot be written.") : fail(pdf.error());
    }
    std::printf("pages=%d\n", last - first + 1);
    return 0;
  }
  if ((!redactOnly && i + 1 != argc) || (redactOnly && i + 2 > argc)) {
    return fail("conversion_failed",
                "vfax-convert: usage: fields IN.pdf | redact IN.pdf OUT.pdf PAGE:X0,Y0,X1,Y1...");
  }
  auto compiled = d::compileFieldPatterns(patterns);
  if (!compiled) return fail(compiled.error());
  MappedFile file;
  if (!file.open(argv[i])) return fail("corrupt_file", "The file cannot be read.");
  if (file.size == 0) return fail("empty_file", "The file is empty.");
  std::vector<d::FieldBox> boxes;
  std::string out = redactTo;
  if (redactOnly) {
    out = argv[i + 1];
    for (int b = i + 2; b < argc; ++b) {
      d::FieldBox box;
      if (!parseBox(argv[b], &box)) {
        return fail("conversion_failed", std::string("vfax-convert: bad box ") + argv[b]);
      }
      boxes.push_back(box);
    }
  }
  int outFd = -1;
  if (!out.empty()) {
    outFd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (outFd < 0) return fail("conversion_failed", "Cannot create " + out + ".");
  }
  struct Close {
    int fd;
    ~Close() {
      if (fd >= 0) ::close(fd);
    }
  } closeOut{outFd};
  d::SandboxState sandbox;
  if (std::string why; !enter(&sandbox, &why)) return sandboxFailure(why);
  struct Leave {
    const d::SandboxState& s;
    ~Leave() { d::leaveSandbox(s); }
  } leave{sandbox};
  if (!redactOnly) {
    auto pages = d::readPdfText(file.bytes(), maxPages);
    if (!pages) return fail(pages.error());
    std::vector<d::PrintField> fields;
    std::vector<std::string> warnings;
    for (std::size_t p = 0; p < pages->size(); ++p) {
      const int number = static_cast<int>(p + 1);
      auto found = d::findPageFields(number, (*pages)[p].drawn, *compiled);
      d::addUnseenFields(&found, d::findPageFields(number, (*pages)[p].rows, *compiled));
      for (auto& f : found.fields) fields.push_back(std::move(f));
      for (auto& w : found.warnings) warnings.push_back(std::move(w));
      if (fields.size() > kMaxJobFields) {
        return fail("too_many_fields", "The print job has more than " +
                                           std::to_string(kMaxJobFields) + " control fields.");
      }
    }
    std::printf("type=pdf pages=%zu fields=%zu\n", pages->size(), fields.size());
    for (const d::PrintField& f : fields) {
      std::string list;
      for (const d::FieldBox& b : f.boxes) {
        char one[128];
        std::snprintf(one, sizeof one, "%s%d:%.2f,%.2f,%.2f,%.2f", list.empty() ? "" : ";", b.page,
                      b.x0, b.y0, b.x1, b.y1);
        list += one;
        boxes.push_back(b);
      }
      std::printf("field kind=%s dialect=%s page=%d value=%s text=%s problem=%s boxes=%s\n",
                  d::fieldKindName(f.kind), percentEncode(f.dialect).c_str(), f.page,
                  percentEncode(f.value).c_str(), percentEncode(f.text).c_str(),
                  percentEncode(f.problem).c_str(), list.c_str());
    }
    for (const std::string& w : warnings)
      std::printf("warning text=%s\n", percentEncode(w).c_str());
  }
  if (outFd >= 0) {
    auto redacted = d::redactPdf(file.bytes(), boxes);
    if (!redacted) {
      ::unlink(out.c_str());
      return fail(redacted.error());
    }
    if (!writeAll(outFd, redacted->pdf)) {
      ::unlink(out.c_str());
      return fail("conversion_failed", "The redacted document cannot be written.");
    }
    std::printf("redacted=%d whiteboxes=%d textkept=%d\n", redacted->redacted, redacted->whiteBoxes,
                redacted->textKept ? 1 : 0);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long long maxPages = 200, maxOutput = 64ull << 20, memory = 1024ull << 20, cpu = 120,
                     stallMs = 0, parentPid = 0;
  bool fine = true;
  std::string coverPath, redactTo;
  std::vector<std::string> patterns;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.substr(0, 2) != "--") break;
    if (a == "--fine") {
      fine = true;
    } else if (a == "--normal") {
      fine = false;
    } else if (a.substr(0, 8) == "--cover=") {
      coverPath = std::string(a.substr(8));
    } else if (a.substr(0, 10) == "--pattern=") {
      patterns.emplace_back(a.substr(10));
    } else if (a.substr(0, 12) == "--redact-to=") {
      redactTo = std::string(a.substr(12));
    } else if (a.substr(0, 15) == "--sandbox-user=") {
      gPolicy.user = std::string(a.substr(15));
    } else if (a == "--allow-unsandboxed") {
      gPolicy.allowUnsandboxed = true;
    } else if (a.substr(0, 10) == "--workdir=") {
      gPolicy.workDir = std::string(a.substr(10));
    } else if (number(a, "--parent-pid=", &parentPid)) {
      gPolicy.parentPid = static_cast<long>(parentPid);
    } else if (!number(a, "--max-pages=", &maxPages) && !number(a, "--max-output=", &maxOutput) &&
               !number(a, "--memory=", &memory) && !number(a, "--cpu=", &cpu) &&
               !number(a, "--stall-ms=", &stallMs)) {
      return fail("conversion_failed", "vfax-convert: unknown option " + std::string(a));
    }
  }
  if (i >= argc) return fail("conversion_failed", "vfax-convert: no command given");
  const std::string command = argv[i++];

  // Limits before any untrusted byte is read. ASan reserves terabytes of shadow memory, so the
  // address-space limit only applies to normal builds; MuPDF's own heap cap works in both.
  if (!kAsan) limit(RLIMIT_AS, static_cast<rlim_t>(memory));
  limit(RLIMIT_CPU, static_cast<rlim_t>(cpu));
  limit(RLIMIT_FSIZE, static_cast<rlim_t>(maxOutput + (1u << 20)));
  limit(RLIMIT_CORE, 0);
  // Descriptors and processes: LibreOffice needs a few hundred of each (threads count), MuPDF
  // next to none; a fork bomb stops here (the count is the sandbox user's, all jobs together).
  limit(RLIMIT_NOFILE, 1024);
  limit(RLIMIT_NPROC, 2048);
  if (stallMs > 0) ::usleep(static_cast<useconds_t>(stallMs * 1000));
  if (command == "check") {
    if (!gPolicy.workDir.empty())
      return fail("conversion_failed", "vfax-convert check: takes no --workdir");
    vfax::documents::SandboxState sandbox;
    if (std::string why; !enter(&sandbox, &why)) return sandboxFailure(why);
    vfax::documents::leaveSandbox(sandbox);
    std::printf("sandbox=%s\n", sandbox.describe().c_str());
    return 0;
  }
  if (command == "exec") {
    if (i >= argc) return fail("conversion_failed", "vfax-convert exec: no program given");
    if (gPolicy.workDir.empty() || gPolicy.workDir[0] != '/') {
      return fail("conversion_failed", "vfax-convert exec: --workdir=/ABSOLUTE/DIR is needed");
    }
    vfax::documents::SandboxState sandbox;
    if (std::string why; !enter(&sandbox, &why)) {
      const int rc = sandboxFailure(why);
      std::fflush(stderr);
      ::_exit(rc);  // as below
    }
    const int status = vfax::documents::runSandboxed(argv + i, sandbox);
    if (status < 0) {
      return fail("missing_converter", std::string("The program ") + argv[i] + " cannot be run.");
    }
    if (WIFSIGNALED(status)) {
      // The parent tells a CPU limit (SIGXCPU) from a crash by our own end: the same signal.
      std::fflush(stdout);
      std::signal(WTERMSIG(status), SIG_DFL);
      ::raise(WTERMSIG(status));
      return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    if (code == 127) {
      code = fail("missing_converter", std::string("The program ") + argv[i] + " cannot be run.");
    }
    // No exit handlers: LeakSanitizer's check would start its helper in the PID namespace,
    // whose init has ended (no process can start there any more), and fail.
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);
  }
  if (!gPolicy.workDir.empty()) return fail("conversion_failed", "--workdir is for exec only");

  if (command == "fields" || command == "redact" || command == "pages") {
    return printFields(command, argc, argv, i,
                       static_cast<int>(std::min<unsigned long long>(maxPages, 10000)), patterns,
                       redactTo);
  }

  RenderOptions options;
  options.fine = fine;
  options.maxPages = static_cast<int>(std::min<unsigned long long>(maxPages, 10000));
  options.memoryLimit = static_cast<std::size_t>(memory / 4 * 3);
  FaxRenderer renderer(options);

  if (command == "probe") {
    if (i + 1 != argc) return fail("conversion_failed", "vfax-convert probe: one file expected");
    MappedFile file;
    if (!file.open(argv[i])) return fail("corrupt_file", "The file cannot be read.");
    vfax::documents::SandboxState sandbox;
    if (std::string why; !enter(&sandbox, &why)) return sandboxFailure(why);
    auto added = renderer.add(file.bytes());
    vfax::documents::leaveSandbox(sandbox);
    if (!added && added.error().code != "too_many_pages") return fail(added.error());
    std::printf("type=%s pages=%d\n", vfax::documents::typeName(renderer.lastType()),
                renderer.lastSourcePages());
    return 0;
  }
  if (command != "tofax" || i + 2 > argc) {
    return fail("conversion_failed", "vfax-convert: usage: tofax OUT.tif IN...");
  }
  const std::string out = absolutePath(argv[i++]);
  std::vector<MappedFile> files(static_cast<std::size_t>(argc - i));
  for (std::size_t f = 0; i < argc; ++i, ++f) {
    if (!files[f].open(argv[i])) return fail("corrupt_file", "A file cannot be read.");
    if (files[f].size == 0) return fail("empty_file", "The file is empty.");
  }
  std::string tmpl;
  if (!coverPath.empty()) {
    std::ifstream in(coverPath, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    tmpl = ss.str();
    if (!in || tmpl.empty()) return fail("conversion_failed", "The cover page cannot be read.");
  }
  const int outFd = ::open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (outFd < 0) return fail("conversion_failed", "Cannot create " + out + ".");
  vfax::documents::SandboxState sandbox;
  if (std::string why; !enter(&sandbox, &why)) {
    ::close(outFd);
    return sandboxFailure(why);
  }
  struct Leave {
    const vfax::documents::SandboxState& s;
    ~Leave() { vfax::documents::leaveSandbox(s); }
  } leave{sandbox};
  for (const MappedFile& file : files) {
    auto added = renderer.add(file.bytes());
    if (!added) return fail(added.error());
  }
  // The cover goes first and tells the total, its own pages included (normally one).
  std::string coverHtml;
  RenderOptions coverOptions = options;
  coverOptions.memoryLimit = 64u << 20;
  std::unique_ptr<FaxRenderer> cover;
  if (!tmpl.empty()) {
    int coverPages = 1;
    for (int attempt = 0; attempt < 2; ++attempt) {
      coverHtml = fillPages(tmpl, renderer.pageCount() + coverPages);
      cover = std::make_unique<FaxRenderer>(coverOptions);
      auto added = cover->add(
          std::span(reinterpret_cast<const std::uint8_t*>(coverHtml.data()), coverHtml.size()));
      if (!added) return fail("conversion_failed", "The cover page: " + added.error().message);
      if (cover->pageCount() == coverPages) break;
      coverPages = cover->pageCount();
    }
  }
  const int coverPages = cover ? cover->pageCount() : 0;
  const int total = coverPages + renderer.pageCount();
  if (static_cast<unsigned long long>(total) > maxPages) {
    return fail("too_many_pages",
                "The fax would have more than " + std::to_string(maxPages) + " pages.");
  }
  FaxTiffWriter writer;
  if (auto r = writer.openFd(outFd, out, total); !r) {
    ::close(outFd);
    return fail(r.error());
  }
  for (int p = 0; p < total; ++p) {
    auto page = p < coverPages ? cover->render(p) : renderer.render(p - coverPages);
    if (!page) {
      ::unlink(out.c_str());
      return fail(page.error());
    }
    auto r = writer.addPage(*page);
    if (r && writer.bytesWritten() > maxOutput) {
      r = vfax::core::makeError("conversion_failed", "The fax would be larger than " +
                                                         std::to_string(maxOutput >> 20) + " MB.");
    }
    if (!r) {
      ::unlink(out.c_str());
      return fail(r.error());
    }
  }
  if (auto r = writer.close(); !r) {
    ::unlink(out.c_str());
    return fail(r.error());
  }
  std::printf("pages=%d\n", total);
  return 0;
}
