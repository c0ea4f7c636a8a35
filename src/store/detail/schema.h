#pragma once
// The schema, as an ordered list of migration steps. PRAGMA user_version records the last step
// applied; open() applies the missing ones in one transaction.
#include "core/result.h"
#include "store/detail/sqlite_db.h"

namespace vfax::store::detail {

/// The schema version this code writes (the number of migration steps).
int latestSchemaVersion();

/// Marks the file as vfax's (PRAGMA application_id), so another program's SQLite file is refused.
inline constexpr std::int64_t kApplicationId = 0x76666178;  // "vfax"

/// Brings the database to latestSchemaVersion(). Refuses a database from a newer vfax, and a
/// SQLite file that belongs to another program.
core::Result<void> migrate(Db& db);

}  // namespace vfax::store::detail
