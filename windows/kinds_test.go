package windows

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/shapes"
	"github.com/reckonhq/reckon/results"
)

// kindsConfig has a regression and a multiclass model, each with a stream
// reference over the first three minutes.
const kindsConfig = `windows: [1m, 3m]
allowed_lateness: 30s
idle_timeout: 2s
label_ttl: 72h
max_clock_skew: 0s
models:
  - name: eta
    kind: regression
    reference: {from: "2026-11-20T20:00:00Z", to: "2026-11-20T20:03:00Z"}
    features: [{name: x, type: numeric}]
  - name: intent
    kind: multiclass
    classes: [a, b, c]
    reference: {from: "2026-11-20T20:00:00Z", to: "2026-11-20T20:03:00Z"}
    features: [{name: x, type: numeric}]
`

// kindEvent is one prediction and its outcome, as the test's ground truth
// sees them.
type kindEvent struct {
	model         string
	id            string
	predMs, outMs int64
	value, label  float64   // regression
	pred, class   string    // multiclass
	scores        []float64 // multiclass, nil: none
	status        string
	labelled      bool
}

var kindsStart = time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC).UnixMilli()

// kindEvents generates twelve minutes of both models' traffic, in event
// time order, with the labels of both shifting after minute 7 (drift).
func kindEvents(rng *rand.Rand) []kindEvent {
	classes := []string{"a", "b", "c"}
	var evs []kindEvent
	for i := range 2400 {
		t := kindsStart + int64(i)*300 // 12 minutes
		shifted := t >= kindsStart+7*60_000
		e := kindEvent{id: fmt.Sprintf("p%05d", i), predMs: t, outMs: t + rng.Int64N(20_000), labelled: rng.IntN(10) > 0}
		if i%2 == 0 {
			e.model = "eta"
			e.label = math.Round(rng.NormFloat64()*400+1000) / 8 // some labels are 0 below
			if shifted {
				e.label += 60
			}
			if i%37 == 0 {
				e.label = 0
			}
			e.value = e.label + rng.NormFloat64()*7 + 1.5
		} else {
			e.model = "intent"
			y := rng.IntN(3)
			if shifted && rng.IntN(2) == 0 {
				y = 2
			}
			e.class = classes[y]
			if rng.IntN(25) == 0 {
				e.class = "spam" // undeclared: a new_category violation of _label
			}
			p := y
			if rng.IntN(4) == 0 {
				p = rng.IntN(3)
			}
			e.pred = classes[p]
			if rng.IntN(30) == 0 {
				e.pred = "junk"
			}
			if rng.IntN(5) > 0 && e.pred != "junk" {
				s := []float64{rng.Float64(), rng.Float64(), rng.Float64()}
				s[p] += 1.5
				tot := s[0] + s[1] + s[2]
				for c := range s {
					s[c] /= tot
				}
				e.scores = s
			}
		}
		if rng.IntN(40) == 0 {
			e.status = "error"
			e.labelled = false
		}
		evs = append(evs, e)
	}
	return evs
}

// kindRecords makes the input records: predictions in time order, and the
// outcomes sorted by their own time.
func kindRecords(o shapes.Options, evs []kindEvent) (preds, outs []shapes.Record) {
	for _, e := range evs {
		var v string
		switch {
		case e.status == "error":
			v = fmt.Sprintf(`{"prediction_id":%q,"model":%q,"timestamp":%d,"status":"error"}`, e.id, e.model, e.predMs)
		case e.model == "eta":
			v = fmt.Sprintf(`{"prediction_id":%q,"model":"eta","timestamp":%d,"value":%v,"features":{"x":1}}`, e.id, e.predMs, e.value)
		default:
			sc := ""
			if e.scores != nil {
				sc = fmt.Sprintf(`,"scores":{"a":%v,"b":%v,"c":%v}`, e.scores[0], e.scores[1], e.scores[2])
			}
			v = fmt.Sprintf(`{"prediction_id":%q,"model":"intent","timestamp":%d,"predicted":%q%s,"features":{"x":1}}`, e.id, e.predMs, e.pred, sc)
		}
		p := o.Partition([]byte(e.id))
		preds = append(preds, shapes.Record{Topic: shapes.Predictions, Partition: p, Key: []byte(e.id), Value: []byte(v)})
	}
	sorted := slices.Clone(evs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].outMs < sorted[j].outMs })
	for _, e := range sorted {
		if !e.labelled {
			continue
		}
		var l string
		if e.model == "eta" {
			l = fmt.Sprint(e.label)
		} else {
			l = fmt.Sprintf("%q", e.class)
		}
		v := fmt.Sprintf(`{"prediction_id":%q,"model":%q,"timestamp":%d,"label":%s}`, e.id, e.model, e.outMs, l)
		outs = append(outs, shapes.Record{Topic: shapes.Outcomes, Partition: o.Partition([]byte(e.id)), Key: []byte(e.id), Value: []byte(v)})
	}
	return preds, outs
}

