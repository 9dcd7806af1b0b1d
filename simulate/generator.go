package simulate

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/reckonhq/reckon/config"
)

// Topic indexes of Record.Topic.
const (
	Predictions = 0
	Outcomes    = 1
)

// ProbeModel is the model of latency probes (see Generator.Probe); Config
// declares it, with the features of the first model, when asked to.
const ProbeModel = "probe"

// Record is one generated Kafka record.
type Record struct {
	Topic      int // Predictions or Outcomes
	Key, Value []byte
	TimeMs     int64 // event time
	Model      int   // index in Options.Models (a probe's is len(Options.Models))
}

// Generator produces the records of Options in event-time order: the
// predictions at Options.EventRate, each outcome when its event time comes.
// The records are a function of the options, the seed included. It is not
// safe for concurrent use.
type Generator struct {
	o       Options
	probe   Model
	rng     *rand.Rand
	n       uint64 // predictions generated
	startMs int64
	driftMs int64 // math.MaxInt64 without drift
	segMs   int64 // Drift.SegmentAt; math.MaxInt64 without
	stepNs  float64
	pending outcomeHeap
	idBuf   [idLen]byte
	emitted [2]uint64
	lastMs  int64
	// inSegment is set by appendValue when a value is Drift.Segment.
	inSegment bool
}

// New returns a generator; o must be valid (see Options.Validate). The
// generator keeps o's slices: do not change them while it runs.
func New(o Options) *Generator {
	if err := o.Validate(); err != nil {
		panic("simulate: " + err.Error())
	}
	g := &Generator{
		o:       o,
		rng:     rand.New(rand.NewPCG(o.Seed, 0xbe4c)),
		startMs: o.Start.UnixMilli(),
		driftMs: math.MaxInt64,
		segMs:   math.MaxInt64,
		stepNs:  1e9 / o.EventRate,
	}
	if o.Drift.At > 0 {
		g.driftMs = o.Start.Add(o.Drift.At).UnixMilli()
	}
	if o.Drift.Segment != "" {
		g.segMs = o.Start.Add(o.Drift.SegmentAt).UnixMilli()
	}
	g.probe = o.Models[0]
	g.probe.Name = ProbeModel
	return g
}

// Options returns the generator's options.
func (g *Generator) Options() Options { return g.o }

// Emitted returns the number of predictions and outcomes emitted so far
// (probes not included).
func (g *Generator) Emitted() (predictions, outcomes uint64) {
	return g.emitted[Predictions], g.emitted[Outcomes]
}

// Now is the event time of the last record emitted (ms).
func (g *Generator) Now() int64 { return g.lastMs }

// NextTime is the event time of the record Next will emit (ms).
func (g *Generator) NextTime() int64 {
	t := g.nextPrediction()
	if len(g.pending) > 0 {
		t = min(t, g.pending[0].due)
	}
	return t
}

func (g *Generator) nextPrediction() int64 {
	return g.startMs + int64(float64(g.n)*g.stepNs/1e6)
}

// Next fills r with the next record, reusing the capacity of r.Key and
// r.Value; it allocates nothing in steady state. Callers that hand records
// to a producer must give each a fresh Record, as producers keep them until
// acknowledged.
func (g *Generator) Next(r *Record) {
	next := g.nextPrediction()
	if len(g.pending) > 0 && g.pending[0].due <= next {
		g.outcome(r, g.pending.pop())
		return
	}
	m := g.rng.IntN(len(g.o.Models))
	g.prediction(r, next, m, &g.o.Models[m], "", true)
}

// Probe fills r with a prediction of ProbeModel, with the features of the
// first model, at the current event time and with model_version
// "p<seq>": each probe is its own series of reckon_predictions_total, so
// the moment it becomes visible can be told exactly. A probe is not an
// error, schedules no outcome and is not counted by Emitted.
func (g *Generator) Probe(r *Record, seq int) {
	g.prediction(r, max(g.lastMs, g.startMs), len(g.o.Models), &g.probe, "p"+strconv.Itoa(seq), false)
}

const idLen = 36

