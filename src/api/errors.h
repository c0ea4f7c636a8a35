#pragma once
// One place that decides the HTTP status of every domain error code, and the JSON error body.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace vfax::api {

/// The HTTP status for a core::Error code. Unknown codes are 500: a code this table does not know
/// is a code we never reviewed for leaking internals.
int httpStatusFor(std::string_view code);

/// The error as the client sees it. 5xx errors carry a generic message: the real one (paths,
/// SQLite text) goes to the log only.
struct HttpError {
  int status = 500;
  nlohmann::json body;
};
HttpError toHttpError(const core::Error& e);

/// `{"error": {"code": ..., "message": ...}}`.
nlohmann::json errorJson(std::string_view code, std::string_view message);

}  // namespace vfax::api
