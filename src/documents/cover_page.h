#pragma once
// The fields of a job's cover page (the HTML template itself is rendered by the converter).
#include <string>

#include "core/documents.h"
#include "core/model.h"

namespace vfax::documents {

/// Sets req->cover, the template (an admin's templatesDir/cover-LANG.html, else
/// templatesDir/cover.html, else none: the built-in one) and the fields the template's {{key}}
/// placeholders name. The page count is left to the converter, which alone knows it.
void fillCoverPage(const core::Fax& fax, const std::string& sender, const std::string& language,
                   core::Millis now, const std::string& templatesDir, core::ConvertRequest* req);

}  // namespace vfax::documents
