// documents_bench: PDF to fax pages per second and G4 bytes per page, vfax (in-process renderer,
// and the full path through the vfax-convert child) next to `gs -sDEVICE=tiffg4 -r204x196
// -g1728x2292` on the same files in the same run. Medians of kRuns runs.
//
//   documents_bench [--runs N] [--pages N]
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "documents/document_converter.h"
#include "documents/fax_tiff.h"
#include "documents/render.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace docs = vfax::documents;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint64_t fileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// A page of body text: 62 lines of 10 pt Times, like a letter or a contract.
std::string textPostScript(int pages) {
  std::string ps = "%!PS\n/Times-Roman findfont 10 scalefont setfont\n";
  for (int p = 0; p < pages; ++p) {
    for (int line = 0; line < 62; ++line) {
      ps += "56 " + std::to_string(780 - line * 12) + " moveto (Line " + std::to_string(line + 1) +
            ": The quick brown fox jumps over the lazy dog; 0123456789 fax test text.) show\n";
    }
    ps += "showpage\n";
  }
  return ps;
}

// A page that is mostly a continuous-tone picture (a procedural 600x450 grey image).
std::string photoPostScript(int pages) {
  std::string ps = "%!PS\n";
  for (int p = 0; p < pages; ++p) {
    ps +=
        "gsave 40 200 translate 515 560 scale /yy 0 def\n"
        "600 450 8 [600 0 0 -450 0 450]\n"
        "{ /buf 600 string def 0 1 599 { /x exch def buf x\n"
        "  x 1.7 mul " +
        std::to_string(p * 40) +
        " add sin yy 2.3 mul cos mul 1 add 127 mul\n"
        "  x yy add 7 mul sin 20 mul add cvi 0 max 255 min put } for /yy yy 1 add def buf }\n"
        "image grestore\n/Helvetica findfont 24 scalefont setfont 56 790 moveto (Photo page) show\n"
        "showpage\n";
  }
  return ps;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double timeIt(const std::function<bool()>& f) {
  const auto t0 = Clock::now();
  if (!f()) {
    std::fprintf(stderr, "documents_bench: a run failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool renderInProcess(const std::string& pdf, const std::string& out, int* pages) {
  const std::string data = slurp(pdf);
  docs::RenderOptions options;
  options.maxPages = 10000;
  docs::FaxRenderer renderer(options);
  if (!renderer.add(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size())))
    return false;
  docs::FaxTiffWriter writer;
  if (!writer.open(out, renderer.pageCount())) return false;
  for (int i = 0; i < renderer.pageCount(); ++i) {
    auto page = renderer.render(i);
    if (!page || !writer.addPage(*page)) return false;
  }
  *pages = renderer.pageCount();
  return static_cast<bool>(writer.close());
}

struct Row {
  std::string what;
  double seconds = 0;
  int pages = 0;
  std::uint64_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, pages = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
    if (std::string(argv[i]) == "--pages") pages = std::max(1, std::atoi(argv[i + 1]));
  }
  char tmpl[] = "/tmp/vfax-bench-docs-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  docs::ConverterOptions converterOptions;
  converterOptions.maxPages = 10000;
  docs::DocumentConverter converter(converterOptions);

  std::printf("%-6s %-22s %10s %12s %10s %10s\n", "doc", "converter", "pages/s", "G4 B/page",
              "speed/gs", "size/gs");
  for (const auto& [name, ps] :
       {std::pair{"text", textPostScript(pages)}, {"photo", photoPostScript(pages)}}) {
    const std::string psPath = dir + "/" + name + ".ps", pdf = dir + "/" + name + ".pdf";
    std::ofstream(psPath) << ps;
    const std::string mk =
        "gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sPAPERSIZE=letter -sOutputFile=" + pdf +
        " " + psPath;
    if (std::system(mk.c_str()) != 0) return 1;

    std::vector<Row> rows;
    auto measure = [&](const std::string& what, const std::string& out,
                       const std::function<bool(int*)>& f) {
      std::vector<double> t;
      int n = 0;
      for (int r = 0; r < runs; ++r) t.push_back(timeIt([&] { return f(&n); }));
      rows.push_back({what, median(t), n, fileSize(out)});
    };
    const std::string gsOut = dir + "/gs.tif", inOut = dir + "/inproc.tif",
                      childOut = dir + "/child.tif";
    measure("gs tiffg4", gsOut, [&](int* n) {
      const std::string cmd =
          "gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=tiffg4 -r204x196 -g1728x2292 -sOutputFile=" +
          gsOut + " " + pdf;
      *n = pages;
      return std::system(cmd.c_str()) == 0;
    });
    measure("vfax in-process", inOut, [&](int* n) { return renderInProcess(pdf, inOut, n); });
    measure("vfax via vfax-convert", childOut, [&](int* n) {
      auto r = converter.toFax(vfax::core::ConvertRequest{.inputs = {pdf}, .outputTiff = childOut});
      if (r) *n = *r;
      return static_cast<bool>(r);
    });
    const double gsRate = rows[0].pages / rows[0].seconds;
    const double gsBytes = static_cast<double>(rows[0].bytes) / std::max(1, rows[0].pages);
    for (const Row& r : rows) {
      const double rate = r.pages / r.seconds;
      const double perPage = static_cast<double>(r.bytes) / std::max(1, r.pages);
      std::printf("%-6s %-22s %10.1f %12.0f %9.2fx %9.2fx\n", name, r.what.c_str(), rate, perPage,
                  rate / gsRate, perPage / gsBytes);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
