package perf

import (
	"encoding/binary"
	"math/bits"
)

// Layout of a Window's score statistics. They are fixed so that any two
// Windows can be merged and every encoding is comparable.
const (
	// NumScoreBins is the number of equal-width bins over [0,1] in each
	// per-class score histogram used for the ROC AUC and for fitting a
	// Calibrator. Bin b holds scores s with ⌊s·NumScoreBins⌋ = b (s = 1 goes
	// to the last bin); the width is w = 1/2048 ≈ 0.00049. A power of two
	// makes the bin index exact in floating point.
	NumScoreBins = 2048
	// NumCalibrationBins is the number of equal-width bins over [0,1] used
	// for the Expected Calibration Error, the customary ten. Bin b holds
	// scores with ⌊10·s⌋ = b as computed in float64 (s = 1 goes to bin 9).
	NumCalibrationBins = 10
)

// calBin is one Expected Calibration Error bin.
type calBin struct {
	n, positives uint64 // scored triples and how many had a positive label
	scores       sum128 // Σ score, exact
}

// Window accumulates the realised performance of a binary classifier over
// one window from joined (score, predicted, label) triples.
//
// The zero Window is empty and ready to use. A Window is about 400 bytes
// until its first scored triple, then 33 KiB more (two histograms of
// [NumScoreBins] uint64 counts, allocated then and kept by Reset): a window
// pane that only counts outcomes (one read ahead of its predictions, say)
// stays small. Its binary encoding stores only the non-empty histogram
// bins.
//
// Every observation counts in the confusion matrix. The score statistics
// (Brier, ECE, AUC) count only observations with a score: pass math.NaN()
// as the score of a prediction that has none (a status "error" event, say)
// and it is left out of them. Scores are clamped into [0,1] (they should
// already be there: docs/events.md), so an out-of-range score ranks as 0 or 1.
//
// A Window is not safe for concurrent use; it is owned by one goroutine.
type Window struct {
	conf   Confusion
	scored uint64 // triples with a non-NaN score
	brier  sum128 // Σ (score − label)², exact
	cal    [NumCalibrationBins]calBin
	// hist is nil until the first scored triple: all zero.
	hist *scoreHist
}

// scoreHist are the score histograms of negative and positive labels.
type scoreHist struct {
	neg, pos [NumScoreBins]uint64
}

// histogram returns w's histograms, allocating them if needed.
func (w *Window) histogram() *scoreHist {
	if w.hist == nil {
		w.hist = new(scoreHist)
	}
	return w.hist
}

// NewWindow returns an empty Window. It is the same as new(Window).
func NewWindow() *Window { return new(Window) }

// scoreBin returns the fine histogram bin of s ∈ [0,1].
func scoreBin(s float64) int {
	b := int(s * NumScoreBins) // exact: power-of-two scaling
	if b == NumScoreBins {
		b--
	}
	return b
}

// calibrationBin returns the ECE bin of s ∈ [0,1].
func calibrationBin(s float64) int {
	b := int(s * NumCalibrationBins)
	if b >= NumCalibrationBins {
		b = NumCalibrationBins - 1
	}
	return b
}

// Add records one joined prediction: its score (the model's probability of
// the positive class, or NaN when there is none), its predicted class and
// its label. It does not allocate and costs a few tens of nanoseconds.
func (w *Window) Add(score float64, predicted, label bool) {
	w.conf.add(CellOf(predicted, label))
	if isNaN(score) {
		return
	}
	s := clamp01(score)
	w.scored++
	y := 0.0
	if label {
		y = 1
	}
	d := s - y
	w.brier.add(d * d)
	cb := &w.cal[calibrationBin(s)]
	cb.n++
	cb.scores.add(s)
	b := scoreBin(s)
	h := w.histogram()
	if label {
		cb.positives++
		h.pos[b]++
	} else {
		h.neg[b]++
	}
}

// Merge adds other's observations to w, as if every triple added to other
// had been added to w. Merging is associative and commutative, bit for bit.
// other is not modified (it may be w itself, which doubles w). A nil other
// is a no-op.
func (w *Window) Merge(other *Window) {
	if other == nil {
		return
	}
	w.conf.TP += other.conf.TP
	w.conf.FP += other.conf.FP
	w.conf.TN += other.conf.TN
	w.conf.FN += other.conf.FN
	w.scored += other.scored
	w.brier.merge(other.brier)
	for i := range w.cal {
		w.cal[i].n += other.cal[i].n
		w.cal[i].positives += other.cal[i].positives
		w.cal[i].scores.merge(other.cal[i].scores)
	}
	if other.scored == 0 {
		return // its histograms are empty, or not there
	}
	h, o := w.histogram(), other.hist
	for i := range h.neg {
		h.neg[i] += o.neg[i]
	}
	for i := range h.pos {
		h.pos[i] += o.pos[i]
	}
}

// Reset empties w for reuse, keeping its histograms' memory.
func (w *Window) Reset() {
	h := w.hist
	*w = Window{}
	if h != nil {
		*h = scoreHist{}
		w.hist = h
	}
}

