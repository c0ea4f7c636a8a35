#pragma once
// Row helpers shared by the SqliteStore files: run a statement, read one or all rows.
#include <fmt/format.h>

#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/detail/sqlite_db.h"

namespace vfax::store::detail {

/// Collects every row of a SELECT through `read`.
template <typename T, typename Read>
core::Result<std::vector<T>> readAll(Db& db, Stmt& st, Read read, std::string_view doing) {
  std::vector<T> out;
  for (;;) {
    int rc = st.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db.error(rc, doing);
    core::Result<T> row = read(st);
    if (!row) return row.error();
    out.push_back(std::move(*row));
  }
}

/// Reads at most one row.
template <typename T, typename Read>
core::Result<std::optional<T>> readOne(Db& db, Stmt& st, Read read, std::string_view doing) {
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<T>();
  if (rc != SQLITE_ROW) return db.error(rc, doing);
  core::Result<T> row = read(st);
  if (!row) return row.error();
  return std::optional<T>(std::move(*row));
}

/// Runs a statement that returns no rows.
inline core::Result<void> run(Db& db, Stmt& st, std::string_view doing) {
  int rc = st.step();
  if (rc != SQLITE_DONE) return db.error(rc, doing);
  return {};
}

inline core::Error notFound(std::string_view what, std::int64_t id) {
  return core::makeError("not_found", fmt::format("There is no {} with id {}.", what, id));
}

}  // namespace vfax::store::detail
