// Package gen generates the benchmark traffic of `reckon bench` and of the
// hot-path benchmarks: predictions of M models with N declared features each,
// and outcomes for a share of them, in event-time order, deterministic for a
// seed. Unlike package simulate (one fraud model with four features, paced by
// the wall clock), it is built for volume: records are produced as fast as
// they are asked for, and Config returns the matching reckon configuration.
package gen

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/reckonhq/reckon/config"
)

// Topic indexes of Record.Topic.
const (
	Predictions = 0
	Outcomes    = 1
)

// ProbeModel is the model of latency probes (see Generator.Probe); Config
// declares it, with the same features as the others, when asked to.
const ProbeModel = "probe"

// Options shape the traffic. Start from Defaults.
type Options struct {
	Features    int           // declared features per model (60% numeric, 40% categorical)
	Models      int           // models, named model-0, model-1, …
	LabelRate   float64       // share of ok predictions that get an outcome
	ErrorRate   float64       // share of predictions with status "error"
	MissingRate float64       // share of feature values that are null
	EventRate   float64       // predictions per second of event time
	LabelDelay  time.Duration // mean outcome delay in event time (exponential)
	Start       time.Time     // event time of the first prediction
	Seed        uint64
}

// Defaults are 10 features, 3 models, outcomes for half of the predictions,
// 1% errors, 1% missing values, 200 predictions per second of event time
// (a 5m window holds 60,000), labels after a minute on average.
func Defaults() Options {
	return Options{
		Features:    10,
		Models:      3,
		LabelRate:   0.5,
		ErrorRate:   0.01,
		MissingRate: 0.01,
		EventRate:   200,
		LabelDelay:  time.Minute,
		Start:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Seed:        1,
	}
}

// Validate reports options that cannot generate traffic.
func (o Options) Validate() error {
	switch {
	case o.Features < 1:
		return fmt.Errorf("features must be at least 1, got %d", o.Features)
	case o.Models < 1:
		return fmt.Errorf("models must be at least 1, got %d", o.Models)
	case !(o.LabelRate >= 0 && o.LabelRate <= 1):
		return fmt.Errorf("label rate must be in [0,1], got %g", o.LabelRate)
	case !(o.ErrorRate >= 0 && o.ErrorRate <= 1):
		return fmt.Errorf("error rate must be in [0,1], got %g", o.ErrorRate)
	case !(o.MissingRate >= 0 && o.MissingRate <= 1):
		return fmt.Errorf("missing rate must be in [0,1], got %g", o.MissingRate)
	case !(o.EventRate > 0):
		return fmt.Errorf("event rate must be positive, got %g", o.EventRate)
	case o.LabelDelay < 0:
		return fmt.Errorf("label delay must not be negative, got %s", o.LabelDelay)
	}
	return nil
}

