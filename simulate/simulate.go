// Package simulate generates the traffic of a fraud model in production:
// prediction records at a steady rate and, later, outcome records for most
// of them, with data drift and a concept change injected at a known
// simulated time. `reckon demo` feeds it to the embedded Kafka, `reckon
// simulate` to a real one. Simulated time runs Speed times faster than the
// wall clock so that hours of traffic tell their story in a minute.
//
// Before the drift, scores are calibrated: a prediction with score s is
// positive with probability s. At DriftAt, amounts grow (×1.8), traffic
// from a new country appears, and fraud rises in ways the model does not
// see, so labelled performance degrades.
package simulate

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Sink receives records. consumer.Producer is one.
type Sink interface {
	Send(ctx context.Context, topic string, key, value []byte)
}

// Options shape the traffic. Zero values take the defaults noted.
type Options struct {
	Model            string        // default "fraud"
	PredictionsTopic string        // default "predictions"
	OutcomesTopic    string        // default "outcomes"
	Rate             float64       // predictions per wall-clock second, default 500
	Speed            float64       // simulated seconds per wall second, default 120
	Start            time.Time     // simulated start, default 24h before now, on the hour
	DriftAt          time.Duration // simulated time after Start when drift begins, default 30m
	ErrorRate        float64       // share of predictions with status error, default 0.01
	LabelRate        float64       // share of ok predictions that get an outcome, default 0.9
	LabelDelay       time.Duration // mean simulated label delay (exponential), default 10m
	Seed             uint64
}

func (o *Options) defaults() {
	if o.Model == "" {
		o.Model = "fraud"
	}
	if o.PredictionsTopic == "" {
		o.PredictionsTopic = "predictions"
	}
	if o.OutcomesTopic == "" {
		o.OutcomesTopic = "outcomes"
	}
	if o.Rate == 0 {
		o.Rate = 500
	}
	if o.Speed == 0 {
		o.Speed = 120
	}
	if o.Start.IsZero() {
		o.Start = time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	}
	if o.DriftAt == 0 {
		o.DriftAt = 30 * time.Minute
	}
	if o.ErrorRate == 0 {
		o.ErrorRate = 0.01
	}
	if o.LabelRate == 0 {
		o.LabelRate = 0.9
	}
	if o.LabelDelay == 0 {
		o.LabelDelay = 10 * time.Minute
	}
}

// Generator produces the records; it is deterministic for a seed and a
// sequence of simulated times.
type Generator struct {
	o       Options
	rng     *rand.Rand
	n       uint64
	pending outcomeHeap
}

// NewGenerator returns a generator for o.
func NewGenerator(o Options) *Generator {
	o.defaults()
	return &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5eed))}
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.o }

// DriftTime is the simulated time at which drift begins.
func (g *Generator) DriftTime() time.Time { return g.o.Start.Add(g.o.DriftAt) }

var countries = []string{"DE", "FR", "US", "GB", "NL"}

