#pragma once
// The versioned schema of the state database. `PRAGMA user_version` records how many migrations have run;
// each migration runs in its own transaction together with the version bump, so a crash leaves the
// database at a whole version.

#include <string>

#include "common/error.h"
#include "store/sqlite.h"

namespace cellblock::store {

// The schema version this binary writes (the number of migrations it knows).
int schema_version();

// Applies the missing migrations. A database newer than this binary is refused (kInternal): an older
// server must not write rows it does not understand.
Status migrate(Database& db);

// Database::open + migrate: what the server and the CLI use.
Result<Database> open_state_database(const std::string& path);

}  // namespace cellblock::store