// Count returns the number of triples added.
func (w *Window) Count() uint64 { return w.conf.Total() }

// Scored returns the number of triples added with a score (not NaN): the
// denominator of Brier and ECE.
func (w *Window) Scored() uint64 { return w.scored }

// Confusion returns the realised confusion matrix.
func (w *Window) Confusion() Confusion { return w.conf }

// FPR returns the false-positive rate FP/(FP+TN); ok is false when no
// triple had a negative label.
func (w *Window) FPR() (v float64, ok bool) { return w.conf.FPR() }

// TPR returns the true-positive rate TP/(TP+FN); ok is false when no triple
// had a positive label.
func (w *Window) TPR() (v float64, ok bool) { return w.conf.TPR() }

// Precision returns TP/(TP+FP); ok is false when nothing was predicted
// positive.
func (w *Window) Precision() (v float64, ok bool) { return w.conf.Precision() }

// Accuracy returns (TP+TN)/Count; ok is false when the window is empty.
func (w *Window) Accuracy() (v float64, ok bool) { return w.conf.Accuracy() }

// F1 returns 2TP/(2TP+FP+FN); ok is false when no triple was predicted or
// labelled positive.
func (w *Window) F1() (v float64, ok bool) { return w.conf.F1() }

// Brier returns the Brier score, the mean of (score − label)² over scored
// triples (0 is perfect, 0.25 is a constant 0.5). ok is false when no triple
// had a score.
func (w *Window) Brier() (v float64, ok bool) {
	return ratio(w.brier.float(), float64(w.scored))
}

// ECE returns the Expected Calibration Error over [NumCalibrationBins]
// equal-width bins: Σ_b (n_b/n)·|mean score_b − positive rate_b|. 0 is
// perfectly calibrated (at this resolution). ok is false when no triple had
// a score.
func (w *Window) ECE() (v float64, ok bool) {
	if w.scored == 0 {
		return 0, false
	}
	var sum float64
	for i := range w.cal {
		d := w.cal[i].scores.float() - float64(w.cal[i].positives)
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return sum / float64(w.scored), true
}

// AUC returns the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half (the
// Mann–Whitney U statistic over P·N). ok is false unless there is at least
// one scored positive and one scored negative.
//
// It is computed from the two score histograms, so pairs whose scores fall
// in the same bin count one half whatever their order. Pairs in different
// bins are ordered exactly. Hence, with P_b and N_b the positives and
// negatives in bin b,
//
//	|AUC − exact AUC| ≤ Σ_b P_b·N_b / (2·P·N) ≤ ½·max_b N_b/N,
//
// the first bound being what [Window.AUCErrorBound] returns. When the
// negatives' score density is at most f, N_b/N ≲ f·w with w = 1/2048, so
// the error is at most about f/4096: ≈ 0.0012 for a density of 5. The
// realised error is typically far smaller, since within a bin the pairs
// split about evenly either way; exact ties (scores rounded to a few
// decimals, or saturated at 0 or 1) incur no error at all, because the exact
// AUC counts them as one half too.
func (w *Window) AUC() (v float64, ok bool) {
	h := w.hist
	if h == nil {
		return 0, false
	}
	var num, below, p, n float64
	for b := range h.pos {
		pb, nb := float64(h.pos[b]), float64(h.neg[b])
		num += float64(pb * (2*below + nb)) // 2 × (pairs above + ½ pairs tied)
		below += nb
		p += pb
	}
	n = below
	if p == 0 || n == 0 {
		return 0, false
	}
	return num / (2 * p * n), true
}

// AUCErrorBound returns the bound Σ_b P_b·N_b / (2·P·N) on |AUC() − exact
// AUC| for the data in w (see [Window.AUC]), or 0 when AUC is undefined.
func (w *Window) AUCErrorBound() float64 {
	h := w.hist
	if h == nil {
		return 0
	}
	var same, p, n float64
	for b := range h.pos {
		pb, nb := float64(h.pos[b]), float64(h.neg[b])
		same += float64(pb * nb)
		p += pb
		n += nb
	}
	if p == 0 || n == 0 {
		return 0
	}
	return same / (2 * p * n)
}

const windowVersion = 1

// MarshalBinary encodes w (version 1: header "RKPW" 1, then uvarints; the
// histograms as runs of non-empty bins). It never fails.
func (w *Window) MarshalBinary() ([]byte, error) { return w.AppendBinary(nil) }

// AppendBinary appends the encoding of w to b, so that a checkpoint of many
// windows can reuse one buffer. It never fails.
func (w *Window) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(magicWindow, windowVersion)
	e.uvarint(w.conf.TP)
	e.uvarint(w.conf.FP)
	e.uvarint(w.conf.TN)
	e.uvarint(w.conf.FN)
	e.uvarint(w.scored)
	e.sum(w.brier)
	for i := range w.cal {
		e.uvarint(w.cal[i].n)
		e.uvarint(w.cal[i].positives)
		e.sum(w.cal[i].scores)
	}
	h := w.hist
	if h == nil {
		h = &emptyHist
	}
	appendHist(&e, &h.neg)
	appendHist(&e, &h.pos)
	return e.b, nil
}

