package store

// Exported for the tests in store_test.
var MigrationVersions = migrationVersions

const MigrationLock = migrationLock
