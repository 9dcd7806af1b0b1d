package bench

import (
	"fmt"
	"runtime"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/simulate"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/join"
)

// JoinMemory is the heap held by the delayed-label join after the run's
// records, replayed in-process into one join.Store per partition with the
// watermark advancing every 10,000 records as allowed lateness behind the
// newest event time (label_ttl 15m of the bench configuration).
type JoinMemory struct {
	Pending int `json:"pending"` // predictions waiting for a label
	// Held is every id held: pending, waiting outcomes, and decided ids kept
	// until their deadline to recognise duplicates.
	Held            int     `json:"held"`
	HeapBytes       uint64  `json:"heap_bytes"`
	BytesPerPending float64 `json:"bytes_per_pending"`
	BytesPerHeld    float64 `json:"bytes_per_held"`
}

type nopSink struct{}

func (nopSink) Joined(join.Joined)             {}
func (nopSink) DuplicatePrediction(uint16)     {}
func (nopSink) DuplicateOutcome(uint16)        {}
func (nopSink) Expired(uint16, int64)          {}
func (nopSink) Orphaned(model uint16, _ int64) {}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func measureJoin(o Options) (JoinMemory, error) {
	cfg, err := simulate.Config(o.Traffic, false)
	if err != nil {
		return JoinMemory{}, err
	}
	type ev struct {
		key     uint64
		t       int64
		model   uint16
		outcome bool
	}
	evs := make([]ev, o.Events)
	g := simulate.New(o.Traffic)
	var rec simulate.Record
	for i := range evs {
		g.Next(&rec)
		evs[i] = ev{join.KeyOf(uint16(rec.Model), rec.Key), rec.TimeMs, uint16(rec.Model), rec.Topic == simulate.Outcomes}
	}
	g = nil
	lateness := cfg.AllowedLateness.Milliseconds()

	h0 := heapAlloc()
	stores := make([]*join.Store, o.Partitions)
	for i := range stores {
		stores[i] = join.New(cfg.LabelTTL)
	}
	var sink nopSink
	var newest int64
	for i, e := range evs {
		s := stores[e.key%uint64(len(stores))]
		if e.outcome {
			s.AddOutcome(join.Outcome{Key: e.key, Model: e.model, TimeMs: e.t, Label: i%2 == 0}, sink)
		} else {
			s.AddPrediction(join.Prediction{Key: e.key, Model: e.model, TimeMs: e.t, Score: 0.5}, sink)
		}
		newest = max(newest, e.t)
		if i%10_000 == 9_999 {
			for _, s := range stores {
				s.Advance(newest-lateness, sink)
			}
		}
	}
	h1 := heapAlloc()
	jm := JoinMemory{}
	for _, s := range stores {
		jm.Pending += s.Pending()
		jm.Held += s.Len()
	}
	runtime.KeepAlive(stores)
	runtime.KeepAlive(evs)
	if h1 > h0 {
		jm.HeapBytes = h1 - h0
	}
	if jm.Pending > 0 {
		jm.BytesPerPending = float64(jm.HeapBytes) / float64(jm.Pending)
	}
	if jm.Held > 0 {
		jm.BytesPerHeld = float64(jm.HeapBytes) / float64(jm.Held)
	}
	return jm, nil
}

// SketchSizes are the MarshalBinary sizes of the sketches (package sketch)
// of one model's features over its first whole window of the shortest
// length (5m), all partitions merged: what a checkpoint or a partial sent to
// the results topic carries per feature and window.
type SketchSizes struct {
	Window      string        `json:"window"`
	Predictions int           `json:"predictions"` // ok predictions of the model in the window
	Features    []FeatureSize `json:"features"`
	// Mean encoded bytes per numeric and per categorical feature sketch.
	NumericMean     float64 `json:"numeric_mean_bytes"`
	CategoricalMean float64 `json:"categorical_mean_bytes"`
}

// FeatureSize is the encoded size of one feature's sketch.
type FeatureSize struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Bytes int    `json:"bytes"`
}

func measureSketches(o Options) (SketchSizes, error) {
	cfg, err := simulate.Config(o.Traffic, false)
	if err != nil {
		return SketchSizes{}, err
	}
	schema := event.SchemaFromConfig(cfg)
	dec := event.NewDecoder(schema, 0)
	p := dec.NewPrediction()
	spec := schema.Model(0)
	nums := make([]*sketch.Numeric, len(spec.Features))
	cats := make([]*sketch.Categorical, len(spec.Features))
	for i, f := range spec.Features {
		if f.Kind == event.Numeric {
			nums[i] = sketch.NewNumeric(nil)
		} else {
			cats[i] = sketch.NewCategorical(0)
		}
	}
	win := cfg.Windows[0]
	end := o.Traffic.Start.UnixMilli() + win.Length.Milliseconds()
	g := simulate.New(o.Traffic)
	s := SketchSizes{Window: win.Text}
	var rec simulate.Record
	for n := 0; n < 100_000_000; n++ {
		g.Next(&rec)
		if rec.TimeMs >= end {
			break
		}
		if rec.Topic != simulate.Predictions || rec.Model != 0 {
			continue
		}
		if err := dec.DecodePrediction(rec.Value, p); err != nil {
			return s, fmt.Errorf("decoding a generated record: %w", err)
		}
		if p.Error {
			continue
		}
		s.Predictions++
		for i := range spec.Features {
			switch {
			case nums[i] != nil && p.Missing[i]:
				nums[i].AddMissing()
			case nums[i] != nil:
				nums[i].Add(p.Num[i])
			case p.Missing[i]:
				cats[i].AddMissing()
			default:
				cats[i].Add(p.Cat[i])
			}
		}
	}
	var nn, nc, sn, sc int
	for i, f := range spec.Features {
		var b []byte
		var err error
		kind := "numeric"
		if nums[i] != nil {
			b, err = nums[i].MarshalBinary()
			nn++
			sn += len(b)
		} else {
			kind = "categorical"
			b, err = cats[i].MarshalBinary()
			nc++
			sc += len(b)
		}
		if err != nil {
			return s, fmt.Errorf("encoding the sketch of %s: %w", f.Name, err)
		}
		s.Features = append(s.Features, FeatureSize{Name: f.Name, Kind: kind, Bytes: len(b)})
	}
	if nn > 0 {
		s.NumericMean = float64(sn) / float64(nn)
	}
	if nc > 0 {
		s.CategoricalMean = float64(sc) / float64(nc)
	}
	return s, nil
}
