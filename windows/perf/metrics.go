package perf

import (
	"fmt"
	"strconv"
)

// Metric names one of the confusion-matrix rates that are both realised
// (from labels, [Confusion]) and estimated (from scores, [ExpectedConfusion]).
type Metric uint8

// The rates. Each is a ratio whose denominator can be zero; the accessors
// then report ok=false rather than NaN, so the caller can leave the series
// absent instead of exporting NaN.
const (
	MetricFPR       Metric = iota + 1 // false-positive rate FP/(FP+TN)
	MetricTPR                         // true-positive rate (recall) TP/(TP+FN)
	MetricPrecision                   // precision TP/(TP+FP)
	MetricAccuracy                    // accuracy (TP+TN)/(TP+FP+TN+FN)
	MetricF1                          // F1 2TP/(2TP+FP+FN), the harmonic mean of precision and recall
)

// Metrics lists every Metric, in declaration order.
func Metrics() []Metric {
	return []Metric{MetricFPR, MetricTPR, MetricPrecision, MetricAccuracy, MetricF1}
}

// String returns the metric's short name: "fpr", "tpr", "precision",
// "accuracy", "f1".
func (m Metric) String() string {
	switch m {
	case MetricFPR:
		return "fpr"
	case MetricTPR:
		return "tpr"
	case MetricPrecision:
		return "precision"
	case MetricAccuracy:
		return "accuracy"
	case MetricF1:
		return "f1"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// ratio returns num/den, or ok=false when den is zero.
func ratio(num, den float64) (float64, bool) {
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// rate computes metric m from the four cells of a confusion matrix.
func rate(m Metric, tp, fp, tn, fn float64) (float64, bool) {
	switch m {
	case MetricFPR:
		return ratio(fp, fp+tn)
	case MetricTPR:
		return ratio(tp, tp+fn)
	case MetricPrecision:
		return ratio(tp, tp+fp)
	case MetricAccuracy:
		return ratio(tp+tn, tp+fp+tn+fn)
	case MetricF1:
		return ratio(2*tp, 2*tp+fp+fn)
	}
	return 0, false
}

// Confusion is a realised confusion matrix: counts of joined predictions by
// predicted class and label. These are the counts published as
// reckon_window_confusion{outcome="tp"|"fp"|"tn"|"fn"}.
type Confusion struct {
	TP, FP, TN, FN uint64
}

// Total returns TP+FP+TN+FN.
func (c Confusion) Total() uint64 { return c.TP + c.FP + c.TN + c.FN }

// Cell is a cell of the confusion matrix.
type Cell uint8

// The cells, in the order of Confusion's fields.
const (
	CellTP Cell = iota
	CellFP
	CellTN
	CellFN
	NumCells
)

var cellNames = [NumCells]string{"tp", "fp", "tn", "fn"}

// String is the cell's name, the `outcome` label value of
// reckon_confusion_total and reckon_window_confusion.
func (c Cell) String() string {
	if c < NumCells {
		return cellNames[c]
	}
	return "Cell(" + strconv.Itoa(int(c)) + ")"
}

// CellOf is the cell of a prediction of class predicted whose label is
// label: the one place a joined pair is classified.
func CellOf(predicted, label bool) Cell {
	switch {
	case predicted && label:
		return CellTP
	case predicted:
		return CellFP
	case label:
		return CellFN
	}
	return CellTN
}

// Cells returns the counts indexed by Cell.
func (c Confusion) Cells() [NumCells]uint64 { return [NumCells]uint64{c.TP, c.FP, c.TN, c.FN} }

// add counts one pair in cell.
func (c *Confusion) add(cell Cell) {
	switch cell {
	case CellTP:
		c.TP++
	case CellFP:
		c.FP++
	case CellTN:
		c.TN++
	default:
		c.FN++
	}
}

// Rate returns metric m, with ok=false when its denominator is zero.
func (c Confusion) Rate(m Metric) (v float64, ok bool) {
	return rate(m, float64(c.TP), float64(c.FP), float64(c.TN), float64(c.FN))
}

// FPR returns FP/(FP+TN); ok is false when there were no negative labels.
func (c Confusion) FPR() (v float64, ok bool) { return c.Rate(MetricFPR) }

// TPR returns TP/(TP+FN); ok is false when there were no positive labels.
func (c Confusion) TPR() (v float64, ok bool) { return c.Rate(MetricTPR) }

// Precision returns TP/(TP+FP); ok is false when nothing was predicted
// positive.
func (c Confusion) Precision() (v float64, ok bool) { return c.Rate(MetricPrecision) }

// Accuracy returns (TP+TN)/Total; ok is false when the matrix is empty.
func (c Confusion) Accuracy() (v float64, ok bool) { return c.Rate(MetricAccuracy) }

// F1 returns 2TP/(2TP+FP+FN), the harmonic mean of precision and recall;
// ok is false when there was no positive, predicted or labelled.
func (c Confusion) F1() (v float64, ok bool) { return c.Rate(MetricF1) }

// ExpectedConfusion is a confusion matrix of expected counts, estimated from
// calibrated probabilities without labels (see [Estimate]). Its cells are
// real numbers; TP+FP and TN+FN are the exact numbers of predicted positives
// and negatives.
type ExpectedConfusion struct {
	TP, FP, TN, FN float64
}

// Total returns TP+FP+TN+FN, the number of predictions estimated over.
func (c ExpectedConfusion) Total() float64 { return c.TP + c.FP + c.TN + c.FN }

// Rate returns the estimate of metric m, with ok=false when its denominator
// is zero.
func (c ExpectedConfusion) Rate(m Metric) (v float64, ok bool) {
	return rate(m, c.TP, c.FP, c.TN, c.FN)
}

// FPR returns E[FP]/(E[FP]+E[TN]); ok is false when that is 0/0.
func (c ExpectedConfusion) FPR() (v float64, ok bool) { return c.Rate(MetricFPR) }

// TPR returns E[TP]/(E[TP]+E[FN]); ok is false when that is 0/0.
func (c ExpectedConfusion) TPR() (v float64, ok bool) { return c.Rate(MetricTPR) }

// Precision returns E[TP]/(E[TP]+E[FP]); ok is false when nothing was
// predicted positive.
func (c ExpectedConfusion) Precision() (v float64, ok bool) { return c.Rate(MetricPrecision) }

// Accuracy returns (E[TP]+E[TN])/Total; ok is false when there were no
// predictions.
func (c ExpectedConfusion) Accuracy() (v float64, ok bool) { return c.Rate(MetricAccuracy) }

// Gap returns estimated − realised for metric m: positive when the estimate
// (from scores) is above what the labels later showed. ok is false when
// either side is undefined.
//
// The two sides should describe the same predictions. In reckon they
// usually do not quite: an [Estimate] is keyed by prediction time and a
// [Window] by outcome time (docs/metrics.md), so compare windows long enough
// that the label delay is small against them, or compare an Estimate with a
// Window fed the same joined predictions.
func Gap(m Metric, estimated ExpectedConfusion, realised Confusion) (gap float64, ok bool) {
	e, ok := estimated.Rate(m)
	if !ok {
		return 0, false
	}
	r, ok := realised.Rate(m)
	if !ok {
		return 0, false
	}
	return e - r, true
}