// Feature kinds, cycled through: numeric ones first (60%), then categorical.
var (
	numericKinds = []struct {
		name     string
		min, max string // YAML bounds, "" for none
	}{
		{"amount", "0", ""},
		{"age", "18", "120"},
		{"balance", "", ""},
		{"tenure_days", "0", ""},
		{"txn_count_24h", "0", ""},
		{"ratio", "0", "1"},
	}
	categoricalKinds = []string{"country", "channel", "device", "is_new"}

	countries = []string{"DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "AT", "BR", "IN"}
	declared  = countries[:10] // BR and IN are new categories (1% of the traffic)
	channels  = []string{"web", "app", "pos"}
	devices   = []string{"ios", "android", "web", "tv", "other"}
)

type feature struct {
	name       string
	numeric    bool
	kind       int // index into numericKinds or categoricalKinds
	categories []string
	min, max   string
}

func features(n int) []feature {
	cats := n * 4 / 10
	nums := n - cats
	fs := make([]feature, 0, n)
	for i := range nums {
		k := numericKinds[i%len(numericKinds)]
		fs = append(fs, feature{name: fmt.Sprintf("f%02d_%s", len(fs), k.name), numeric: true, kind: i % len(numericKinds), min: k.min, max: k.max})
	}
	for i := range cats {
		k := i % len(categoricalKinds)
		f := feature{name: fmt.Sprintf("f%02d_%s", len(fs), categoricalKinds[k]), kind: k}
		if k == 0 {
			f.categories = declared
		}
		fs = append(fs, f)
	}
	return fs
}

// ModelName is the name of model i.
func ModelName(i int) string { return "model-" + strconv.Itoa(i) }

// Config returns a reckon configuration for the traffic of o: windows 5m and
// 1h, allowed lateness 1m, label TTL 15m, no clock-skew guard (event times
// are in the past or the future of the wall clock, as the seed wants), every
// model with its features declared and the first 15 minutes of event time
// as its reference, and, when probe is set, the probe model.
// Brokers and topics are left at their defaults for the caller to set.
func Config(o Options, probe bool) (*config.Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("windows: [5m, 1h]\nallowed_lateness: 1m\nidle_timeout: 30s\nlabel_ttl: 15m\nmax_clock_skew: 0s\nmodels:\n")
	fs := features(o.Features)
	// The first 15 minutes of event time are every model's reference, so
	// that each closed window after them is compared with it (drift).
	ref := fmt.Sprintf("    reference: {from: %q, to: %q}\n",
		o.Start.UTC().Format(time.RFC3339), o.Start.Add(15*time.Minute).UTC().Format(time.RFC3339))
	writeModel := func(name string) {
		fmt.Fprintf(&b, "  - name: %s\n    threshold: 0.5\n%s    features:\n", name, ref)
		for _, f := range fs {
			typ := "categorical"
			if f.numeric {
				typ = "numeric"
			}
			fmt.Fprintf(&b, "      - {name: %s, type: %s", f.name, typ)
			if f.min != "" {
				fmt.Fprintf(&b, ", min: %s", f.min)
			}
			if f.max != "" {
				fmt.Fprintf(&b, ", max: %s", f.max)
			}
			if len(f.categories) > 0 {
				fmt.Fprintf(&b, ", categories: [%s]", strings.Join(f.categories, ", "))
			}
			b.WriteString("}\n")
		}
	}
	for i := range o.Models {
		writeModel(ModelName(i))
	}
	if probe {
		writeModel(ProbeModel)
	}
	return config.Parse("bench.yaml", []byte(b.String()))
}

// Record is one generated Kafka record.
type Record struct {
	Topic      int // Predictions or Outcomes
	Key, Value []byte
	TimeMs     int64 // event time
	Model      int   // model index (the probe model is index Models)
}

// Generator produces the records of Options in event-time order. It is not
// safe for concurrent use.
type Generator struct {
	o        Options
	fs       []feature
	rng      *rand.Rand
	n        uint64 // predictions generated
	startMs  int64
	stepNs   float64
	pending  outcomeHeap
	idBuf    [36]byte
	emitted  [2]uint64
	lastTime int64
}

// New returns a generator; o must be valid (see Options.Validate).
func New(o Options) *Generator {
	if err := o.Validate(); err != nil {
		panic("gen: " + err.Error())
	}
	return &Generator{
		o:       o,
		fs:      features(o.Features),
		rng:     rand.New(rand.NewPCG(o.Seed, 0xbe4c)),
		startMs: o.Start.UnixMilli(),
		stepNs:  1e9 / o.EventRate,
	}
}

// Options returns the generator's options.
func (g *Generator) Options() Options { return g.o }

// Emitted returns the number of predictions and outcomes emitted so far.
func (g *Generator) Emitted() (predictions, outcomes uint64) {
	return g.emitted[Predictions], g.emitted[Outcomes]
}

// Now is the event time of the last record emitted (ms).
func (g *Generator) Now() int64 { return g.lastTime }

// Next fills r with the next record, reusing the capacity of r.Key and
// r.Value. Callers that hand records to a producer must give each a fresh
// Record (or copy), as producers keep them until acknowledged.
func (g *Generator) Next(r *Record) {
	nextPred := g.startMs + int64(float64(g.n)*g.stepNs/1e6)
	if len(g.pending) > 0 && g.pending[0].due <= nextPred {
		po := heap.Pop(&g.pending).(pendingOutcome)
		g.outcome(r, po)
		return
	}
	g.prediction(r, nextPred, g.rng.IntN(g.o.Models), "", true)
}

// Probe fills r with a prediction of ProbeModel at the current event time,
// with model_version "p<seq>": each probe is its own series of
// reckon_predictions_total, so the moment it becomes visible can be told
// exactly. A probe schedules no outcome.
func (g *Generator) Probe(r *Record, seq int) {
	g.prediction(r, max(g.lastTime, g.startMs), g.o.Models, "p"+strconv.Itoa(seq), false)
}

func (g *Generator) newID() []byte {
	const hex = "0123456789abcdef"
	a, b := g.rng.Uint64(), g.rng.Uint64()
	// 8-4-4-4-12, UUID-shaped.
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			g.idBuf[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = a >> (60 - 4*i) & 0xf
		} else {
			nib = b >> (60 - 4*(i-16)) & 0xf
		}
		g.idBuf[j] = hex[nib]
		j++
	}
	return g.idBuf[:]
}

const tsLayout = "2006-01-02T15:04:05.000Z07:00"

