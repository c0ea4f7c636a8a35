#pragma once
// Human-readable output: aligned tables and compact times.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfax::cli {

/// Prints rows under a header, columns padded to their widest cell.
void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

/// A JSON value as a table cell: strings unquoted, null as "-".
std::string cell(const nlohmann::json& v);

/// "2026-11-03T10:15:02.120Z" -> "2026-11-03 10:15:02Z"; null -> "-".
std::string shortTime(const nlohmann::json& v);

}  // namespace vfax::cli