// newID draws a UUID-shaped id (8-4-4-4-12 hexadecimal digits).
func (g *Generator) newID() []byte {
	const hex = "0123456789abcdef"
	a, b := g.rng.Uint64(), g.rng.Uint64()
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

// prediction encodes a prediction of model (index mi) at event time ms. A
// counted one (not a probe) may be an error and may schedule an outcome.
// The order of the random draws is part of the traffic: changing it changes
// every record after the first.
func (g *Generator) prediction(r *Record, ms int64, mi int, model *Model, version string, counted bool) {
	rng := g.rng
	if counted {
		g.n++
		g.emitted[Predictions]++
	}
	g.lastMs = max(g.lastMs, ms)
	id := g.newID()
	if version == "" {
		version = Version
		if g.o.CanaryEvery > 0 && rng.IntN(g.o.CanaryEvery) == 0 {
			version = CanaryVersion
		}
	}
	drifted := ms >= g.driftMs
	r.Topic, r.TimeMs, r.Model = Predictions, ms, mi
	r.Key = append(r.Key[:0], id...)
	b := r.Value[:0]
	b = append(b, `{"prediction_id":"`...)
	b = append(b, id...)
	b = append(b, `","model":"`...)
	b = append(b, model.Name...)
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
	z := model.Bias
	novel := false
	g.inSegment = false
	for i := range model.Features {
		f := &model.Features[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.Name...)
		b = append(b, `":`...)
		if g.o.MissingRate > 0 && rng.Float64() < g.o.MissingRate {
			b = append(b, "null"...)
			continue
		}
		var signal float64
		var isNovel bool
		b, signal, isNovel = g.appendValue(b, f, drifted)
		novel = novel || isNovel
		if f.Weight != 0 {
			z += f.Weight * signal
		}
	}
	switch model.Kind {
	case config.KindRegression:
		g.regression(r, b, ms, mi, model, id, z, latency, counted, drifted && novel)
		return
	case config.KindMulticlass:
		g.multiclass(r, b, ms, mi, model, id, z-model.Bias, latency, counted, drifted && novel)
		return
	}
	if model.Noise != 0 {
		z += model.Noise * rng.NormFloat64()
	}
	score := 1 / (1 + math.Exp(-z))
	calibrated := score // what the labels follow
	if g.inSegment && ms >= g.segMs {
		score = 1 / (1 + math.Exp(-(z + g.o.Drift.SegmentShift)))
	}
	b = append(b, `},"score":`...)
	b = strconv.AppendFloat(b, score, 'f', 5, 64)
	b = append(b, `,"predicted":`...)
	if score >= model.Threshold {
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
		p := calibrated
		if drifted && novel {
			p = min(1, calibrated+g.o.Drift.Lift)
		}
		po := pendingOutcome{due: ms + delay, model: int32(mi), label: rng.Float64() < p}
		copy(po.id[:], id)
		g.pending.push(po)
	}
}

// regression ends a regression model's prediction (its value is z) and may
// schedule its outcome.
func (g *Generator) regression(r *Record, b []byte, ms int64, mi int, model *Model, id []byte, z, latency float64, counted, lifted bool) {
	rng := g.rng
	b = append(b, `},"value":`...)
	b = strconv.AppendFloat(b, math.Round(z*100)/100, 'f', -1, 64)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, latency, 'f', 2, 64)
	r.Value = append(b, `,"status":"ok"}`...)
	label := math.Round((z+model.Noise*rng.NormFloat64())*100) / 100
	if lifted {
		label += g.o.Drift.Lift * model.Scale
	}
	if counted {
		g.schedule(ms, mi, id, pendingOutcome{value: label})
	}
}

// multiclass ends a multiclass model's prediction (its signal sum is s)
// and may schedule its outcome.
func (g *Generator) multiclass(r *Record, b []byte, ms int64, mi int, model *Model, id []byte, s, latency float64, counted, lifted bool) {
	rng := g.rng
	k := len(model.Classes)
	var logits [16]float64
	ps := logits[:min(k, len(logits))]
	top, sum := 0, 0.0
	for c := range ps {
		l := s*(float64(c)-float64(k-1)/2)/float64(k) + model.Noise*rng.NormFloat64()
		if c == 0 {
			l += model.Bias
		}
		ps[c] = math.Exp(l)
		sum += ps[c]
	}
	for c := range ps {
		ps[c] /= sum
		if ps[c] > ps[top] {
			top = c
		}
	}
	b = append(b, `},"predicted":"`...)
	b = append(b, model.Classes[top]...)
	b = append(b, `","scores":{`...)
	for c := range ps {
		if c > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, model.Classes[c]...)
		b = append(b, `":`...)
		b = strconv.AppendFloat(b, ps[c], 'g', -1, 64)
	}
	b = append(b, `},"latency_ms":`...)
	b = strconv.AppendFloat(b, latency, 'f', 2, 64)
	r.Value = append(b, `,"status":"ok"}`...)
	u, label := rng.Float64(), k-1
	for c, p := range ps {
		if u < p {
			label = c
			break
		}
		u -= p
	}
	if lifted && rng.Float64() < g.o.Drift.Lift {
		label = k - 1
	}
	if counted {
		g.schedule(ms, mi, id, pendingOutcome{class: int32(label)})
	}
}

