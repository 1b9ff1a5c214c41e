//go:build race

package replicatest

// The replicas are built with the race detector when the tests are, so a
// data race in a replica fails the run (it exits with status 66).
const raceEnabled = true
