// libFuzzer target for the document intake: type detection and rendering, exactly as the
// vfax-convert child does it, but in-process so that sanitizers see every fault.
#include <cstddef>
#include <cstdint>
#include <span>

#include "documents/render.h"
#include "documents/sniff.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  if (vfax::documents::detectType(input) == vfax::documents::DocType::kUnknown) return 0;
  vfax::documents::RenderOptions options;
  options.maxPages = 4;
  options.memoryLimit = 256u << 20;  // below libFuzzer's -rss_limit_mb default of 2 GB
  vfax::documents::FaxRenderer renderer(options);
  if (!renderer.add(input)) return 0;
  for (int i = 0; i < renderer.pageCount() && i < 2; ++i) (void)renderer.render(i);
  return 0;
}
