//go:build !race

package app_test

const raceEnabled = false

// loadSize is TestLoad's burst: 10,000 without the race detector.
const loadSize = 10000
