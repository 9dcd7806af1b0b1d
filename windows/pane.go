package windows

import (
	"slices"
	"time"

	"github.com/reckonhq/reckon/windows/perf"
)

// Partial is what one partition knows about one model in one pane: the
// mergeable unit that is combined, across panes and partitions, into a
// window's result. Merging partials in any order gives the same result.
type Partial struct {
	Model      int
	Start, End int64 // the pane [Start, End)

	Predictions uint64 // prediction events by prediction time, ok and error
	Errors      uint64 // those with status "error"
	Outcomes    uint64 // valid outcome events by outcome time

	// Perf holds the outcomes joined in the pane, by outcome time.
	Perf perf.Window
	// Estimate holds the ok predictions' calibrated scores, by prediction
	// time: the confusion matrix expected before labels arrive.
	Estimate perf.Estimate
}

// merge adds o's counts into p; bounds and model are the caller's concern.
func (p *Partial) merge(o *Partial) {
	p.Predictions += o.Predictions
	p.Errors += o.Errors
	p.Outcomes += o.Outcomes
	p.Perf.Merge(&o.Perf)
	p.Estimate.Merge(&o.Estimate)
}

func (p *Partial) reset(model int, start, end int64) {
	p.Model, p.Start, p.End = model, start, end
	p.Predictions, p.Errors, p.Outcomes = 0, 0, 0
	p.Perf.Reset()
	p.Estimate.Reset()
}

// Panes are one partition worker's open panes, per model. The pane length
// divides every configured window length, so each window is a union of
// whole panes. Panes recycles partials to keep the hot path allocation-free.
type Panes struct {
	length int64
	open   [][]*Partial // per model, sorted by Start
	free   []*Partial
}

// NewPanes returns an empty set of panes of the given length for models
// models.
func NewPanes(length time.Duration, models int) *Panes {
	return &Panes{length: length.Milliseconds(), open: make([][]*Partial, models)}
}

// Start is the start of the pane containing ms (epoch-aligned).
func (ps *Panes) Start(ms int64) int64 { return floorTo(ms, ps.length) }

// Get returns the partial of model's pane that contains ms, opening it if
// needed. The caller must have checked ms against the watermark: a pane
// older than the watermark is never reopened.
func (ps *Panes) Get(model int, ms int64) *Partial {
	start := floorTo(ms, ps.length)
	open := ps.open[model]
	// Events arrive nearly in time order, so the newest pane is the usual
	// hit; search from the end.
	for i := len(open) - 1; i >= 0; i-- {
		switch p := open[i]; {
		case p.Start == start:
			return p
		case p.Start < start:
			return ps.insert(model, i+1, start)
		}
	}
	return ps.insert(model, 0, start)
}

func (ps *Panes) insert(model, at int, start int64) *Partial {
	var p *Partial
	if n := len(ps.free); n > 0 {
		p, ps.free = ps.free[n-1], ps.free[:n-1]
	} else {
		p = new(Partial)
	}
	p.reset(model, start, start+ps.length)
	ps.open[model] = slices.Insert(ps.open[model], at, p)
	return p
}

// Harvest moves every pane that ends at or before watermark to dst and
// returns it. The caller hands them back with Release once merged.
func (ps *Panes) Harvest(watermark int64, dst []*Partial) []*Partial {
	for m, open := range ps.open {
		n := 0
		for n < len(open) && open[n].End <= watermark {
			n++
		}
		if n == 0 {
			continue
		}
		dst = append(dst, open[:n]...)
		clear(open[:n])
		ps.open[m] = append(open[:0], open[n:]...)
	}
	return dst
}

// Release returns harvested partials for reuse.
func (ps *Panes) Release(parts []*Partial) { ps.free = append(ps.free, parts...) }

// Len is the number of open panes over all models.
func (ps *Panes) Len() int {
	n := 0
	for _, o := range ps.open {
		n += len(o)
	}
	return n
}

// floorTo rounds ms down to a multiple of length, also for negative ms.
func floorTo(ms, length int64) int64 {
	r := ms % length
	if r < 0 {
		r += length
	}
	return ms - r
}