// TestModelKindsEndToEnd plays a regression and a multiclass model through
// the in-memory runtime (partitions, members joining and leaving, aborted
// transactions, restores) and checks every figure of every window against
// a ground truth computed here from the events: counts, the regression
// error (exact: the join keeps values and labels as float32, so the truth
// rounds them too), residual quantiles within the t-digest's rank bound,
// the multiclass confusion matrix and every rate from it, CBPE per class,
// and label and prediction drift once the reference is complete.
func TestModelKindsEndToEnd(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			parts := 1 + int(seed%3)
			o := shapes.Defaults(parts, fnvPartition(parts))
			g := newGroupOf(t, o, kindsConfig, seed)
			evs := kindEvents(rand.New(rand.NewPCG(seed, 9)))
			preds, outs := kindRecords(o, evs)
			half := len(preds) / 2
			g.produce(preds[:half])
			g.produce(outs[:len(outs)/2])
			for g.pending() {
				g.readSome()
			}
			g.rebalance(2)
			g.produce(preds[half:])
			g.produce(outs[len(outs)/2:])
			for i := 0; g.pending() || i < 3; i++ {
				g.readSome()
			}
			g.rebalance(1)
			g.settle(time.Minute)
			checkKinds(t, g, evs)
		})
	}
}

// truthWindow is the ground truth of one window of one model.
type truthWindow struct {
	predictions, errors, outcomes uint64
	pairs                         [][2]float64 // regression: (value, label) as float32
	conf                          [3][3]uint64
	undeclared                    uint64
	est                           [3][4]float64 // per class: TP FP TN FN
	scored                        uint64
	expAcc                        float64
}

func checkKinds(t *testing.T, g *group, evs []kindEvent) {
	t.Helper()
	idx := map[string]int{"a": 0, "b": 1, "c": 2}
	truth := map[shapes.WindowKey]*truthWindow{}
	at := func(model string, ms int64, length int64, text string) *truthWindow {
		start := ms - ms%length
		k := shapes.WindowKey{Model: model, Window: text, Start: time.UnixMilli(start).UTC()}
		if truth[k] == nil {
			truth[k] = &truthWindow{}
		}
		return truth[k]
	}
	for _, w := range []struct {
		l    int64
		text string
	}{{60_000, "1m"}, {180_000, "3m"}} {
		for _, e := range evs {
			tw := at(e.model, e.predMs, w.l, w.text)
			tw.predictions++
			if e.status == "error" {
				tw.errors++
				continue
			}
			if e.model == "intent" {
				p, ok := idx[e.pred]
				if e.scores != nil && ok {
					tw.scored++
					tw.expAcc += e.scores[p]
					for c := range 3 {
						if c == p {
							tw.est[c][0] += e.scores[c]
							tw.est[c][1] += 1 - e.scores[c]
						} else {
							tw.est[c][3] += e.scores[c]
							tw.est[c][2] += 1 - e.scores[c]
						}
					}
				}
			}
			if !e.labelled {
				continue
			}
			ow := at(e.model, e.outMs, w.l, w.text)
			ow.outcomes++
			if e.model == "eta" {
				ow.pairs = append(ow.pairs, [2]float64{float64(float32(e.value)), float64(float32(e.label))})
				continue
			}
			p, pok := idx[e.pred]
			y, yok := idx[e.class]
			if !pok || !yok {
				ow.undeclared++
				continue
			}
			ow.conf[y][p]++
		}
	}
	// The group watermark ends at the latest event time less the allowed
	// lateness: the windows ending after it stay open.
	var last int64
	for _, e := range evs {
		last = max(last, e.predMs, e.outMs)
	}
	closed := time.UnixMilli(last - 30_000)
	for k := range truth {
		length := time.Minute
		if k.Window == "3m" {
			length = 3 * time.Minute
		}
		if k.Start.Add(length).After(closed) {
			delete(truth, k)
		}
	}
	if len(g.results) != len(truth) || len(truth) < 24 {
		t.Errorf("%d windows published, want %d", len(g.results), len(truth))
	}
	refEnd := time.UnixMilli(kindsStart + 3*60_000).UTC()
	for k, tw := range truth {
		recs := g.results[k]
		if len(recs) != 1 {
			t.Errorf("%s: published %d times", k, len(recs))
			continue
		}
		r := recs[0]
		if r.Predictions != tw.predictions || r.Errors != tw.errors || r.Outcomes != tw.outcomes {
			t.Errorf("%s: predictions/errors/outcomes %d/%d/%d, want %d/%d/%d", k, r.Predictions, r.Errors, r.Outcomes, tw.predictions, tw.errors, tw.outcomes)
		}
		afterRef := !r.End.Before(refEnd) // as Aggregation.compare decides
		if afterRef != (r.PredictionDrift != nil) {
			t.Errorf("%s: prediction drift %v, want it only after the reference", k, r.PredictionDrift)
		}
		if k.Model == "eta" {
			checkRegression(t, k, r, tw, afterRef)
		} else {
			checkMulticlass(t, k, r, tw, afterRef)
		}
	}
	// The labels shift after minute 7: their drift is larger there.
	for _, model := range []string{"eta", "intent"} {
		calm, shifted := labelPSI(g, model, kindsStart+4*60_000), labelPSI(g, model, kindsStart+9*60_000)
		if !(shifted > 2*calm) {
			t.Errorf("%s: label drift psi %v after the shift, %v before: want it larger", model, shifted, calm)
		}
	}
}

