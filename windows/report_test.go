package windows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reckonhq/reckon/results"
	"github.com/reckonhq/reckon/windows/perf"
)

// TestRecordEstimatesAndStandardErrors checks what Settings.Record adds
// beside the four estimated rates: the estimated ROC AUC over the window's
// score sketch with the window's calibrator, the estimated F1, and a
// standard error for every rate that has a value, each the package perf's
// computation of the window's state.
func TestRecordEstimatesAndStandardErrors(t *testing.T) {
	set := coreSettings(t, 1)
	r := rand.New(rand.NewPCG(4, 4))
	cal := fitTestCalibrator(t, r)
	part := set.Layout.NewPartial(0)
	for range 3000 {
		s := 1 / (1 + math.Exp(-r.NormFloat64()*2))
		part.Estimate.Add(cal.Calibrate(s), s >= 0.5)
		part.Score.Add(s)
		part.Perf.Add(s, s >= 0.5, r.Float64() < s*s)
	}
	rec := set.Record(&Result{Partial: part, Calibrator: cal}, nil)

	vs, ws := part.Score.Masses()
	auc, aucSE, ok := perf.EstimatedAUC(vs, ws, cal)
	if !ok || rec.Estimated.AUC == nil || *rec.Estimated.AUC != auc {
		t.Fatalf("estimated AUC %v, want %v", rec.Estimated.AUC, auc)
	}
	if idAUC, _, _ := perf.EstimatedAUC(vs, ws, nil); idAUC == auc {
		t.Fatal("the calibrator does not change the estimated AUC: the test cannot tell it was used")
	}
	ex := part.Estimate.Expected()
	if f1, _ := ex.F1(); rec.Estimated.F1 == nil || *rec.Estimated.F1 != f1 {
		t.Fatalf("estimated F1 %v, want %v", rec.Estimated.F1, f1)
	}
	se := rec.StandardError
	if se == nil {
		t.Fatal("no standard errors")
	}
	conf := part.Perf.Confusion()
	for _, m := range []struct {
		metric              perf.Metric
		realised, estimated *float64
	}{
		{perf.MetricFPR, se.Rates.FPR, se.Estimated.FPR},
		{perf.MetricTPR, se.Rates.TPR, se.Estimated.TPR},
		{perf.MetricPrecision, se.Rates.Precision, se.Estimated.Precision},
		{perf.MetricAccuracy, se.Rates.Accuracy, se.Estimated.Accuracy},
		{perf.MetricF1, se.Rates.F1, se.Estimated.F1},
	} {
		want, _ := conf.StandardError(m.metric)
		wantEst, _ := ex.StandardError(m.metric)
		if m.realised == nil || *m.realised != want || m.estimated == nil || *m.estimated != wantEst {
			t.Errorf("%v: SE %v, %v; want %v, %v", m.metric, m.realised, m.estimated, want, wantEst)
		}
	}
	if want, _ := part.Perf.AUCStandardError(); se.Rates.AUC == nil || *se.Rates.AUC != want {
		t.Errorf("AUC SE %v, want %v", se.Rates.AUC, want)
	}
	if se.Estimated.AUC == nil || *se.Estimated.AUC != aucSE {
		t.Errorf("estimated AUC SE %v, want %v", se.Estimated.AUC, aucSE)
	}
	if se.Rates.Brier != nil || se.Rates.ECE != nil {
		t.Error("Brier or ECE has a standard error")
	}

	// An empty window: nothing is measurable, nothing is set.
	empty := set.Record(&Result{Partial: set.Layout.NewPartial(0)}, nil)
	if empty.Estimated != (results.Rates{}) || empty.StandardError.Rates != (results.Rates{}) || empty.StandardError.Estimated != (results.Rates{}) {
		t.Errorf("empty window: %+v, %+v", empty.Estimated, *empty.StandardError)
	}
}

func fitTestCalibrator(t *testing.T, r *rand.Rand) *perf.Calibrator {
	t.Helper()
	var w perf.Window
	for range 20_000 {
		s := r.Float64()
		w.Add(s, false, r.Float64() < s*s)
	}
	cal, err := perf.FitCalibrator(&w)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// TestCalibratorOf checks which calibrator a closed window's estimated AUC
// uses: a reference file's always; a stream reference's for windows ending
// after its end once it is complete; the identity otherwise.
func TestCalibratorOf(t *testing.T) {
	set := coreSettings(t, 1)
	a := NewAggregation(set, 0)
	ref := a.refs[1]
	if ref == nil {
		t.Fatal("model b has no stream reference")
	}
	cal := fitTestCalibrator(t, rand.New(rand.NewPCG(1, 1)))
	win := func(model int, end int64) *Result {
		return &Result{Partial: &Partial{Model: model, Start: end - 60_000, End: end}}
	}
	if c := a.calibratorOf(win(0, ref.To+60_000)); c != nil {
		t.Error("model without reference: not the identity")
	}
	if c := a.calibratorOf(win(1, ref.To+60_000)); c != nil {
		t.Error("incomplete stream reference: not the identity")
	}
	ref.Complete, ref.Calibrator = true, cal
	if c := a.calibratorOf(win(1, ref.To)); c != nil {
		t.Error("window ending at the reference's end: not the identity")
	}
	if c := a.calibratorOf(win(1, ref.To+60_000)); c != cal {
		t.Error("window after the reference: not its calibrator")
	}
	set.Files[0] = &Reference{Calibrator: cal}
	if c := a.calibratorOf(win(0, 0)); c != cal {
		t.Error("reference file: not its calibrator")
	}
}

// BenchmarkRecord is the cost of a closed window's results record, which
// now computes the estimated AUC (over the score sketch's masses) and the
// standard errors: once per window and model, not per event.
func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{5_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			set := coreSettings(b, 1)
			r := rand.New(rand.NewPCG(4, 4))
			var w perf.Window
			for range 20_000 {
				s := r.Float64()
				w.Add(s, false, r.Float64() < s*s)
			}
			cal, _ := perf.FitCalibrator(&w)
			part := set.Layout.NewPartial(0)
			for range n {
				s := 1 / (1 + math.Exp(-r.NormFloat64()*2))
				part.Estimate.Add(cal.Calibrate(s), s >= 0.5)
				part.Score.Add(s)
				part.Perf.Add(s, s >= 0.5, r.Float64() < s*s)
			}
			res := &Result{Partial: part, Calibrator: cal}
			b.ReportAllocs()
			for b.Loop() {
				set.Record(res, nil)
			}
		})
	}
}