// Prediction emits one prediction at simulated time t, scheduling its
// outcome, and returns its key and value.
func (g *Generator) Prediction(t time.Time) (key, value []byte) {
	g.n++
	id := "p-" + strconv.FormatUint(g.o.Seed, 36) + "-" + strconv.FormatUint(g.n, 36)
	drifted := !t.Before(g.DriftTime())
	r := g.rng

	amount := math.Exp(4 + r.NormFloat64())
	age := math.Round(min(max(40+12*r.NormFloat64(), 18), 95))
	country := countries[r.IntN(len(countries))]
	isNew := r.Float64() < 0.2
	if drifted {
		amount *= 1.8
		if r.Float64() < 0.3 {
			country = "BR"
		}
	}
	// The model's belief: a logistic score of what it was trained on.
	z := -2.2 + 0.9*(math.Log(amount)-4) + 1.2*b2f(isNew) - 0.02*(age-40)
	score := 1 / (1 + math.Exp(-z))
	// The truth: calibrated before the drift; after it, fraud from the new
	// country that the model does not know about.
	p := score
	if drifted && country == "BR" {
		p = min(1, score+0.25)
	}

	b := make([]byte, 0, 256) // not reused: producers keep records until acknowledged
	b = append(b, `{"prediction_id":"`...)
	b = append(b, id...)
	b = append(b, `","model":"`...)
	b = append(b, g.o.Model...)
	b = append(b, `","model_version":"v12","timestamp":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	latency := math.Exp(2.4 + 0.5*r.NormFloat64())
	if r.Float64() < g.o.ErrorRate {
		b = append(b, `,"status":"error","error":"timeout","latency_ms":`...)
		b = strconv.AppendFloat(b, latency*8, 'f', 2, 64)
		b = append(b, '}')
		return []byte(id), b
	}
	b = append(b, `,"features":{"amount":`...)
	b = strconv.AppendFloat(b, amount, 'f', 2, 64)
	b = append(b, `,"age":`...)
	b = strconv.AppendFloat(b, age, 'f', 0, 64)
	b = append(b, `,"country":"`...)
	b = append(b, country...)
	b = append(b, `","is_new":`...)
	b = strconv.AppendBool(b, isNew)
	b = append(b, `},"score":`...)
	b = strconv.AppendFloat(b, score, 'f', 5, 64)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, latency, 'f', 2, 64)
	b = append(b, `,"status":"ok"}`...)

	if r.Float64() < g.o.LabelRate {
		delay := time.Duration(r.ExpFloat64() * float64(g.o.LabelDelay))
		heap.Push(&g.pending, pendingOutcome{due: t.Add(delay), id: id, label: r.Float64() < p})
	}
	return []byte(id), b
}

// Outcomes emits every scheduled outcome due at or before t, through emit.
func (g *Generator) Outcomes(t time.Time, emit func(key, value []byte)) {
	for len(g.pending) > 0 && !g.pending[0].due.After(t) {
		o := heap.Pop(&g.pending).(pendingOutcome)
		b := make([]byte, 0, 256) // not reused: producers keep records until acknowledged
		b = append(b, `{"prediction_id":"`...)
		b = append(b, o.id...)
		b = append(b, `","model":"`...)
		b = append(b, g.o.Model...)
		b = append(b, `","timestamp":"`...)
		b = o.due.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, `","label":`...)
		b = strconv.AppendBool(b, o.label)
		b = append(b, '}')
		emit([]byte(o.id), b)
	}
}

// Run sends traffic to sink until ctx ends: predictions at Rate per wall
// second, their simulated times advancing at Speed, and outcomes as they
// fall due. It returns the number of records sent.
func Run(ctx context.Context, g *Generator, sink Sink) int64 {
	o := g.o
	wallStart := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var sent int64
	var emitted float64
	for {
		select {
		case <-ctx.Done():
			return sent
		case now := <-tick.C:
			elapsed := now.Sub(wallStart)
			due := elapsed.Seconds() * o.Rate
			simNow := o.Start.Add(time.Duration(float64(elapsed) * o.Speed))
			// Spread this tick's predictions evenly over its simulated span.
			n := int(due - emitted)
			prevSim := o.Start.Add(time.Duration(float64(elapsed-50*time.Millisecond) * o.Speed))
			for i := range n {
				t := prevSim.Add(time.Duration(float64(simNow.Sub(prevSim)) * float64(i+1) / float64(n)))
				k, v := g.Prediction(t)
				sink.Send(ctx, o.PredictionsTopic, k, v)
				sent++
			}
			emitted += float64(n)
			g.Outcomes(simNow, func(k, v []byte) {
				sink.Send(ctx, o.OutcomesTopic, k, v)
				sent++
			})
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type pendingOutcome struct {
	due   time.Time
	id    string
	label bool
}

type outcomeHeap []pendingOutcome

func (h outcomeHeap) Len() int           { return len(h) }
func (h outcomeHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h outcomeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *outcomeHeap) Push(x any)        { *h = append(*h, x.(pendingOutcome)) }
func (h *outcomeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
