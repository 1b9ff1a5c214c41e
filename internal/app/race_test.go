//go:build race

package app_test

// raceEnabled: the race detector slows everything several times over, so
// the load test's figures are not the product's.
const raceEnabled = true

// loadSize is TestLoad's burst: under the race detector, which slows everything several times over, a tenth.
const loadSize = 1000
