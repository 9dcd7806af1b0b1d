package windows

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Result is one closed window of one model: the merge of every partial of
// every pane and partition inside [Start, End).
type Result struct {
	Window int // index into the configured window lengths
	*Partial
}

type windowKey struct {
	model, window int
	start         int64
}

// Aggregator merges harvested partials into the configured windows and
// closes them as the watermark passes their end. It is owned by one
// goroutine.
type Aggregator struct {
	layout  Layout
	lengths []int64 // window lengths, ascending
	open    map[windowKey]*Result
	// closedThrough is the watermark of the last Close: every window ending
	// at or before it has been emitted, so a partial for it is late.
	closedThrough int64
}

// NewAggregator returns an aggregator for the given window lengths.
func NewAggregator(lengths []time.Duration, layout Layout) *Aggregator {
	a := &Aggregator{layout: layout, open: make(map[windowKey]*Result), closedThrough: Unset}
	for _, l := range lengths {
		a.lengths = append(a.lengths, l.Milliseconds())
	}
	return a
}

// Add merges p into every window that contains its pane. It returns false,
// merging nothing, when one of those windows has already closed: the
// partial is late and the caller counts its events as such. An error means
// the sketches did not match, a bug rather than bad input.
func (a *Aggregator) Add(p *Partial) (bool, error) {
	for _, l := range a.lengths {
		if floorTo(p.Start, l)+l <= a.closedThrough {
			return false, nil
		}
	}
	for w, l := range a.lengths {
		k := windowKey{p.Model, w, floorTo(p.Start, l)}
		r := a.open[k]
		if r == nil {
			r = &Result{Window: w, Partial: a.layout.NewPartial(p.Model)}
			r.Partial.reset(p.Model, k.start, k.start+l)
			a.open[k] = r
		}
		if err := r.Partial.Merge(p); err != nil {
			return false, fmt.Errorf("merging pane %d of model %d: %w", p.Start, p.Model, err)
		}
	}
	return true, nil
}

// Close removes and returns every window that ends at or before watermark,
// ordered by end, then model, then window length, so output is
// deterministic.
func (a *Aggregator) Close(watermark int64, dst []*Result) []*Result {
	if watermark <= a.closedThrough {
		return dst
	}
	a.closedThrough = watermark
	n := len(dst)
	for k, r := range a.open {
		if r.End <= watermark {
			dst = append(dst, r)
			delete(a.open, k)
		}
	}
	slices.SortFunc(dst[n:], func(x, y *Result) int {
		return cmp.Or(cmp.Compare(x.End, y.End), cmp.Compare(x.Model, y.Model), cmp.Compare(x.Window, y.Window))
	})
	return dst
}

// Open is the number of windows not yet closed.
func (a *Aggregator) Open() int { return len(a.open) }