// schedule schedules po, an outcome of the prediction id of model mi at
// ms, for a share LabelRate of the predictions.
func (g *Generator) schedule(ms int64, mi int, id []byte, po pendingOutcome) {
	rng := g.rng
	if rng.Float64() >= g.o.LabelRate {
		return
	}
	po.due = ms + int64(rng.ExpFloat64()*float64(g.o.LabelDelay.Milliseconds()))
	po.model = int32(mi)
	copy(po.id[:], id)
	g.pending.push(po)
}

// appendValue appends a value of f and returns its signal (see Kind) and
// whether it is a Novel category.
func (g *Generator) appendValue(b []byte, f *Feature, drifted bool) (_ []byte, signal float64, novel bool) {
	rng := g.rng
	switch f.Kind {
	case Amount:
		x := math.Exp(4 + rng.NormFloat64())
		if drifted {
			x *= g.o.Drift.AmountScale
		}
		if f.Weight != 0 {
			signal = math.Log(x) - 4
		}
		return strconv.AppendFloat(b, math.Round(x*100)/100, 'f', -1, 64), signal, false
	case Age:
		x := int64(min(max(40+12*rng.NormFloat64(), 18), 95))
		return strconv.AppendInt(b, x, 10), float64(x-40) / 12, false
	case Balance:
		x := math.Round((5000+3000*rng.NormFloat64())*100) / 100
		return strconv.AppendFloat(b, x, 'f', -1, 64), (x - 5000) / 3000, false
	case Tenure:
		x := int64(rng.ExpFloat64() * 700)
		return strconv.AppendInt(b, x, 10), float64(x)/700 - 1, false
	case Count:
		x := int64(rng.ExpFloat64() * 3)
		return strconv.AppendInt(b, x, 10), float64(x)/3 - 1, false
	case Ratio:
		x := math.Round(rng.Float64()*1e4) / 1e4
		return strconv.AppendFloat(b, x, 'f', -1, 64), 2*x - 1, false
	case Flag:
		x := rng.Float64() < 0.2
		if x {
			signal = 1
		}
		return strconv.AppendBool(b, x), signal, false
	default: // Category
		rate := g.o.NewCategoryRate
		if drifted {
			rate = g.o.Drift.NewCategoryRate
		}
		var v string
		if len(f.Novel) > 0 && rng.Float64() < rate {
			v, novel = f.Novel[rng.IntN(len(f.Novel))], true
		} else {
			v = f.Categories[rng.IntN(len(f.Categories))]
		}
		if v == g.o.Drift.Segment && g.o.Drift.Segment != "" {
			g.inSegment = true
		}
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"'), 0, novel
	}
}

func (g *Generator) outcome(r *Record, po pendingOutcome) {
	g.emitted[Outcomes]++
	g.lastMs = max(g.lastMs, po.due)
	r.Topic, r.TimeMs, r.Model = Outcomes, po.due, int(po.model)
	r.Key = append(r.Key[:0], po.id[:]...)
	b := r.Value[:0]
	b = append(b, `{"prediction_id":"`...)
	b = append(b, po.id[:]...)
	b = append(b, `","model":"`...)
	b = append(b, g.o.Models[po.model].Name...)
	b = append(b, `","timestamp":"`...)
	b = time.UnixMilli(po.due).UTC().AppendFormat(b, tsLayout)
	b = append(b, `","label":`...)
	switch m := &g.o.Models[po.model]; {
	case m.Kind == config.KindRegression:
		b = strconv.AppendFloat(b, po.value, 'f', -1, 64)
	case m.Kind == config.KindMulticlass:
		b = append(b, '"')
		b = append(b, m.Classes[po.class]...)
		b = append(b, '"')
	case po.label:
		b = append(b, '1')
	default:
		b = append(b, '0')
	}
	r.Value = append(b, '}')
}

// pendingOutcome is an outcome scheduled for event time due; the id is
// held inline so that scheduling one allocates nothing.
type pendingOutcome struct {
	due   int64
	id    [idLen]byte
	model int32
	label bool    // binary
	class int32   // multiclass
	value float64 // regression
}

func (a *pendingOutcome) less(b *pendingOutcome) bool {
	if a.due != b.due {
		return a.due < b.due
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// outcomeHeap is a binary min-heap by due time, then id (ids are unique,
// so the order of the outcomes is total and does not depend on the heap's
// algorithm).
type outcomeHeap []pendingOutcome

func (h *outcomeHeap) push(x pendingOutcome) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].less(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *outcomeHeap) pop() pendingOutcome {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && s[r].less(&s[l]) {
			c = r
		}
		if !s[c].less(&s[i]) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}
