//go:build race

package app_test

// raceEnabled: the race detector slows everything several times over, so
// the load test's figures are not the product's.
const raceEnabled = true