func labelPSI(g *group, model string, ms int64) float64 {
	k := shapes.WindowKey{Model: model, Window: "1m", Start: time.UnixMilli(ms).UTC()}
	r := g.results[k][0]
	if r.Regression != nil {
		return r.Regression.LabelDrift["psi"]
	}
	return r.Multiclass.LabelDrift["psi"]
}

// exactMean is the exact sum of xs rounded once, over n: how reckon's
// exact sums compute a mean.
func exactMean(xs []float64, n int) float64 {
	s := new(big.Float).SetPrec(4200)
	for _, x := range xs {
		s.Add(s, new(big.Float).SetPrec(4200).SetFloat64(x))
	}
	v, _ := s.Float64()
	return v / float64(n)
}

func checkRegression(t *testing.T, k shapes.WindowKey, r *results.Record, tw *truthWindow, afterRef bool) {
	g := r.Regression
	if g == nil {
		t.Errorf("%s: no regression figures", k)
		return
	}
	if afterRef != (g.LabelDrift != nil) {
		t.Errorf("%s: label drift %v, want it only after the reference", k, g.LabelDrift)
	}
	if hasPred := tw.predictions > tw.errors; (afterRef && hasPred) != (g.EstimatedMAE != nil && g.EstimatedRMSE != nil) {
		t.Errorf("%s: estimated MAE %v RMSE %v, want them after the reference in windows with predictions", k, deref(g.EstimatedMAE), deref(g.EstimatedRMSE))
	}
	n := len(tw.pairs)
	if g.Count != uint64(n) {
		t.Errorf("%s: count %d, want %d", k, g.Count, n)
	}
	if n == 0 {
		if g.MAE != nil {
			t.Errorf("%s: MAE without pairs", k)
		}
		return
	}
	var abs, sq, signed, ape, res []float64
	zero := 0
	for _, p := range tw.pairs {
		e := p[0] - p[1]
		abs, sq, signed, res = append(abs, math.Abs(e)), append(sq, e*e), append(signed, e), append(res, e)
		if p[1] == 0 {
			zero++
		} else {
			ape = append(ape, math.Abs(e)/math.Abs(p[1]))
		}
	}
	want := [4]float64{exactMean(abs, n), math.Sqrt(exactMean(sq, 1) / float64(n)), exactMean(ape, n-zero), exactMean(signed, n)}
	got := [4]*float64{g.MAE, g.RMSE, g.MAPE, g.Bias}
	for i, name := range []string{"mae", "rmse", "mape", "bias"} {
		if got[i] == nil || *got[i] != want[i] {
			t.Errorf("%s: %s %v, want %v", k, name, deref(got[i]), want[i])
		}
	}
	if g.ZeroLabels != uint64(zero) {
		t.Errorf("%s: zero labels %d, want %d", k, g.ZeroLabels, zero)
	}
	slices.Sort(res)
	for _, q := range FeatureQuantiles {
		v, ok := g.ResidualQuantiles[q.Label]
		if !ok {
			t.Errorf("%s: no residual quantile %s", k, q.Label)
			continue
		}
		// The rank of the estimate among the true residuals is within the
		// t-digest's bound (docs/drift.md: about 1% of rank), and one value.
		lo, hi := sort.SearchFloat64s(res, v), sort.Search(n, func(i int) bool { return res[i] > v })
		tol := 0.01*float64(n) + 1
		if float64(hi) < q.Q*float64(n)-tol || float64(lo) > q.Q*float64(n)+tol {
			t.Errorf("%s: residual quantile %s = %v has rank %d..%d of %d", k, q.Label, v, lo, hi, n)
		}
	}
}

