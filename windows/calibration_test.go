package windows

import (
	"math"
	"math/rand/v2"
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
