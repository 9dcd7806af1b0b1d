package windows

import (
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows/perf"
)

// Counts are what a partition counted since the runtime last took them:
// the live figures of docs/metrics.md (golden signals, the join, data
// quality). The runtime applies them to the metrics once the work they
// describe is committed, and discards them when it is rolled back.
type Counts struct {
	Models []ModelCounts
}

// ModelCounts are one model's counts.
type ModelCounts struct {
	// Versions maps model_version to [ok, error] prediction counts.
	// Entries are kept across Reset (zeroed, not deleted) so that a known
	// version costs no allocation.
	Versions map[string]*[2]uint64
	// Latencies (seconds) and Scores are the values observed, for the
	// histograms.
	Latencies, Scores []float64
	// Late counts events older than the watermark when read.
	Late uint64
	// Violations counts schema violations: [0] of undeclared features,
	// [i+1] of feature i, by event.ViolationKind; the two after the
	// features' are the pseudo-features _predicted and _label of a
	// multiclass model (event.ModelSpec.PredictedFeature, LabelFeature).
	Violations [][event.NumViolationKinds]uint64

	// The join's decisions.
	Joined, DuplicateOutcomes, Orphaned, Expired, DuplicatePredictions uint64
	Confusion                                                          [perf.NumCells]uint64
	// LabelDelays are the joined pairs' outcome minus prediction times, in
	// seconds (never negative).
	LabelDelays []float64
}

// NewCounts returns empty counts for the models of layout.
func NewCounts(layout Layout) Counts {
	c := Counts{Models: make([]ModelCounts, len(layout))}
	for i := range c.Models {
		c.Models[i] = ModelCounts{
			Versions:   make(map[string]*[2]uint64),
			Violations: make([][event.NumViolationKinds]uint64, len(layout[i])+3),
		}
	}
	return c
}

// Reset zeroes the counts, keeping their memory.
func (c *Counts) Reset() {
	for i := range c.Models {
		m := &c.Models[i]
		for _, v := range m.Versions {
			*v = [2]uint64{}
		}
		m.Latencies, m.Scores, m.LabelDelays = m.Latencies[:0], m.Scores[:0], m.LabelDelays[:0]
		m.Late = 0
		clear(m.Violations)
		m.Joined, m.DuplicateOutcomes, m.Orphaned, m.Expired, m.DuplicatePredictions = 0, 0, 0, 0, 0
		m.Confusion = [perf.NumCells]uint64{}
	}
}
