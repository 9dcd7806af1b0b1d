package windows

import (
	"cmp"
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
	// open holds each open window's panes, merged only when it closes, in
	// ComparePanes order: the result does not depend on arrival order.
	open map[windowKey][]*Partial
	// closedThrough is the watermark of the last Close: every window ending
	// at or before it has been emitted, so a partial for it is late.
	closedThrough int64
	// free holds, per model, partials that no window or reference holds
	// any more, for DecodePartial to reuse.
	free [][]*Partial
}

// NewAggregator returns an aggregator for the given window lengths.
func NewAggregator(lengths []time.Duration, layout Layout) *Aggregator {
	a := &Aggregator{layout: layout, open: make(map[windowKey][]*Partial), closedThrough: Unset,
		free: make([][]*Partial, len(layout))}
	for _, l := range lengths {
		a.lengths = append(a.lengths, l.Milliseconds())
	}
	return a
}

// Add adds p, which the aggregator keeps (the caller must not reuse it),
// to every window that contains its pane. It returns false, adding
// nothing, when one of those windows has already closed: the partial is
// late and the caller counts its events as such.
func (a *Aggregator) Add(p *Partial) (bool, error) {
	for _, l := range a.lengths {
		if floorTo(p.Start, l)+l <= a.closedThrough {
			return false, nil
		}
	}
	for w, l := range a.lengths {
		k := windowKey{p.Model, w, floorTo(p.Start, l)}
		a.open[k] = append(a.open[k], p)
	}
	p.holders += len(a.lengths)
	return true, nil
}

// Close removes and returns every window that ends at or before watermark,
// ordered by end, then model, then window length, so output is
// deterministic. An error means the sketches did not match, a bug rather
// than bad input.
func (a *Aggregator) Close(watermark int64, dst []*Result) ([]*Result, error) {
	if watermark <= a.closedThrough {
		return dst, nil
	}
	a.closedThrough = watermark
	n := len(dst)
	for k, parts := range a.open {
		l := a.lengths[k.window]
		if k.start+l > watermark {
			continue
		}
		r := &Result{Window: k.window, Partial: a.layout.NewPartial(k.model)}
		r.Partial.reset(k.model, k.start, k.start+l)
		if err := mergeSorted(r.Partial, parts); err != nil {
			return dst, err
		}
		dst = append(dst, r)
		delete(a.open, k)
		for i, p := range parts {
			// A pane's last window has closed and no reference keeps it:
			// recycle it for the next DecodePartial.
			if p.holders--; p.holders == 0 {
				a.free[p.Model] = append(a.free[p.Model], p)
			}
			parts[i] = nil
		}
	}
	slices.SortFunc(dst[n:], func(x, y *Result) int {
		return cmp.Or(cmp.Compare(x.End, y.End), cmp.Compare(x.Model, y.Model), cmp.Compare(x.Window, y.Window))
	})
	return dst, nil
}

// Open is the number of windows not yet closed.
func (a *Aggregator) Open() int { return len(a.open) }
