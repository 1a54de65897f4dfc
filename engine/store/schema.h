#pragma once
// The store's schema and its forward migrations, keyed by PRAGMA user_version.
#include "store/database.h"

namespace plab {

// Brings the file to kStoreSchemaVersion: each migration from version n to n + 1 runs
// in its own transaction, so a crash leaves the file at a whole version. Throws
// StoreError when the file's version is newer than this program knows.
// A read-only database is only checked (it must already be at the current version
// or at 0 and empty, which reads as "no runs").
// targetVersion exists for the migration tests, which build files of older versions.
int migrateSchema(Database& db, int targetVersion = kStoreSchemaVersion);

// The version stored in the file.
int schemaVersion(Database& db);

}  // namespace plab
