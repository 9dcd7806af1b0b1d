//go:build race

package sketch

// raceEnabled: the race detector makes the single-goroutine accuracy and
// memory tests ten times slower and proves nothing about them; they scale
// down (see the tests that read it).
const raceEnabled = true
