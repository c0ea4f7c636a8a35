#include "app/print_adapters.h"

#include <cstdlib>

#include "documents/print_fields.h"

namespace vfax::app {

core::Result<core::PrintScanResult> PrintDocumentsAdapter::scan(
    const std::string& job, const std::vector<std::string>& patterns,
    const std::string& redactedPdf) {
  documents::PrintScanOptions options;
  options.patterns = patterns;
  options.redactedPdf = redactedPdf;
  auto scanned = converter_.scanPrintFields(job, options);
  if (!scanned) return scanned.error();
  core::PrintScanResult out;
  out.pages = scanned->pages;
  out.hasText = scanned->hasText;
  out.faxable = scanned->redacted ? redactedPdf : std::string();
  out.warnings = scanned->warnings;
  for (const auto& f : scanned->fields) {
    if (!f.problem.empty()) out.problems.push_back("'" + f.text + "': " + f.problem);
  }
  for (const auto& p : documents::planPrintFaxes(scanned->fields, scanned->pages)) {
    core::PrintPlanItem item;
    item.firstPage = p.firstPage;
    item.lastPage = p.lastPage;
    item.number = p.number;
    item.tag = p.tag;
    item.notify = p.notify;
    item.priority = p.priority;
    item.letter = p.letter;
    out.plan.push_back(std::move(item));
  }
  return out;
}

core::Result<int> PrintDocumentsAdapter::extractPages(const std::string& in, const std::string& out,
                                                      int first, int last) {
  return converter_.extractPages(in, out, first, last);
}

core::Result<void> PrintDocumentsAdapter::checkPatterns(const std::vector<std::string>& patterns) {
  auto compiled = documents::compileFieldPatterns(patterns);
  if (!compiled) {
    return core::makeError("invalid_setting", "print_field_patterns: " + compiled.error().message);
  }
  return {};
}

api::PrintApiOptions printApiOptionsFromEnvironment() {
  api::PrintApiOptions o;
  if (const char* s = std::getenv("VFAX_PRINTER_SECRET")) o.secret = s;
  if (const char* d = std::getenv("VFAX_PRINT_ANONYMOUS_DEVICE")) o.anonymousDevice = d;
  if (const char* a = std::getenv("VFAX_PRINT_ANONYMOUS_ALLOW")) {
    o.anonymousAllow.clear();
    std::string list = a;
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto comma = list.find(',', start);
      std::string item =
          list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) o.anonymousAllow.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return o;
}

}  // namespace vfax::app