func checkMulticlass(t *testing.T, k shapes.WindowKey, r *results.Record, tw *truthWindow, afterRef bool) {
	m := r.Multiclass
	if m == nil {
		t.Errorf("%s: no multiclass figures", k)
		return
	}
	if afterRef != (m.LabelDrift != nil) {
		t.Errorf("%s: label drift %v, want it only after the reference", k, m.LabelDrift)
	}
	var n, diag uint64
	for y := range 3 {
		for p := range 3 {
			if m.Confusion[y][p] != tw.conf[y][p] {
				t.Errorf("%s: confusion[%d][%d] %d, want %d", k, y, p, m.Confusion[y][p], tw.conf[y][p])
			}
			n += tw.conf[y][p]
			if y == p {
				diag += tw.conf[y][p]
			}
		}
	}
	if m.Undeclared != tw.undeclared {
		t.Errorf("%s: undeclared %d, want %d", k, m.Undeclared, tw.undeclared)
	}
	if n == 0 {
		return
	}
	if m.Accuracy == nil || *m.Accuracy != float64(diag)/float64(n) || r.Rates.Accuracy == nil || *r.Rates.Accuracy != *m.Accuracy {
		t.Errorf("%s: accuracy %v, want %v", k, deref(m.Accuracy), float64(diag)/float64(n))
	}
	var f1sum, wsum float64
	present := 0
	for c, name := range []string{"a", "b", "c"} {
		var tp, fp, fn uint64
		tp = tw.conf[c][c]
		for j := range 3 {
			if j != c {
				fp += tw.conf[j][c]
				fn += tw.conf[c][j]
			}
		}
		tn := n - tp - fp - fn
		cr := m.PerClass[name]
		checkRate(t, k, name+" precision", cr.Precision, tp, tp+fp)
		checkRate(t, k, name+" recall", cr.Recall, tp, tp+fn)
		checkRate(t, k, name+" fpr", cr.FPR, fp, fp+tn)
		if 2*tp+fp+fn > 0 {
			f1 := float64(2*tp) / float64(2*tp+fp+fn)
			f1sum += f1
			wsum += f1 * float64(tp+fn)
			present++
		}
		if tw.scored > 0 {
			want := tw.est[c]
			ec := m.Estimated[name]
			if ec.Precision == nil || math.Abs(*ec.Precision-want[0]/(want[0]+want[1])) > 1e-9 ||
				ec.Recall == nil || math.Abs(*ec.Recall-want[0]/(want[0]+want[3])) > 1e-9 ||
				ec.FPR == nil || math.Abs(*ec.FPR-want[1]/(want[1]+want[2])) > 1e-9 {
				t.Errorf("%s: estimated %s %+v, want from %v", k, name, ec, want)
			}
		}
	}
	if m.F1Macro == nil || math.Abs(*m.F1Macro-f1sum/float64(present)) > 1e-15 || m.F1Weighted == nil || math.Abs(*m.F1Weighted-wsum/float64(n)) > 1e-15 {
		t.Errorf("%s: F1 %v %v, want %v %v", k, deref(m.F1Macro), deref(m.F1Weighted), f1sum/float64(present), wsum/float64(n))
	}
	if m.Scored != tw.scored || tw.scored > 0 && (m.EstimatedAccuracy == nil || math.Abs(*m.EstimatedAccuracy-tw.expAcc/float64(tw.scored)) > 1e-12) {
		t.Errorf("%s: scored %d estimated accuracy %v, want %d %v", k, m.Scored, deref(m.EstimatedAccuracy), tw.scored, tw.expAcc/float64(tw.scored))
	}
}

