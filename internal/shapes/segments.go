package shapes

import (
	"fmt"
	"slices"

	"github.com/reckonhq/reckon/results"
)

// SplitSegments applies the max_values rule to a window's figures per
// value ("" for none): the max smallest values in byte order are kept
// apart, every other one goes to "other" with the missing value, and
// overflow counts the predictions of values beyond max.
func SplitSegments(max int, byValue map[string]*SegmentWindow) (kept map[string]SegmentWindow, overflow uint64) {
	var values []string
	for v := range byValue {
		if v != "" && v != "other" {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	kept = map[string]SegmentWindow{}
	var other SegmentWindow
	for i, v := range values {
		if i < max {
			kept[v] = *byValue[v]
			continue
		}
		other.add(byValue[v])
		overflow += byValue[v].Predictions
	}
	for _, v := range []string{"", "other"} {
		if s := byValue[v]; s != nil {
			other.add(s)
		}
	}
	if other != (SegmentWindow{}) {
		kept["other"] = other
	}
	return kept, overflow
}

// ratio is num/den as reckon computes a rate, false when den is 0.
func ratio(num, den uint64) (float64, bool) {
	if den == 0 {
		return 0, false
	}
	return float64(num) / float64(den), true
}

// checkSegments compares a record's split of c with the model's figures:
// counts, confusion, FPR and TPR, and their ratio to the model's, exactly.
func checkSegments(max int, byValue map[string]*SegmentWindow, r *results.Record) error {
	want, overflow := SplitSegments(max, byValue)
	got, ok := r.Segments["c"]
	if !ok {
		if len(want) == 0 {
			return nil
		}
		return fmt.Errorf("no segments, want %d values", len(want))
	}
	if got.Overflow != overflow {
		return fmt.Errorf("overflow %d, want %d", got.Overflow, overflow)
	}
	if len(got.Values) != len(want) {
		return fmt.Errorf("%d values %v, want %d %v", len(got.Values), keys(got.Values), len(want), want)
	}
	for v, w := range want {
		g, ok := got.Values[v]
		if !ok {
			return fmt.Errorf("value %q missing", v)
		}
		have := SegmentWindow{Predictions: g.Predictions, Errors: g.Errors, Outcomes: g.Outcomes,
			TP: g.Confusion.TP, FP: g.Confusion.FP, TN: g.Confusion.TN, FN: g.Confusion.FN,
			PredPos: w.PredPos, PredNeg: w.PredNeg} // not in the record: checked through the estimate below
		if have != w {
			return fmt.Errorf("value %q:\n got %+v\nwant %+v", v, have, w)
		}
		for _, rt := range []struct {
			name       string
			got, model *float64
			num, den   uint64
		}{
			{"fpr", g.Rates.FPR, r.Rates.FPR, w.FP, w.FP + w.TN},
			{"tpr", g.Rates.TPR, r.Rates.TPR, w.TP, w.TP + w.FN},
			{"precision", g.Rates.Precision, nil, w.TP, w.TP + w.FP},
			{"accuracy", g.Rates.Accuracy, nil, w.TP + w.TN, w.TP + w.FP + w.TN + w.FN},
			{"f1", g.Rates.F1, nil, 2 * w.TP, 2*w.TP + w.FP + w.FN},
			// Every score is 0.5: the expected confusion is half of each
			// predicted class, so both estimated rates are the share
			// predicted positive.
			{"estimated fpr", g.Estimated.FPR, nil, w.PredPos, w.PredPos + w.PredNeg},
			{"estimated tpr", g.Estimated.TPR, nil, w.PredPos, w.PredPos + w.PredNeg},
		} {
			x, ok := ratio(rt.num, rt.den)
			if ok != (rt.got != nil) || ok && *rt.got != x {
				return fmt.Errorf("value %q: %s %v, want %v (defined %v)", v, rt.name, deref(rt.got), x, ok)
			}
			if rt.name != "fpr" && rt.name != "tpr" {
				continue
			}
			ratioOK := ok && rt.model != nil && *rt.model != 0
			gr, has := g.RateRatio[rt.name]
			if has != ratioOK || ratioOK && gr != x / *rt.model {
				return fmt.Errorf("value %q: %s ratio %v (present %v), want %v (present %v)", v, rt.name, gr, has, x/deref(rt.model), ratioOK)
			}
		}
	}
	return nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
