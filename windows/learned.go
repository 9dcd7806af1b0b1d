package windows

import (
	"math"
	"slices"

	"github.com/reckonhq/reckon/sketch"
)

// Learned are a reference's own windows of one length, each compared with
// the whole reference: the values learned thresholds (threshold: learned)
// and the multivariate drift band are the mean ± k·SD of.
type Learned struct {
	Length int64   // window length, milliseconds
	Starts []int64 // each window's start, ascending
	// Features holds, per feature and method (every statistic that
	// applies, as Compare computes them), one value per window (NaN when
	// it could not be computed); Score the same for the score.
	Features []map[sketch.Method][]float64
	Score    map[sketch.Method][]float64
	// Multivariate is each window's mean reconstruction error (nil
	// without a multivariate model, NaN for a window without events).
	Multivariate []float64
}

// Learn compares each of windows (partials of ref's model, one per window
// of length, in any order) with ref, which must be complete: the values of
// ref's learned thresholds for that length. It sorts windows by start.
func Learn(ref *Reference, windows []*Partial, length int64) *Learned {
	slices.SortFunc(windows, ComparePanes)
	l := &Learned{Length: length, Features: make([]map[sketch.Method][]float64, len(ref.Features)), Score: map[sketch.Method][]float64{}}
	for i := range l.Features {
		l.Features[i] = map[sketch.Method][]float64{}
	}
	defaults := sketch.DefaultDriftParams()
	for _, w := range windows {
		l.Starts = append(l.Starts, w.Start)
		for i, f := range w.Features {
			var fd FeatureDrift
			if f.Num != nil {
				fd = numericDrift(ref.Features[i].Num, f.Num, ref.Edges[i], defaults)
			} else {
				fd = categoricalDrift(ref.Features[i].Cat, f.Cat, defaults)
			}
			for _, s := range fd.Stats {
				l.Features[i][s.Method] = append(l.Features[i][s.Method], s.Value)
			}
		}
		for _, s := range numericDrift(ref.Score, w.Score, ref.ScoreEdges, defaults).Stats {
			l.Score[s.Method] = append(l.Score[s.Method], s.Value)
		}
		if ref.PCA != nil {
			m, _ := w.MV.Mean()
			l.Multivariate = append(l.Multivariate, m)
		}
	}
	return l
}

// Windows is the number of reference windows learned from.
func (l *Learned) Windows() int { return len(l.Starts) }

// Bounds is a learned threshold: drift is a value below Lower or above
// Upper.
type Bounds struct {
	Method       sketch.Method
	Lower, Upper float64
}

// bounds returns the learned thresholds of every method in values, in
// methods' order, k standard deviations wide; methods without a band
// (fewer than two values) are left out.
func bounds(values map[sketch.Method][]float64, stats []Statistic, k float64) []Bounds {
	var out []Bounds
	for _, s := range stats {
		lo, hi, ok := sketch.BandOf(values[s.Method]).Bounds(k, 0)
		if ok {
			out = append(out, Bounds{Method: s.Method, Lower: lo, Upper: hi})
		}
	}
	return out
}

// learnedVerdict decides fd on its learned thresholds: the statistic of
// the method the test chose (z, which has no statistic of its own here,
// on chi2's) outside its bounds. ok is false without bounds or statistic.
func learnedVerdict(fd *FeatureDrift) {
	m := fd.Decision.Method
	if m == sketch.MethodZ {
		m = sketch.MethodChi2
	}
	i := slices.IndexFunc(fd.Bounds, func(b Bounds) bool { return b.Method == m })
	j := slices.IndexFunc(fd.Stats, func(s Statistic) bool { return s.Method == m })
	if i < 0 || j < 0 || math.IsNaN(fd.Stats[j].Value) {
		fd.OK = false
		return
	}
	fd.Learned = true
	fd.Decision.Drifted = sketch.Outside(fd.Stats[j].Value, fd.Bounds[i].Lower, fd.Bounds[i].Upper)
}
