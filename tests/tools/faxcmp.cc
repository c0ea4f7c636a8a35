// faxcmp: compares a sent and a received fax TIFF page by page, or lists a TIFF's pages.
//
//   faxcmp SENT.tif RECEIVED.tif [--skip-top-rows N]
//   faxcmp --pages FILE.tif
//
// The receiver's copy of each page starts with the header line the sender's spandsp prepends,
// so received rows are matched against sent rows at the offset that aligns them best (or N).
// A page's match is the share of sent rows found identical in the received page; exit 0 when
// every page matches at least 99.5 %, 1 otherwise, 2 on usage or read errors.
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "documents/fax_tiff.h"

namespace {

using vfax::documents::FaxPage;

constexpr double kPassPercent = 99.5;
// Header bands are a few dozen rows; searching further would only find false alignments.
constexpr int kMaxHeaderRows = 400;

std::vector<std::size_t> rowHashes(const FaxPage& p) {
  std::vector<std::size_t> h(static_cast<std::size_t>(p.rows));
  for (int y = 0; y < p.rows; ++y) {
    h[static_cast<std::size_t>(y)] = std::hash<std::string_view>{}(std::string_view(
        reinterpret_cast<const char*>(p.row(y)), static_cast<std::size_t>(p.stride())));
  }
  return h;
}

int matchingRows(const FaxPage& sent, const FaxPage& recv, int offset) {
  int same = 0;
  for (int y = 0; y < sent.rows && y + offset < recv.rows; ++y) {
    if (std::memcmp(sent.row(y), recv.row(y + offset), static_cast<std::size_t>(sent.stride())) ==
        0)
      ++same;
  }
  return same;
}

int bestOffset(const FaxPage& sent, const FaxPage& recv) {
  const auto hs = rowHashes(sent), hr = rowHashes(recv);
  int best = 0, bestScore = -1;
  const int maxOffset = std::min(kMaxHeaderRows, std::max(0, recv.rows - 1));
  for (int k = 0; k <= maxOffset; ++k) {
    int score = 0;
    for (int y = 0; y < sent.rows && y + k < recv.rows; ++y) {
      score += hs[static_cast<std::size_t>(y)] == hr[static_cast<std::size_t>(y + k)];
    }
    if (score > bestScore) {
      bestScore = score;
      best = k;
    }
  }
  return best;
}

int listPages(const std::string& path) {
  auto pages = vfax::documents::readFaxTiff(path);
  if (!pages) {
    std::fprintf(stderr, "faxcmp: %s\n", pages.error().message.c_str());
    return 2;
  }
  std::printf("pages %zu\n", pages->size());
  for (std::size_t i = 0; i < pages->size(); ++i) {
    const FaxPage& p = (*pages)[i];
    std::printf("page %zu: %dx%d %gx%g dpi\n", i + 1, p.width, p.rows, p.xDpi, p.yDpi);
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: faxcmp SENT.tif RECEIVED.tif [--skip-top-rows N]\n"
               "       faxcmp --pages FILE.tif\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  int skip = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pages") {
      if (i + 1 >= argc) return usage();
      return listPages(argv[i + 1]);
    }
    if (a == "--skip-top-rows") {
      if (i + 1 >= argc) return usage();
      const std::string_view v = argv[++i];
      if (std::from_chars(v.data(), v.data() + v.size(), skip).ec != std::errc() || skip < 0)
        return usage();
      continue;
    }
    files.push_back(a);
  }
  if (files.size() != 2) return usage();
  auto sent = vfax::documents::readFaxTiff(files[0]);
  auto recv = vfax::documents::readFaxTiff(files[1]);
  if (!sent || !recv) {
    std::fprintf(stderr, "faxcmp: %s\n", (!sent ? sent : recv).error().message.c_str());
    return 2;
  }
  bool pass = sent->size() == recv->size();
  std::printf("pages sent %zu received %zu%s\n", sent->size(), recv->size(),
              pass ? "" : "  MISMATCH");
  for (std::size_t i = 0; i < std::min(sent->size(), recv->size()); ++i) {
    const FaxPage& s = (*sent)[i];
    const FaxPage& r = (*recv)[i];
    double percent = 0;
    int offset = 0;
    if (s.width == r.width && s.rows > 0) {
      offset = skip >= 0 ? skip : bestOffset(s, r);
      percent = 100.0 * matchingRows(s, r, offset) / s.rows;
    }
    const bool ok = percent >= kPassPercent;
    pass = pass && ok;
    std::printf(
        "page %zu: %.2f%% of %d rows match (header %d rows, sent %dx%d, received %dx%d)%s\n", i + 1,
        percent, s.rows, offset, s.width, s.rows, r.width, r.rows, ok ? "" : "  FAIL");
  }
  return pass ? 0 : 1;
}
