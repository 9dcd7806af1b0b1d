package shapes

import (
	"fmt"

	"sort"
	"strings"
	"time"

	"github.com/reckonhq/reckon/results"
)

// Expectation is what reckon must make of a shape, once its last long
// pause is over: every results record, and the live counters.
type Expectation struct {
	// Windows are the windows that closed, by key.
	Windows map[WindowKey]Window
	// Open are windows that hold events but must not have closed.
	Open map[WindowKey]bool
	// Watermark is the group watermark after the last long pause, and
	// Settled the one after each segment's (Unset before any event).
	Watermark int64
	Settled   []int64
	// Counters per model name.
	Counters map[string]*Counters
	// DeadLetters counts records that are not JSON.
	DeadLetters uint64
	// Segments holds, with Options.SegmentMax, each closed window's
	// figures per value of c ("" for a prediction without c), before the
	// max_values rule (Check applies it).
	Segments   map[WindowKey]map[string]*SegmentWindow
	segmentMax int
}

// SegmentWindow is one value's figures in a window.
type SegmentWindow struct {
	Predictions, Errors, Outcomes uint64
	TP, FP, TN, FN                uint64
	// PredPos and PredNeg count the ok predictions by predicted class:
	// with every score 0.5 and no calibration, the estimate's expected
	// confusion is half of each.
	PredPos, PredNeg uint64
}

func (s *SegmentWindow) add(o *SegmentWindow) {
	s.Predictions += o.Predictions
	s.Errors += o.Errors
	s.Outcomes += o.Outcomes
	s.TP += o.TP
	s.FP += o.FP
	s.TN += o.TN
	s.FN += o.FN
	s.PredPos += o.PredPos
	s.PredNeg += o.PredNeg
}

// WindowKey identifies a window of a model.
type WindowKey struct {
	Model  string
	Window string // the length as written in the configuration
	Start  time.Time
}

func (k WindowKey) String() string {
	return fmt.Sprintf("%s/%s@%s", k.Model, k.Window, k.Start.UTC().Format(time.RFC3339))
}

// Window is what the results record of a window must say.
type Window struct {
	Predictions, Errors, Outcomes uint64
	TP, FP, TN, FN                uint64
	// X and C are the features' present and missing counts.
	XCount, XMissing, CCount, CMissing uint64
}

// Counters are a model's live counters.
type Counters struct {
	PredictionsOK, PredictionsError     uint64
	Late                                uint64
	Joined, DuplicateOutcomes, Orphaned uint64
	Expired, DuplicatePredictions       uint64
	TP, FP, TN, FN                      uint64
}

// idState is the join's state of one (model, id), as the rules define it.
type idState struct {
	predTime, outTime int64
	hasPred, hasOut   bool
	predicted, label  bool
	c                 string // the prediction's segment value
}

// Model applies docs/semantics.md to the shape, record by record in production
// order, segment by segment: the group watermark is the one that settled in
// the last long pause (Generate keeps every event clear of the range it can
// reach within a segment); after each long pause it is the highest event
// time read so far minus the allowed lateness, never going back.
func Model(sh *Shape) *Expectation {
	o := sh.Options
	lateness := o.Lateness.Milliseconds()
	ttl := o.LabelTTL.Milliseconds()
	ex := &Expectation{Windows: map[WindowKey]Window{}, Open: map[WindowKey]bool{}, Counters: map[string]*Counters{},
		Segments: map[WindowKey]map[string]*SegmentWindow{}, segmentMax: o.SegmentMax}
	segs := map[WindowKey]map[string]*SegmentWindow{}
	addSeg := func(model int, ms int64, value string, f func(s *SegmentWindow)) {
		if o.SegmentMax == 0 {
			return
		}
		for _, l := range o.Windows {
			lm := l.Milliseconds()
			start := ms - ((ms%lm)+lm)%lm
			k := WindowKey{Model: o.Models[model], Window: durationText(l), Start: time.UnixMilli(start).UTC()}
			if segs[k] == nil {
				segs[k] = map[string]*SegmentWindow{}
			}
			s := segs[k][value]
			if s == nil {
				s = new(SegmentWindow)
				segs[k][value] = s
			}
			f(s)
		}
	}
	for _, m := range o.Models {
		ex.Counters[m] = new(Counters)
	}
	wins := map[WindowKey]*Window{}
	addTo := func(model int, ms int64, f func(w *Window)) {
		for _, l := range o.Windows {
			lm := l.Milliseconds()
			start := ms - ((ms%lm)+lm)%lm
			k := WindowKey{Model: o.Models[model], Window: durationText(l), Start: time.UnixMilli(start).UTC()}
			w := wins[k]
			if w == nil {
				w = new(Window)
				wins[k] = w
			}
			f(w)
		}
	}
	ids := map[string]*idState{}
	wm := int64(minInt64)
	maxSeen := int64(minInt64)
	for _, seg := range sh.Segments {
		for _, b := range seg.Bursts {
			for _, r := range b.Records {
				e := r.ev
				if e.bad {
					ex.DeadLetters++
					continue
				}
				c := ex.Counters[o.Models[e.model]]
				maxSeen = max(maxSeen, e.timeMs)
				late := e.timeMs < wm
				if late {
					c.Late++
				}
				key := fmt.Sprintf("%d/%s", e.model, e.id)
				st := ids[key]
				if st == nil {
					st = new(idState)
					ids[key] = st
				}
				if r.Topic == Predictions {
					if e.errorPred {
						c.PredictionsError++
					} else {
						c.PredictionsOK++
						switch {
						case st.hasPred:
							c.DuplicatePredictions++
						default:
							st.hasPred, st.predTime, st.predicted, st.c = true, e.timeMs, e.predicted, e.c
							if st.hasOut {
								join(c, st, addTo, addSeg, e.model, wm)
							}
						}
					}
					if !late {
						addTo(e.model, e.timeMs, func(w *Window) {
							w.Predictions++
							if e.errorPred {
								w.Errors++
								return
							}
							if e.x != nil {
								w.XCount++
							} else {
								w.XMissing++
							}
							w.CCount++
						})
						addSeg(e.model, e.timeMs, e.c, func(s *SegmentWindow) {
							s.Predictions++
							switch {
							case e.errorPred:
								s.Errors++
							case e.predicted:
								s.PredPos++
							default:
								s.PredNeg++
							}
						})
					}
					continue
				}
				if !late {
					addTo(e.model, e.timeMs, func(w *Window) { w.Outcomes++ })
				}
				switch {
				case st.hasOut:
					c.DuplicateOutcomes++
				default:
					st.hasOut, st.outTime, st.label = true, e.timeMs, e.label
					if st.hasPred {
						join(c, st, addTo, addSeg, e.model, wm)
					}
				}
			}
		}
		// The long pause: every partition idle, the watermark settles.
		if maxSeen != minInt64 {
			wm = max(wm, maxSeen-lateness)
		}
		ex.Settled = append(ex.Settled, wm)
	}
	ex.Watermark = wm
	// Retirements: what label_ttl passed by the end.
	for key, st := range ids {
		model := key[:strings.IndexByte(key, '/')]
		c := ex.Counters[o.Models[atoi(model)]]
		switch {
		case st.hasPred && !st.hasOut && st.predTime+ttl <= wm:
			c.Expired++
		case st.hasOut && !st.hasPred && st.outTime+ttl <= wm:
			c.Orphaned++
		}
	}
	for k, w := range wins {
		l := lengthOf(o, k.Window)
		if k.Start.UnixMilli()+l <= wm {
			ex.Windows[k] = *w
			if o.SegmentMax > 0 {
				ex.Segments[k] = segs[k]
			}
		} else {
			ex.Open[k] = true
		}
	}
	return ex
}

