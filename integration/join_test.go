package integration

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/results"
)

const joinConfig = `
kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s
  results_topic: %s
windows: [5m]
allowed_lateness: 1h
idle_timeout: 60s
label_ttl: 30m
max_clock_skew: 0s
models:
  - name: fraud
    threshold: 0.5
    cost: {false_positive: 1.5, false_negative: 10}
`

// TestJoinEndToEnd sends predictions and outcomes with labels arriving
// before their predictions, duplicated, orphaned and never, and checks the
// join's counters and every window's confusion counts and rates against a
// ground truth the test computes itself.
func TestJoinEndToEnd(t *testing.T) {
	group := uniqueName("join")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	resTopic := group + "-results"
	const parts = 3
	createTopics(t, parts, predTopic, outTopic)

	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 11))
	type pred struct {
		t         time.Time
		score     float64
		predicted bool
	}
	type outcome struct {
		t     time.Time
		label bool
	}
	preds := map[string]pred{}
	outs := map[string]outcome{}
	var early, late []*kgo.Record // outcomes sent before the predictions; everything else
	var dupPreds, dupOuts float64
	predRec := func(id string, p pred) *kgo.Record {
		return &kgo.Record{Topic: predTopic, Key: []byte(id), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"fraud","timestamp":%q,"score":%g}`, id, p.t.Format(time.RFC3339Nano), p.score)}
	}
	outRec := func(id string, o outcome) *kgo.Record {
		return &kgo.Record{Topic: outTopic, Key: []byte(id), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"fraud","timestamp":%d,"label":%t}`, id, o.t.UnixMilli(), o.label)}
	}
	for i := range 2000 {
		id := fmt.Sprintf("j-%05d", i)
		p := pred{t: t0.Add(time.Duration(i) * 300 * time.Millisecond), score: float64(rng.IntN(1000)) / 1000}
		p.predicted = p.score >= 0.5
		preds[id] = p
		late = append(late, predRec(id, p))
		if i%9 == 0 { // a duplicate prediction, with a different score: the first wins
			late = append(late, predRec(id, pred{t: p.t, score: 1 - p.score}))
			dupPreds++
		}
		switch {
		case i%10 == 0: // never labelled: expires
			continue
		}
		o := outcome{t: p.t.Add(time.Duration(1+rng.IntN(600)) * time.Second), label: rng.Float64() < p.score}
		outs[id] = o
		if i%4 == 0 {
			early = append(early, outRec(id, o)) // arrives before its prediction
		} else {
			late = append(late, outRec(id, o))
		}
		if i%7 == 0 { // a duplicate outcome with the opposite label: the first wins
			late = append(late, outRec(id, outcome{t: o.t, label: !o.label}))
			dupOuts++
		}
	}
	// Orphans: outcomes whose prediction never comes.
	for i := range 50 {
		id := fmt.Sprintf("orphan-%03d", i)
		late = append(late, outRec(id, outcome{t: t0.Add(time.Duration(i) * time.Minute), label: i%2 == 0}))
	}

	// Ground truth, from the semantics of docs/semantics.md on this data: every
	// event arrives while the watermark is far below any deadline.
	type cell struct{ tp, fp, tn, fn float64 }
	var joined, expired, orphaned float64
	var total cell
	perWindow := map[time.Time]*cell{}
	for id, p := range preds {
		o, ok := outs[id]
		if !ok {
			expired++
			continue
		}
		joined++
		w := perWindow[o.t.Truncate(5*time.Minute)]
		if w == nil {
			w = &cell{}
			perWindow[o.t.Truncate(5*time.Minute)] = w
		}
		for _, c := range []*cell{w, &total} {
			switch {
			case p.predicted && o.label:
				c.tp++
			case p.predicted:
				c.fp++
			case o.label:
				c.fn++
			default:
				c.tn++
			}
		}
	}
	orphaned = 50

	prod := newClient(t)
	produceSync(t, prod, early...)
	p := startReckon(t, fmt.Sprintf(joinConfig, group, predTopic, outTopic, group+"-dead", resTopic))
	p.waitFor(t, 60*time.Second, "the early outcomes consumed", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_records_consumed_total", map[string]string{"topic": outTopic})
		return v == float64(len(early))
	})
	produceSync(t, prod, late...)
	// Sentinels three hours on, on every partition of both topics: the
	// watermark (1h lateness) passes every deadline and window above.
	sentinel := t0.Add(3 * time.Hour)
	var sentinels []*kgo.Record
	for part := range int32(parts) {
		id := fmt.Sprintf("sentinel-%d", part)
		s := predRec(id, pred{t: sentinel, score: 0.1})
		s.Partition = part
		o := outRec("sentinel-orphan-"+id, outcome{t: sentinel})
		o.Partition = part
		sentinels = append(sentinels, s, o)
	}
	produceSync(t, newClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner())), sentinels...)

	// A window has a result when any event falls in it: a prediction by
	// its time, an outcome (joined or not) by its time.
	eventWindows := map[time.Time]bool{}
	for _, p := range preds {
		eventWindows[p.t.Truncate(5*time.Minute)] = true
	}
	for _, o := range outs {
		eventWindows[o.t.Truncate(5*time.Minute)] = true
	}
	for i := range 50 {
		eventWindows[t0.Add(time.Duration(i)*time.Minute).Truncate(5*time.Minute)] = true
	}
	wantWindows := len(eventWindows)
	// A scrape may fall between the counters of one commit (they are
	// applied one after another), so wait for the last of them as well:
	// business cost is applied after the expiries and orphans.
	wantCost := 1.5*total.fp + 10*total.fn
	mfs := p.waitFor(t, 60*time.Second, "every deadline passed and the business cost applied", func(m map[string]*dto.MetricFamily) bool {
		e, _ := value(m, "reckon_predictions_expired_total", map[string]string{"model": "fraud"})
		o, _ := value(m, "reckon_outcomes_total", map[string]string{"model": "fraud", "result": "orphaned"})
		c, _ := value(m, "reckon_business_cost_total", map[string]string{"model": "fraud"})
		return e == expired && o == orphaned && c == wantCost
	})
	got := series(mfs, "reckon_outcomes_total", "model", "result")
	compare(t, "reckon_outcomes_total", got, map[string]float64{
		"model=fraud,result=joined":    joined,
		"model=fraud,result=duplicate": dupOuts,
		"model=fraud,result=orphaned":  orphaned,
	})
	compare(t, "reckon_duplicate_predictions_total", series(mfs, "reckon_duplicate_predictions_total", "model"),
		map[string]float64{"model=fraud": dupPreds})
	compare(t, "reckon_confusion_total", series(mfs, "reckon_confusion_total", "model", "outcome"), map[string]float64{
		"model=fraud,outcome=tp": total.tp, "model=fraud,outcome=fp": total.fp,
		"model=fraud,outcome=tn": total.tn, "model=fraud,outcome=fn": total.fn,
	})
	if v, _ := value(mfs, "reckon_pending_predictions", nil); v != float64(parts) {
		t.Errorf("reckon_pending_predictions = %v, want %d (the sentinels)", v, parts)
	}
	if n := histogramCount(mfs, "reckon_label_delay_seconds"); n != uint64(joined) {
		t.Errorf("reckon_label_delay_seconds count = %d, want %v", n, joined)
	}

	recs := readTopic(t, resTopic, wantWindows, 30*time.Second)
	if len(recs) != wantWindows {
		t.Fatalf("results topic holds %d windows, want %d", len(recs), wantWindows)
	}
	for _, r := range recs {
		rec, err := results.Unmarshal(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		w := perWindow[rec.Start]
		if w == nil {
			w = &cell{}
		}
		c := rec.Confusion
		if float64(c.TP) != w.tp || float64(c.FP) != w.fp || float64(c.TN) != w.tn || float64(c.FN) != w.fn {
			t.Errorf("window %s confusion %+v, want %+v", rec.Start, c, *w)
			continue
		}
		checkRate(t, rec.Start, "fpr", rec.Rates.FPR, w.fp, w.fp+w.tn)
		checkRate(t, rec.Start, "tpr", rec.Rates.TPR, w.tp, w.tp+w.fn)
		checkRate(t, rec.Start, "precision", rec.Rates.Precision, w.tp, w.tp+w.fp)
		checkRate(t, rec.Start, "accuracy", rec.Rates.Accuracy, w.tp+w.tn, w.tp+w.fp+w.tn+w.fn)
	}
}

func checkRate(t *testing.T, start time.Time, name string, got *float64, num, den float64) {
	t.Helper()
	switch {
	case den == 0 && got != nil:
		t.Errorf("window %s %s = %v, want absent (denominator 0)", start, name, *got)
	case den != 0 && got == nil:
		t.Errorf("window %s %s absent, want %v", start, name, num/den)
	case den != 0 && *got != num/den:
		t.Errorf("window %s %s = %v, want %v", start, name, *got, num/den)
	}
}