// emptyHist stands for a Window's histograms not allocated.
var emptyHist scoreHist

// appendHist writes the number of non-empty bins, then for each the gap
// from the previous non-empty bin (index − previous − 1) and the count.
func appendHist(e *encoder, h *[NumScoreBins]uint64) {
	k := 0
	for _, c := range h {
		if c != 0 {
			k++
		}
	}
	e.uvarint(uint64(k))
	prev := -1
	for i, c := range h {
		if c != 0 {
			e.uvarint(uint64(i - prev - 1))
			e.uvarint(c)
			prev = i
		}
	}
}

// readHist reads what appendHist wrote into h (nil: it only reads) and
// returns the sum of the counts, with ok false if it overflows.
func readHist(d *decoder, h *[NumScoreBins]uint64) (sum uint64, ok bool) {
	k := d.Uvarint()
	if k > NumScoreBins {
		d.fail(ErrCorrupt, "%d non-empty bins > %d", k, NumScoreBins)
		return 0, true
	}
	next := uint64(0)
	ok = true
	for range k {
		gap := d.Uvarint()
		c := d.Uvarint()
		if d.Err() != nil {
			return 0, true
		}
		if gap >= NumScoreBins-next || c == 0 { // also guards next+gap overflow
			d.fail(ErrCorrupt, "bad histogram bin %d+%d count %d", next, gap, c)
			return 0, true
		}
		i := next + gap
		if h != nil {
			h[i] = c
		}
		var in bool
		if sum, in = addAll(sum, c); !in {
			ok = false
		}
		next = i + 1
	}
	return sum, ok
}

// fillHist reads into h what appendHist wrote at the start of b, which
// readHist has checked, and returns the rest of b.
func fillHist(b []byte, h *[NumScoreBins]uint64) []byte {
	k, n := binary.Uvarint(b)
	b = b[n:]
	next := uint64(0)
	for range k {
		gap, n := binary.Uvarint(b)
		b = b[n:]
		c, n := binary.Uvarint(b)
		b = b[n:]
		h[next+gap] = c
		next += gap + 1
	}
	return b
}

// UnmarshalBinary replaces w with the decoded window. On error, which is a
// [*DecodeError], w is unchanged.
func (w *Window) UnmarshalBinary(data []byte) error {
	d := newDecoder("Window", data)
	if v := d.header(magicWindow); d.Err() == nil && v != windowVersion {
		d.fail(ErrVersion, "this build reads version %d", windowVersion)
	}
	var t Window
	t.conf.TP = d.Uvarint()
	t.conf.FP = d.Uvarint()
	t.conf.TN = d.Uvarint()
	t.conf.FN = d.Uvarint()
	t.scored = d.Uvarint()
	t.brier = d.sum()
	for i := range t.cal {
		t.cal[i].n = d.Uvarint()
		t.cal[i].positives = d.Uvarint()
		t.cal[i].scores = d.sum()
	}
	// The histograms are read twice: checked first, then, once w may
	// change, into w's own (allocated only when not empty).
	hists := d.Rest()
	histNeg, okNeg := readHist(d, nil)
	histPos, okPos := readHist(d, nil)
	if err := d.End(); err != nil {
		return err
	}
	if reason := t.check(histNeg, histPos, okNeg && okPos); reason != "" {
		d.fail(ErrCorrupt, "%s", reason)
		return d.Err()
	}
	if h := w.hist; h != nil {
		*h = scoreHist{}
		t.hist = h
	}
	if t.scored > 0 {
		h := t.histogram()
		fillHist(fillHist(hists, &h.neg), &h.pos)
	}
	*w = t
	return nil
}

// check verifies the invariants that tie a Window's parts together, given
// the sums of its histograms (ok false: they overflow), and returns what is
// violated or "".
func (w *Window) check(histNeg, histPos uint64, ok bool) string {
	if !ok {
		return "histogram counts overflow"
	}
	total, ok := addAll(w.conf.TP, w.conf.FP, w.conf.TN, w.conf.FN)
	if !ok {
		return "confusion counts overflow"
	}
	if w.scored > total {
		return "more scored triples than triples"
	}
	if !w.brier.lessEqCount(w.scored) {
		return "Brier sum exceeds scored count"
	}
	var calN, calPos uint64
	for _, c := range w.cal {
		if c.positives > c.n || !c.scores.lessEqCount(c.n) {
			return "calibration bin sums exceed its count"
		}
		if calN, ok = addAll(calN, c.n); !ok {
			return "calibration counts overflow"
		}
		calPos += c.positives // ≤ calN, cannot overflow
	}
	if calN != w.scored || calPos != histPos {
		return "calibration bins disagree with scored count"
	}
	if hist, ok := addAll(histPos, histNeg); !ok || hist != w.scored {
		return "histograms disagree with scored count"
	}
	return ""
}

// addAll sums vs, reporting false on uint64 overflow.
func addAll(vs ...uint64) (uint64, bool) {
	var s, c uint64
	for _, v := range vs {
		var ci uint64
		s, ci = bits.Add64(s, v, 0)
		c |= ci
	}
	return s, c == 0
}
