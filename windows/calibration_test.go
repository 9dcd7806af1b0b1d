package windows

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// TestCalibrationReport builds references as the stream and the profile
// builder do (identity-calibrated estimates, scores sketched at reference
// compression, joined outcomes) and checks the report against the shifts
// computed row by row: the CBPE rates of the rows' calibrated
// probabilities minus those of their raw scores.
func TestCalibrationReport(t *testing.T) {
	const n = 50_000
	sq := func(s float64) float64 { return s * s }
	id := func(s float64) float64 { return s }
	tests := []struct {
		name    string
		g       func(float64) float64 // P(label | score)
		random  bool                  // predicted class independent of the score
		shiftOK bool
		matters bool
	}{
		{"miscalibrated s², threshold", sq, false, true, true},
		{"calibrated, threshold", id, false, true, false},
		{"predicted class not a threshold", sq, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 8))
			ref := &Reference{Partial: &Partial{Score: sketch.NewNumeric(nil)}}
			ref.SetCompression(sketch.ReferenceCompression)
			type row struct {
				s    float64
				pred bool
			}
			rows := make([]row, n)
			for i := range rows {
				s := 1 / (1 + math.Exp(-(-0.5 + 1.5*r.NormFloat64())))
				pred := s >= 0.5
				if tt.random {
					pred = r.Float64() < 0.4
				}
				rows[i] = row{s, pred}
				ref.Estimate.Add(s, pred)
				ref.Score.Add(s)
				ref.Perf.Add(s, pred, r.Float64() < tt.g(s))
			}
			ref.Finish()
			rep := ref.CalibrationReport()
			raw, calib, _ := perf.CalibrationErrors(&ref.Perf)
			if !rep.ECEOK || rep.RawECE != raw || rep.CalibratedECE != calib {
				t.Errorf("ECE %v %v %v, want %v %v", rep.ECEOK, rep.RawECE, rep.CalibratedECE, raw, calib)
			}
			if rep.ShiftOK != tt.shiftOK || rep.Matters != tt.matters {
				t.Fatalf("ShiftOK %v Matters %v (shifts %v), want %v %v", rep.ShiftOK, rep.Matters, rep.Shift, tt.shiftOK, tt.matters)
			}
			if !rep.ShiftOK {
				return
			}
			var rawE, calE perf.Estimate
			for _, rw := range rows {
				rawE.Add(rw.s, rw.pred)
				calE.Add(ref.Calibrator.Calibrate(rw.s), rw.pred)
			}
			for _, m := range perf.Metrics() {
				a, _ := rawE.Expected().Rate(m)
				b, _ := calE.Expected().Rate(m)
				want := math.Abs(b - a)
				got, ok := rep.Shift[m]
				if !ok || math.Abs(got-want) > 0.001 {
					t.Errorf("%v: shift %v (present %v), row by row %v", m, got, ok, want)
				}
			}
			t.Logf("ECE raw %.4f calibrated %.4f; FPR shift %.4f", rep.RawECE, rep.CalibratedECE, rep.Shift[perf.MetricFPR])
		})
	}
	// Without labels there is no calibrator and nothing to report.
	empty := &Reference{Partial: &Partial{Score: sketch.NewNumeric(nil)}}
	empty.Finish()
	if rep := empty.CalibrationReport(); rep.ECEOK || rep.ShiftOK || rep.Matters {
		t.Errorf("empty reference: %+v", rep)
	}
}

// TestAggregationCalibration runs a stream reference through an
// aggregation: when it completes, Output carries its calibration report;
// a window after the reference's end gets its estimated ROC AUC with the
// reference's calibrator, a window inside it with the identity (as its
// predictions were estimated).
func TestAggregationCalibration(t *testing.T) {
	set := coreSettings(t, 1)
	a := NewAggregation(set, 0)
	const model = 1 // b, with a stream reference
	from, to := set.Ranges[model][0], set.Ranges[model][1]
	r := rand.New(rand.NewPCG(12, 12))
	pane := func(start int64, labelled bool) *Partial {
		p := set.Layout.NewPartial(model)
		p.reset(model, start, start+60_000)
		for range 300 {
			s := 1 / (1 + math.Exp(-1.5*r.NormFloat64()))
			p.Predictions++
			p.Estimate.Add(s, s >= 0.5)
			p.Score.Add(s)
			if labelled {
				p.Perf.Add(s, s >= 0.5, r.Float64() < s*s)
			}
		}
		return p
	}
	first := pane(from, true)
	sendPane(a, t, first)
	for start := from + 60_000; start < to; start += 60_000 {
		sendPane(a, t, pane(start, true))
	}
	after := pane(to, false)
	sendPane(a, t, after)
	progress(a, t, 0, to+60_000, false, false)
	if err := a.Advance(); err != nil {
		t.Fatal(err)
	}
	out := a.Output()
	ref := a.Reference(model)
	if len(out.Completed) != 1 || out.Completed[0] != model || len(out.Calibrations) != 1 {
		t.Fatalf("completed %v with %d reports", out.Completed, len(out.Calibrations))
	}
	if rep := out.Calibrations[0]; !rep.ECEOK || !rep.ShiftOK || !rep.Matters || !reflect.DeepEqual(rep, ref.CalibrationReport()) {
		t.Errorf("report %+v, want the reference's, with errors and a shift that matters", rep)
	}
	auc := func(p *Partial, cal *perf.Calibrator) float64 {
		vs, ws := p.Score.Masses()
		v, _, _ := perf.EstimatedAUC(vs, ws, cal)
		return v
	}
	found := 0
	for _, rec := range out.Closed {
		if rec.Model != "b" || rec.Window != "1m" || rec.Estimated.AUC == nil {
			continue
		}
		switch rec.Start.UnixMilli() {
		case from:
			found++
			if want := auc(first, nil); *rec.Estimated.AUC != want {
				t.Errorf("reference window: estimated AUC %v, want %v (identity)", *rec.Estimated.AUC, want)
			}
		case to:
			found++
			if want := auc(after, ref.Calibrator); *rec.Estimated.AUC != want || want == auc(after, nil) {
				t.Errorf("window after the reference: estimated AUC %v, want %v (calibrated)", *rec.Estimated.AUC, want)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d of the two windows checked", found)
	}
	a.ResetOutput()
	if len(a.Output().Calibrations) != 0 {
		t.Error("ResetOutput kept the calibration reports")
	}
}
