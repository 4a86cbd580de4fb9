// The store's schema: checking a database before writing to it, and migrating it.
#pragma once

#include <cstdint>
#include <string>

#include "store/sqlite_db.h"

namespace spkid::store_detail {

// 'spkd' in PRAGMA application_id marks a database as an spkid store.
inline constexpr int32_t kApplicationId = 0x73706b64;

// Checks the database at `path` through a read-only connection, so that nothing is written to
// a file that turns out not to be ours. Returns its schema version (0: an empty database).
// Throws Error(kStore) for a file that is not SQLite, is damaged, belongs to another program,
// or was made by a newer spkid.
int inspect_database(const std::string& path);

// Switches the connection's database to write-ahead logging, so readers never block the writer.
void enable_write_ahead_log(Database& db);

// Applies the missing schema steps in order, each in its own IMMEDIATE transaction; a step
// another process applied meanwhile is skipped.
void migrate(Database& db);

}  // namespace spkid::store_detail
