package integration

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/reckonhq/reckon/results"
)

// kindsConfig is the configuration of TestKindsExactlyOnceAcrossKills: a
// regression model with a stream reference, a multiclass model, and the
// binary model churn of the sentinels.
func kindsConfig(group, predTopic, outTopic, resultsTopic string) string {
	return eosYAML(group, predTopic, outTopic, resultsTopic, fmt.Sprintf(`windows: [1m, 5m]
allowed_lateness: 10s
label_ttl: 10m
models:
  - name: eta
    kind: regression
    reference: {from: %q, to: %q}
    features:
      - {name: distance_km, type: numeric, min: 0}
  - name: intent
    kind: multiclass
    classes: [billing, shipping, returns]
    reference: {from: %q, to: %q}
    features:
      - {name: channel, type: categorical}
  - name: churn
    threshold: 0.3
    features:
      - {name: tenure, type: numeric}
`, eosBase.Format(time.RFC3339), eosBase.Add(10*time.Minute).Format(time.RFC3339),
		eosBase.Format(time.RFC3339), eosBase.Add(10*time.Minute).Format(time.RFC3339)))
}

// kindWindow is the ground truth of a regression or multiclass window
// beyond the counts of truth.
type kindWindow struct {
	pairs      [][2]float64 // eta: (value, label), as the join keeps them (float32)
	conf       [3][3]uint64 // intent: [label][predicted]
	undeclared uint64
}

// newKindsStream is the stream of TestKindsExactlyOnceAcrossKills: n
// predictions of eta and intent over 30 simulated minutes, a share of them
// errors, some of intent's with undeclared classes, outcomes for about 60%
// of the ok ones 10 s to 4 min later, in event-time order; and its ground
// truth, tallied here.
func newKindsStream(n int) (*eosStream, map[string]*kindWindow) {
	s := &eosStream{
		tr:          &truth{windows: map[string]results.Record{}},
		predictions: map[string]float64{},
		joined:      map[string]float64{"model=eta": 0, "model=intent": 0, "model=churn": 0},
		sentinel:    eosBase.Add(90 * time.Minute),
	}
	kinds := map[string]*kindWindow{}
	addKind := func(model string, at time.Time, f func(k *kindWindow)) {
		for _, w := range []struct {
			text string
			l    time.Duration
		}{{"1m", time.Minute}, {"5m", 5 * time.Minute}} {
			k := windowKey(model, w.text, at.Truncate(w.l))
			if kinds[k] == nil {
				kinds[k] = &kindWindow{}
			}
			f(kinds[k])
		}
	}
	classes := []string{"billing", "shipping", "returns"}
	rng := rand.New(rand.NewPCG(17, 2026))
	step := 30 * time.Minute / time.Duration(n)
	for i := range n {
		at := eosBase.Add(time.Duration(i) * step)
		id := fmt.Sprintf("kinds-%06d", i)
		model := "eta"
		if i%2 == 1 {
			model = "intent"
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"prediction_id":%q,"model":%q,"model_version":"v1","timestamp":%d`, id, model, at.UnixMilli())
		status := "ok"
		if i%29 == 0 {
			status = "error"
			b.WriteString(`,"status":"error"}`)
		}
		s.predictions["model="+model+",model_version=v1,status="+status]++
		s.tr.addToWindows(model, at, func(r *results.Record) {
			r.Predictions++
			if status == "error" {
				r.Errors++
			}
		})
		s.events = append(s.events, eosEvent{id: id, at: at})
		if status == "error" {
			s.events[len(s.events)-1].value = []byte(b.String())
			continue
		}
		var label string
		var value float64
		pred, y := -1, -1
		if model == "eta" {
			d := 0.5 + rng.ExpFloat64()*4
			value = math.Round((8+3*d)*100) / 100
			truth := value + rng.NormFloat64()*2
			if at.After(eosBase.Add(20 * time.Minute)) {
				truth += 5 // late deliveries: bias and label drift
			}
			truth = math.Round(truth*100) / 100
			if i%41 == 0 {
				truth = 0
			}
			label = fmt.Sprint(truth)
			fmt.Fprintf(&b, `,"value":%v,"features":{"distance_km":%.2f}}`, value, d)
		} else {
			y = rng.IntN(3)
			pred = y
			if rng.IntN(3) == 0 {
				pred = rng.IntN(3)
			}
			pc, yc := classes[pred], classes[y]
			if i%37 == 0 {
				pc, pred = "spam", -1
			}
			if i%43 == 0 {
				yc, y = "unknown", -1
			}
			p := [3]float64{0.1, 0.1, 0.1}
			if pred >= 0 {
				p[pred] = 0.8
			} else {
				p = [3]float64{0.5, 0.25, 0.25}
			}
			label = fmt.Sprintf("%q", yc)
			fmt.Fprintf(&b, `,"predicted":%q,"scores":{"billing":%v,"shipping":%v,"returns":%v},"features":{"channel":%q}}`,
				pc, p[0], p[1], p[2], []string{"web", "app", "phone"}[rng.IntN(3)])
		}
		s.events[len(s.events)-1].value = []byte(b.String())
		if rng.Float64() >= 0.6 {
			continue
		}
		ot := at.Add(time.Duration(10+rng.IntN(230)) * time.Second)
		s.events = append(s.events, eosEvent{outcome: true, id: id, at: ot, value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":%q,"timestamp":%d,"label":%s}`, id, model, ot.UnixMilli(), label)})
		s.joined["model="+model]++
		s.tr.addToWindows(model, ot, func(r *results.Record) { r.Outcomes++ })
		var lv float64
		fmt.Sscan(label, &lv)
		addKind(model, ot, func(k *kindWindow) {
			switch {
			case model == "eta":
				k.pairs = append(k.pairs, [2]float64{float64(float32(value)), float64(float32(lv))})
			case pred < 0 || y < 0:
				k.undeclared++
			default:
				k.conf[y][pred]++
			}
		})
	}
	sort.SliceStable(s.events, func(i, j int) bool { return s.events[i].at.Before(s.events[j].at) })
	for _, e := range s.events {
		if e.outcome {
			s.outs++
		} else {
			s.preds++
		}
	}
	s.preds += eosPartitions
	s.outs += eosPartitions
	s.predictions["model=churn,model_version=,status=ok"] += eosPartitions
	for k, r := range s.tr.windows {
		if r.End.After(s.sentinel) {
			delete(s.tr.windows, k)
			delete(kinds, k)
		}
	}
	return s, kinds
}

