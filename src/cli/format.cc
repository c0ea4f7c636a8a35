#include "cli/format.h"

#include <algorithm>
#include <ostream>

namespace vfax::cli {

void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << s << '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
}

std::string cell(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (!v.is_string()) return v.dump();
  std::string s = v.get<std::string>();
  if (s.empty()) return "-";
  // Text from outside (a remote TSI, a username typed at a login) never reaches the terminal
  // as control characters.
  for (auto& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

std::string shortTime(const nlohmann::json& v) {
  if (!v.is_string()) return "-";
  std::string s = v.get<std::string>();
  if (s.size() >= 19 && s[10] == 'T') return s.substr(0, 10) + " " + s.substr(11, 8) + "Z";
  return s;
}

}  // namespace vfax::cli
