package perf

// Estimate accumulates confidence-based performance estimation (CBPE) over
// one window's predictions; it needs no labels.
//
// For each prediction with calibrated probability p of the positive class
// and predicted class ŷ it adds the expected confusion cells:
//
//	E[TP] += p·ŷ   E[FP] += (1−p)·ŷ   E[TN] += (1−p)·(1−ŷ)   E[FN] += p·(1−ŷ)
//
// so that, for example, the estimated false-positive rate is
// E[FP]/(E[FP]+E[TN]). The estimate is unbiased when p is the true
// probability of a positive label given the score, that is when the
// Calibrator is right for the current data; see the package documentation
// for when it is not.
//
// The zero Estimate is empty and ready to use. State is two counts and two
// exact sums (see the package documentation on determinism), so Estimates
// merge bit for bit in any order. An Estimate is not safe for concurrent
// use; it is owned by one goroutine.
type Estimate struct {
	predPos, predNeg uint64 // predictions by predicted class
	probPos, probNeg sum128 // Σ p over predicted positives / negatives
	skipped          uint64 // Add calls with p = NaN
}

// NewEstimate returns an empty Estimate. It is the same as new(Estimate).
func NewEstimate() *Estimate { return new(Estimate) }

// Add records one prediction: p is its calibrated probability of the
// positive class, normally [Calibrator.Calibrate] of the score, and
// predicted its predicted class. p is clamped into [0,1]. A NaN p (no
// score) is not counted in the estimate, only in [Estimate.Skipped]. Add
// does not allocate.
func (e *Estimate) Add(p float64, predicted bool) {
	if isNaN(p) {
		e.skipped++
		return
	}
	q := quantize(clamp01(p))
	if predicted {
		e.predPos++
		e.probPos.addFixed(q)
	} else {
		e.predNeg++
		e.probNeg.addFixed(q)
	}
}

// Merge adds other's predictions to e. A nil other is a no-op; other may be
// e.
func (e *Estimate) Merge(other *Estimate) {
	if other == nil {
		return
	}
	e.predPos += other.predPos
	e.predNeg += other.predNeg
	e.probPos.merge(other.probPos)
	e.probNeg.merge(other.probNeg)
	e.skipped += other.skipped
}

// Reset empties e for reuse.
func (e *Estimate) Reset() { *e = Estimate{} }

// Count returns the number of predictions estimated over (NaN excluded).
func (e *Estimate) Count() uint64 { return e.predPos + e.predNeg }

// Skipped returns the number of Add calls with a NaN probability.
func (e *Estimate) Skipped() uint64 { return e.skipped }

// Expected returns the expected confusion matrix. E[TP]+E[FP] is exactly the
// number of predicted positives, E[TN]+E[FN] that of predicted negatives.
func (e *Estimate) Expected() ExpectedConfusion {
	return ExpectedConfusion{
		TP: e.probPos.float(),
		FP: complementOf(e.predPos, e.probPos).float(),
		TN: complementOf(e.predNeg, e.probNeg).float(),
		FN: e.probNeg.float(),
	}
}

// FPR returns the estimated false-positive rate E[FP]/(E[FP]+E[TN]); ok is
// false when that is 0/0 (no predictions, or all with p = 1).
func (e *Estimate) FPR() (v float64, ok bool) { return e.Expected().FPR() }

// TPR returns the estimated true-positive rate E[TP]/(E[TP]+E[FN]); ok is
// false when that is 0/0.
func (e *Estimate) TPR() (v float64, ok bool) { return e.Expected().TPR() }

// Precision returns the estimated precision E[TP]/(E[TP]+E[FP]), the mean p
// of predicted positives; ok is false when nothing was predicted positive.
func (e *Estimate) Precision() (v float64, ok bool) { return e.Expected().Precision() }

// Accuracy returns the estimated accuracy (E[TP]+E[TN])/Count; ok is false
// when there were no predictions.
func (e *Estimate) Accuracy() (v float64, ok bool) { return e.Expected().Accuracy() }

const estimateVersion = 1

// MarshalBinary encodes e (version 1). It never fails.
func (e *Estimate) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// AppendBinary appends the encoding of e to b. It never fails.
func (e *Estimate) AppendBinary(b []byte) ([]byte, error) {
	enc := encoder{b}
	enc.header(magicEstimate, estimateVersion)
	enc.uvarint(e.predPos)
	enc.uvarint(e.predNeg)
	enc.sum(e.probPos)
	enc.sum(e.probNeg)
	enc.uvarint(e.skipped)
	return enc.b, nil
}

// UnmarshalBinary replaces e with the decoded estimate. On error, which is a
// [*DecodeError], e is unchanged.
func (e *Estimate) UnmarshalBinary(data []byte) error {
	d := newDecoder("Estimate", data)
	if v := d.header(magicEstimate); d.Err() == nil && v != estimateVersion {
		d.fail(ErrVersion, "this build reads version %d", estimateVersion)
	}
	var t Estimate
	t.predPos = d.Uvarint()
	t.predNeg = d.Uvarint()
	t.probPos = d.sum()
	t.probNeg = d.sum()
	t.skipped = d.Uvarint()
	if err := d.End(); err != nil {
		return err
	}
	if !t.probPos.lessEqCount(t.predPos) || !t.probNeg.lessEqCount(t.predNeg) {
		d.fail(ErrCorrupt, "probability sums exceed their counts")
		return d.Err()
	}
	*e = t
	return nil
}
