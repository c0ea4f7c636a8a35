#include "api/errors.h"

#include <array>
#include <utility>

namespace vfax::api {

namespace {

// Sorted by status, then code. Validation of what the client sent is 400 throughout, including
// `unknown_device` (a field naming a device that does not exist: the request is wrong, the URL
// is not); 404 is kept for the resource in the URL. A refusal by policy of a well-formed request
// (`destination_not_allowed`) is 422, so that clients can tell it from a typo (400) and from a
// missing right (403).
constexpr std::array<std::pair<std::string_view, int>, 42> kStatus{{
    {"bad_pattern", 400},
    {"bad_request", 400},
    {"conversion_failed", 400},
    {"corrupt_file", 400},
    {"empty_file", 400},
    {"encrypted_pdf", 400},
    {"image_too_large", 400},
    {"invalid_device", 400},
    {"invalid_json", 400},
    {"invalid_number", 400},
    {"invalid_query", 400},
    {"invalid_request", 400},
    {"invalid_setting", 400},
    {"invalid_tsi", 400},
    {"no_file", 400},
    {"too_many_fields", 400},
    {"too_many_pages", 400},
    {"unknown_device", 400},
    {"unknown_field", 400},
    {"unknown_setting", 400},
    {"unauthorized", 401},
    {"forbidden", 403},
    {"not_found", 404},
    {"unknown_route", 404},
    {"method_not_allowed", 405},
    {"conflict", 409},
    {"not_ready", 409},
    {"length_required", 411},
    {"payload_too_large", 413},
    {"too_many_files", 413},
    // This installation lacks the program for the file's type (LibreOffice, Ghostscript): like
    // an unsupported type, the file cannot be taken here as it is, so 415, not a 5xx.
    {"missing_converter", 415},
    {"unsupported_media_type", 415},
    {"unsupported_type", 415},
    // The request is well formed, but the destination policy refuses the number.
    {"destination_not_allowed", 422},
    // A print job without a fax number where print_to_fax_mode is `fields`: a refusal by policy.
    {"no_number", 422},
    {"too_many_requests", 429},
    {"internal", 500},
    {"storage_error", 500},
    // Documents are refused where the converter's sandbox cannot be set up (no Landlock):
    // the server's state, not the file's fault.
    {"sandbox_unavailable", 503},
    {"too_many_streams", 503},
    {"unavailable", 503},
    {"timeout", 504},
}};

int knownStatus(std::string_view code) {
  for (const auto& [c, status] : kStatus) {
    if (c == code) return status;
  }
  return 0;
}

}  // namespace

int httpStatusFor(std::string_view code) {
  const int status = knownStatus(code);
  return status == 0 ? 500 : status;
}

nlohmann::json errorJson(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

HttpError toHttpError(const core::Error& e) {
  const int status = httpStatusFor(e.code);
  if (status >= 500) {
    const std::string code = knownStatus(e.code) != 0 ? e.code : "internal";
    return {status,
            errorJson(code, "the server could not complete the request; the error is in its log")};
  }
  return {status, errorJson(e.code, e.message)};
}

}  // namespace vfax::api