// join counts a joined pair, in the window of its outcome time unless that
// is older than the watermark when the pair is made.
func join(c *Counters, st *idState, addTo func(int, int64, func(*Window)), addSeg func(int, int64, string, func(*SegmentWindow)), model int, wm int64) {
	c.Joined++
	cell := func(w *Window) {}
	var segCell func(s *SegmentWindow)
	switch {
	case st.predicted && st.label:
		c.TP++
		cell = func(w *Window) { w.TP++ }
		segCell = func(s *SegmentWindow) { s.TP++ }
	case st.predicted:
		c.FP++
		cell = func(w *Window) { w.FP++ }
		segCell = func(s *SegmentWindow) { s.FP++ }
	case st.label:
		c.FN++
		cell = func(w *Window) { w.FN++ }
		segCell = func(s *SegmentWindow) { s.FN++ }
	default:
		c.TN++
		cell = func(w *Window) { w.TN++ }
		segCell = func(s *SegmentWindow) { s.TN++ }
	}
	if st.outTime >= wm {
		addTo(model, st.outTime, cell)
		addSeg(model, st.outTime, st.c, func(s *SegmentWindow) { s.Outcomes++; segCell(s) })
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func lengthOf(o Options, text string) int64 {
	for _, l := range o.Windows {
		if durationText(l) == text {
			return l.Milliseconds()
		}
	}
	panic("unknown window " + text)
}

// Keys are the expectation's closed windows, sorted.
func (ex *Expectation) Keys() []WindowKey {
	var ks []WindowKey
	for k := range ex.Windows {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].String() < ks[j].String() })
	return ks
}

// Check says how published results and counters differ from ex: every
// window published exactly once with the expected counts, no other window
// published, every counter and the dead letters as expected.
func Check(ex *Expectation, got map[WindowKey][]*results.Record, counts map[string]*Counters, dead uint64) error {
	for _, k := range ex.Keys() {
		want := ex.Windows[k]
		recs := got[k]
		if len(recs) != 1 {
			return fmt.Errorf("window %v published %d times, want once (%+v)", k, len(recs), want)
		}
		r := recs[0]
		have := Window{Predictions: r.Predictions, Errors: r.Errors, Outcomes: r.Outcomes,
			TP: r.Confusion.TP, FP: r.Confusion.FP, TN: r.Confusion.TN, FN: r.Confusion.FN,
			XCount: r.Features["x"].Count, XMissing: r.Features["x"].Missing,
			CCount: r.Features["c"].Count, CMissing: r.Features["c"].Missing}
		if have != want {
			return fmt.Errorf("window %v:\n got %+v\nwant %+v", k, have, want)
		}
		if ex.segmentMax > 0 {
			if err := checkSegments(ex.segmentMax, ex.Segments[k], r); err != nil {
				return fmt.Errorf("window %v: segments: %w", k, err)
			}
		}
	}
	for k, recs := range got {
		if _, ok := ex.Windows[k]; !ok {
			return fmt.Errorf("window %v published %d times, want never (open: %v)", k, len(recs), ex.Open[k])
		}
	}
	for m, want := range ex.Counters {
		if have := counts[m]; *have != *want {
			return fmt.Errorf("counters of model %s:\n got %+v\nwant %+v", m, *have, *want)
		}
	}
	if dead != ex.DeadLetters {
		return fmt.Errorf("%d dead letters, want %d", dead, ex.DeadLetters)
	}
	return nil
}