func checkRate(t *testing.T, k shapes.WindowKey, what string, got *float64, num, den uint64) {
	t.Helper()
	if den == 0 {
		if got != nil {
			t.Errorf("%s: %s %v, want none", k, what, *got)
		}
		return
	}
	if got == nil || *got != float64(num)/float64(den) {
		t.Errorf("%s: %s %v, want %v", k, what, deref(got), float64(num)/float64(den))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestKindPartsRoundTrip encodes partials with a regression and a
// multiclass part, decodes them (fresh and into recycled partials of
// another pane) and checks the encodings are equal byte for byte; a
// partial without a part keeps the binary encoding (version 2).
func TestKindPartsRoundTrip(t *testing.T) {
	layout := Layout{{false}, {false}, {false}}
	reg := layout.NewPartial(0)
	reg.reset(0, 60_000, 120_000)
	for i := range 50 {
		reg.AddKindJoined(config.KindRegression, 0, float64(i)*1.5, float64(i%7))
	}
	multi := layout.NewPartial(1)
	multi.reset(1, 60_000, 120_000)
	for i := range 40 {
		multi.AddKindJoined(config.KindMulticlass, 3, float64(i%3), float64((i/2)%3))
	}
	multi.Multi.Estimate.Add(1, []float64{0.2, 0.5, 0.3})
	multi.Multi.Predicted.Add([]byte("b"))
	multi.Multi.Labels.Add([]byte("c"))
	binary := layout.NewPartial(2)
	binary.reset(2, 60_000, 120_000)
	agg := newAggregator([]int64{60_000}, layout)
	for _, p := range []*Partial{reg, multi, binary} {
		data, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		wantVersion := byte(partialKinds)
		if p == binary {
			wantVersion = partialVersion
		}
		if data[0] != wantVersion {
			t.Errorf("model %d: version %d, want %d", p.Model, data[0], wantVersion)
		}
		for _, decode := range []func([]byte) (*Partial, []byte, error){layout.DecodePartial, agg.DecodePartial} {
			back, rest, err := decode(data)
			if err != nil || len(rest) != 0 {
				t.Fatal(err, len(rest))
			}
			again, _ := back.AppendBinary(nil)
			if string(again) != string(data) {
				t.Errorf("model %d: encoding does not round-trip", p.Model)
			}
			agg.free[p.Model] = append(agg.free[p.Model], back) // recycled for the next decode
		}
	}
	if e := reg.Reg.Perf.Error(); reg.Reg.Perf.Count() != 50 || math.IsNaN(e.MAE) {
		t.Errorf("regression part %+v", e)
	}
}

// TestPartitionCountsKinds checks a partition's live counts for the new
// kinds: undeclared classes count as new_category violations of
// _predicted and _label (the rows after the features'), joins count, and
// no confusion cell moves (those are a binary model's).
func TestPartitionCountsKinds(t *testing.T) {
	cfg, err := config.Parse("k.yaml", []byte(kindsConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.SetTopology(1, []int32{0, 0})
	p := NewPartition(set, NewCalibrations(set), 0, time.Unix(1_000_000, 0), openStore(t, set))
	d := event.NewDecoder(event.SchemaFromConfig(cfg), 0)
	pr := d.NewPrediction()
	var out event.Outcome
	ms := kindsStart + 1000
	for i, rec := range []string{
		`{"prediction_id":"1","model":"intent","timestamp":%d,"predicted":"zzz","features":{"x":1}}`,
		`{"prediction_id":"2","model":"intent","timestamp":%d,"predicted":"a","features":{"x":1}}`,
		`{"prediction_id":"3","model":"eta","timestamp":%d,"value":4.5,"features":{"x":1}}`,
	} {
		if err := d.DecodePrediction([]byte(fmt.Sprintf(rec, ms+int64(i))), pr); err != nil {
			t.Fatal(err)
		}
		p.Prediction(pr)
	}
	for i, rec := range []string{
		`{"prediction_id":"1","model":"intent","timestamp":%d,"label":"b"}`,
		`{"prediction_id":"2","model":"intent","timestamp":%d,"label":"yyy"}`,
		`{"prediction_id":"3","model":"eta","timestamp":%d,"label":6}`,
	} {
		if err := d.DecodeOutcome([]byte(fmt.Sprintf(rec, ms+int64(10+i))), &out); err != nil {
			t.Fatal(err)
		}
		p.Outcome(&out)
	}
	c := p.Counts().Models
	const newCat = event.ViolationNewCategory
	// intent has one feature: rows 0 undeclared, 1 x, 2 _predicted, 3 _label.
	if v := c[1].Violations; v[2][newCat] != 1 || v[3][newCat] != 1 {
		t.Errorf("intent violations %v, want one new_category of _predicted and one of _label", v)
	}
	for mi := range 2 {
		if c[mi].Joined == 0 || c[mi].Confusion != ([4]uint64{}) {
			t.Errorf("model %d: joined %d, confusion %v; want joins and no confusion cell", mi, c[mi].Joined, c[mi].Confusion)
		}
	}
}
