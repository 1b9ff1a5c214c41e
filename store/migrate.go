package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Each dialect has its own list: migrations/<dialect>/NNNN_name.sql, applied
// in version order, each exactly once. A file, once released, never
// changes; a schema change is a new file with the next number in both
// directories.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var list []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must start with a positive number and _", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(list, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(list); i++ {
		if list[i].version == list[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s in %s: one version twice", list[i-1].name, list[i].name, dir)
		}
	}
	return list, nil
}

// schemaMigrations creates the table of applied migrations in dialect's
// SQL; the two differ only in the time column's type.
func schemaMigrations(dialect string) string {
	switch dialect {
	case "sqlite":
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`
	case "postgres":
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`
	}
	return ""
}

// migrate applies the migrations that q's database lacks. The caller runs
// it in a transaction that excludes other migrators (BEGIN IMMEDIATE on
// SQLite, an advisory lock on Postgres), so processes that start together
// apply each migration once and none sees a half-migrated schema. Versions
// the database has and this program does not know (a newer release ran)
// are left alone.
func (s *sqlStore) migrate(ctx context.Context, q querier, dialect string) error {
	list, err := migrations(dialect)
	if err != nil {
		return err
	}
	if _, err := q.exec(ctx, schemaMigrations(dialect)); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	err = each(ctx, q, func(sc scanner) error {
		var v int
		err := sc.Scan(&v)
		applied[v] = true
		return err
	}, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range list {
		if applied[m.version] {
			continue
		}
		if _, err := q.exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := q.exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, s.at(now())); err != nil {
			return fmt.Errorf("migration %s: record: %w", m.name, err)
		}
	}
	return nil
}

// migrationVersions lists the versions the program knows, for tests.
func migrationVersions(dialect string) ([]int, error) {
	list, err := migrations(dialect)
	if err != nil {
		return nil, err
	}
	var vs []int
	for _, m := range list {
		vs = append(vs, m.version)
	}
	return vs, nil
}
