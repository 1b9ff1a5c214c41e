// Package replicatest runs several `dialogbot serve` processes against one
// Postgres database, one Slack and one DialogTech, and checks what running
// replicas promises: each approved request calls DialogTech once, each
// alert episode posts once, one replica reads usage per tick and another
// takes over when it dies. It has tests only; they need a Postgres server
// (DIALOGBOT_TEST_POSTGRES_URL) and are skipped without one.
package replicatest