// TestKindsExactlyOnceAcrossKills is TestExactlyOnceAcrossKills for a
// regression and a multiclass model: a reckon killed with SIGKILL at random
// moments while the stream is produced publishes exactly the results of
// an uninterrupted one, byte for byte, and both equal a ground truth
// computed here: counts, the regression error (MAE, RMSE, bias, MAPE and
// the zero labels it skips, exact) and the multiclass confusion matrix,
// undeclared pairs and accuracy; label and prediction drift appear once the
// stream reference is complete.
func TestKindsExactlyOnceAcrossKills(t *testing.T) {
	t.Parallel()
	group := uniqueName("kinds")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	createTopics(t, eosPartitions, predTopic, outTopic)
	s, kinds := newKindsStream(4000)
	want := len(s.tr.windows)
	gA, gB := group+"-g1", group+"-g2"
	rA, rB := group+"-r1", group+"-r2"

	a := launchReckon(t, kindsConfig(gA, predTopic, outTopic, rA), brokers, instanceArgs("a1")...)
	a.waitReady(t, 60*time.Second, 50*time.Millisecond)
	aScrapes := watch(a, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() { produced <- produceStream(ctx, brokers, s, predTopic, outTopic, 10, 500*time.Millisecond, nil) }()

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	cfgB := kindsConfig(gB, predTopic, outTopic, rB)
	var lifetimes []map[string]*dto.MetricFamily
	kills, done := 0, false
	for kills < 3 || !done {
		b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
		b.waitReady(t, 60*time.Second, 50*time.Millisecond)
		w := watch(b, 100*time.Millisecond)
		time.Sleep(time.Duration(500+rng.IntN(2000)) * time.Millisecond)
		if ok, err := b.exited(); ok {
			t.Fatalf("reckon exited by itself (%v)", err)
		}
		b.kill()
		lifetimes = append(lifetimes, w.finish())
		kills++
		select {
		case err := <-produced:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
	}
	t.Logf("run B: killed %d times (seed %d)", kills, seed)
	b := launchReckon(t, cfgB, brokers, instanceArgs("b1")...)
	b.waitReady(t, 60*time.Second, 50*time.Millisecond)
	w := watch(b, 100*time.Millisecond)
	readWindows(t, brokers, rB, want, 45*time.Second, 0)
	time.Sleep(2 * eosCommitInterval)
	b.stop(t)
	lifetimes = append(lifetimes, w.finish())

	gotA := resultWindows(t, brokers, rA, want, 45*time.Second)
	time.Sleep(2 * eosCommitInterval)
	a.stop(t)
	lastA := aScrapes.finish()
	gotB := resultWindows(t, brokers, rB, want, 10*time.Second)

	checkWindows(t, "run A (uninterrupted)", gotA, gotA, s.tr)
	checkWindows(t, "run B (killed)", gotB, gotA, s.tr)
	checkKindWindows(t, "run A (uninterrupted)", gotA, kinds)
	checkKindWindows(t, "run B (killed)", gotB, kinds)
	checkCounters(t, "run A (uninterrupted)", sumCounters([]map[string]*dto.MetricFamily{lastA}), s, s.consumed(gA, predTopic, outTopic), false)
	checkCounters(t, "run B (killed), summed over its lifetimes", sumCounters(lifetimes), s, s.consumed(gB, predTopic, outTopic), true)
}

// checkKindWindows compares each regression and multiclass window's
// figures with the ground truth.
func checkKindWindows(t *testing.T, what string, got map[string][]byte, kinds map[string]*kindWindow) {
	t.Helper()
	refEnd := eosBase.Add(10 * time.Minute)
	bad := 0
	errorf := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(what+": "+format, args...)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		kw := kinds[k]
		v, ok := got[k]
		if !ok {
			continue // reported by checkWindows
		}
		rec, err := results.Unmarshal(v)
		if err != nil {
			continue
		}
		// Drift from the reference's end on, of what the window has:
		// predictions (ok ones), labels.
		drift := !rec.End.Before(refEnd)
		if (rec.PredictionDrift != nil) != (drift && rec.Predictions > rec.Errors) {
			errorf("%s: prediction drift %v, want it from the reference's end on, in windows with predictions", k, rec.PredictionDrift)
		}
		if rec.Model == "eta" {
			g := rec.Regression
			if g == nil {
				errorf("%s: no regression figures", k)
				continue
			}
			if (g.LabelDrift != nil) != (drift && rec.Outcomes > 0) {
				errorf("%s: label drift %v", k, g.LabelDrift)
			}
			if (g.EstimatedMAE != nil) != (drift && rec.Predictions > rec.Errors) {
				errorf("%s: estimated MAE %v, want it from the reference's end on, in windows with predictions", k, deref(g.EstimatedMAE))
			}
			n := len(kw.pairs)
			if g.Count != uint64(n) {
				errorf("%s: %d pairs, want %d", k, g.Count, n)
				continue
			}
			if n == 0 {
				continue
			}
			mae, rmse, mape, bias, zero := regressionTruth(kw.pairs)
			if g.ZeroLabels != zero || !eqp(g.MAE, mae) || !eqp(g.RMSE, rmse) || !eqp(g.Bias, bias) || !eqp(g.MAPE, mape) {
				errorf("%s: zero %d mae %v rmse %v bias %v mape %v, want %d %v %v %v %v", k, g.ZeroLabels, deref(g.MAE), deref(g.RMSE), deref(g.Bias), deref(g.MAPE), zero, mae, rmse, bias, mape)
			}
			continue
		}
		m := rec.Multiclass
		if m == nil {
			errorf("%s: no multiclass figures", k)
			continue
		}
		var n, diag uint64
		for y := range 3 {
			for p := range 3 {
				if m.Confusion[y][p] != kw.conf[y][p] {
					errorf("%s: confusion[%d][%d] = %d, want %d", k, y, p, m.Confusion[y][p], kw.conf[y][p])
				}
				n += kw.conf[y][p]
				if y == p {
					diag += kw.conf[y][p]
				}
			}
		}
		if m.Undeclared != kw.undeclared {
			errorf("%s: undeclared %d, want %d", k, m.Undeclared, kw.undeclared)
		}
		if n > 0 && !eqp(m.Accuracy, float64(diag)/float64(n)) {
			errorf("%s: accuracy %v, want %v", k, deref(m.Accuracy), float64(diag)/float64(n))
		}
	}
	t.Logf("%s: %d regression and multiclass windows checked, %d wrong", what, len(kinds), bad)
}

// regressionTruth computes a window's error from its pairs with exact
// sums, as the contract says reckon does.
func regressionTruth(pairs [][2]float64) (mae, rmse, mape, bias float64, zero uint64) {
	sum := func(xs []float64) float64 {
		s := new(big.Float).SetPrec(4200)
		for _, x := range xs {
			s.Add(s, new(big.Float).SetPrec(4200).SetFloat64(x))
		}
		v, _ := s.Float64()
		return v
	}
	var abs, sq, signed, ape []float64
	for _, p := range pairs {
		e := p[0] - p[1]
		abs, sq, signed = append(abs, math.Abs(e)), append(sq, e*e), append(signed, e)
		if p[1] == 0 {
			zero++
		} else {
			ape = append(ape, math.Abs(e)/math.Abs(p[1]))
		}
	}
	n := float64(len(pairs))
	mape = math.NaN()
	if len(ape) > 0 {
		mape = sum(ape) / float64(len(ape))
	}
	return sum(abs) / n, math.Sqrt(sum(sq) / n), mape, sum(signed) / n, zero
}

func eqp(p *float64, v float64) bool {
	if math.IsNaN(v) {
		return p == nil
	}
	return p != nil && *p == v
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