func (g *Generator) prediction(r *Record, ms int64, model int, version string, counted bool) {
	rng := g.rng
	if counted {
		g.n++
		g.emitted[Predictions]++
	}
	g.lastTime = max(g.lastTime, ms)
	id := g.newID()
	name := ProbeModel
	if model < g.o.Models {
		name = ModelName(model)
	}
	if version == "" {
		version = "v12"
		if rng.IntN(10) == 0 {
			version = "v13" // a canary
		}
	}
	r.Topic, r.TimeMs, r.Model = Predictions, ms, model
	r.Key = append(r.Key[:0], id...)
	b := r.Value[:0]
	b = append(b, `{"prediction_id":"`...)
	b = append(b, id...)
	b = append(b, `","model":"`...)
	b = append(b, name...)
	b = append(b, `","model_version":"`...)
	b = append(b, version...)
	b = append(b, `","timestamp":"`...)
	b = time.UnixMilli(ms).UTC().AppendFormat(b, tsLayout)
	b = append(b, '"')
	latency := math.Exp(2.4 + 0.5*rng.NormFloat64())
	if counted && rng.Float64() < g.o.ErrorRate {
		b = append(b, `,"status":"error","error":"timeout","latency_ms":`...)
		b = strconv.AppendFloat(b, latency*8, 'f', 2, 64)
		r.Value = append(b, '}')
		return
	}
	b = append(b, `,"features":{`...)
	for i, f := range g.fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":`...)
		if rng.Float64() < g.o.MissingRate {
			b = append(b, "null"...)
			continue
		}
		if f.numeric {
			b = g.appendNumeric(b, f.kind)
		} else {
			b = g.appendCategorical(b, f.kind)
		}
	}
	z := -2 + 1.2*rng.NormFloat64()
	score := 1 / (1 + math.Exp(-z))
	predicted := score >= 0.5
	b = append(b, `},"score":`...)
	b = strconv.AppendFloat(b, score, 'f', 5, 64)
	b = append(b, `,"predicted":`...)
	if predicted {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, latency, 'f', 2, 64)
	b = append(b, `,"status":"ok"}`...)
	r.Value = b
	if counted && rng.Float64() < g.o.LabelRate {
		delay := int64(rng.ExpFloat64() * float64(g.o.LabelDelay.Milliseconds()))
		heap.Push(&g.pending, pendingOutcome{due: ms + delay, id: string(id), model: model, label: rng.Float64() < score})
	}
}

func (g *Generator) appendNumeric(b []byte, kind int) []byte {
	rng := g.rng
	switch kind {
	case 0: // amount
		return strconv.AppendFloat(b, math.Round(math.Exp(4+rng.NormFloat64())*100)/100, 'f', -1, 64)
	case 1: // age
		return strconv.AppendInt(b, int64(min(max(40+12*rng.NormFloat64(), 18), 95)), 10)
	case 2: // balance
		return strconv.AppendFloat(b, math.Round((5000+3000*rng.NormFloat64())*100)/100, 'f', -1, 64)
	case 3: // tenure_days
		return strconv.AppendInt(b, int64(rng.ExpFloat64()*700), 10)
	case 4: // txn_count_24h
		return strconv.AppendInt(b, int64(rng.ExpFloat64()*3), 10)
	default: // ratio
		return strconv.AppendFloat(b, math.Round(rng.Float64()*1e4)/1e4, 'f', -1, 64)
	}
}

func (g *Generator) appendCategorical(b []byte, kind int) []byte {
	rng := g.rng
	var v string
	switch kind {
	case 0:
		if rng.Float64() < 0.01 {
			v = countries[10+rng.IntN(2)]
		} else {
			v = countries[rng.IntN(10)]
		}
	case 1:
		v = channels[rng.IntN(len(channels))]
	case 2:
		v = devices[rng.IntN(len(devices))]
	default:
		return strconv.AppendBool(b, rng.Float64() < 0.2)
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

func (g *Generator) outcome(r *Record, po pendingOutcome) {
	g.emitted[Outcomes]++
	g.lastTime = max(g.lastTime, po.due)
	r.Topic, r.TimeMs, r.Model = Outcomes, po.due, po.model
	r.Key = append(r.Key[:0], po.id...)
	b := r.Value[:0]
	b = append(b, `{"prediction_id":"`...)
	b = append(b, po.id...)
	b = append(b, `","model":"`...)
	b = append(b, ModelName(po.model)...)
	b = append(b, `","timestamp":"`...)
	b = time.UnixMilli(po.due).UTC().AppendFormat(b, tsLayout)
	b = append(b, `","label":`...)
	if po.label {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	r.Value = append(b, '}')
}

type pendingOutcome struct {
	due   int64
	id    string
	model int
	label bool
}

type outcomeHeap []pendingOutcome

func (h outcomeHeap) Len() int { return len(h) }
func (h outcomeHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].id < h[j].id
}
func (h outcomeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *outcomeHeap) Push(x any)   { *h = append(*h, x.(pendingOutcome)) }
func (h *outcomeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
