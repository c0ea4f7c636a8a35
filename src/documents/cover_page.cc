#include "documents/cover_page.h"

#include <ctime>
#include <filesystem>
#include <system_error>

namespace vfax::documents {

namespace fs = std::filesystem;

void fillCoverPage(const core::Fax& fax, const std::string& sender, const std::string& language,
                   core::Millis now, const std::string& templatesDir, core::ConvertRequest* req) {
  req->cover = true;
  std::error_code ec;
  const fs::path templates(templatesDir);
  for (const fs::path& custom :
       {templates / ("cover-" + language + ".html"), templates / "cover.html"}) {
    if (fs::is_regular_file(custom, ec)) {
      req->coverTemplate = custom.string();
      break;
    }
  }
  // The reader's local time: the page is read where vfaxd runs.
  const auto seconds = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
  req->coverFields = {
      {"sender", sender},       {"sender_fax", fax.tsi},
      {"recipient", ""},        {"recipient_fax", fax.number.empty() ? fax.dialString : fax.number},
      {"date", date},           {"subject", fax.subject},
      {"comment", fax.comment}, {"language", language}};
}

}  // namespace vfax::documents
