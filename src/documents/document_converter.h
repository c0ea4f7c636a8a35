#pragma once
// core::Documents for vfaxd: untrusted inputs are opened and rendered in the vfax-convert child
// process under resource limits; the fax-to-PDF direction (our own TIFFs) runs in-process.
#include <chrono>
#include <cstdint>
#include <string>

#include "core/documents.h"

namespace vfax::documents {

struct ConverterOptions {
  /// Path of the vfax-convert program (see DocumentConverter::defaultConverterPath()).
  std::string converterPath;
  std::chrono::milliseconds timeout{120'000};      // wall clock per conversion, then SIGKILL
  std::chrono::milliseconds probeTimeout{20'000};  // for sniff()
  int cpuSeconds = 120;                            // RLIMIT_CPU of the child
  std::uint64_t memoryBytes = 1024ull << 20;       // RLIMIT_AS of the child (not under ASan)
  int maxPages = 200;                              // fax pages per job
  std::uint64_t maxOutputBytes = 64ull << 20;      // size of the fax TIFF
  int previewWidth = 600;                          // px, for faxToPdf's PNG
  /// Fault injection for tests: the child sleeps this long before it starts working.
  int debugStallMs = 0;
};

class DocumentConverter : public core::Documents {
 public:
  explicit DocumentConverter(ConverterOptions options);

  /// vfax-convert next to the running executable (/proc/self/exe's folder).
  static std::string defaultConverterPath();

  core::Result<std::string> sniff(const std::string& path) override;
  core::Result<int> toFax(const core::ConvertRequest& req) override;
  core::Result<int> faxToPdf(const std::string& tiff, const std::string& pdf,
                             const std::string& previewPng) override;

 private:
  ConverterOptions options_;
};

}  // namespace vfax::documents
