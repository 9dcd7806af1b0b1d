package perf

import "math"

// Multiclass accumulates the realised performance of a multiclass model
// over one window: the confusion matrix of its K declared classes from
// joined (predicted class, label class) pairs. A pair with an undeclared
// class on either side (index < 0) is counted in Undeclared and kept out
// of every per-class figure.
//
// The zero Multiclass has no classes; NewMulticlass or Init sizes it. Counts
// merge exactly in any order. It is owned by one goroutine.
type Multiclass struct {
	k          int
	conf       []uint64 // conf[label*k+predicted]
	undeclared uint64
}

// NewMulticlass returns an empty matrix of k classes.
func NewMulticlass(k int) *Multiclass {
	m := &Multiclass{}
	m.Init(k)
	return m
}

// Init empties m and sizes it for k classes, keeping its memory when it
// can.
func (m *Multiclass) Init(k int) {
	m.k = k
	if cap(m.conf) >= k*k {
		m.conf = m.conf[:k*k]
		clear(m.conf)
	} else {
		m.conf = make([]uint64, k*k)
	}
	m.undeclared = 0
}

// Reset empties m, keeping its classes.
func (m *Multiclass) Reset() { m.Init(m.k) }

// Classes is K.
func (m *Multiclass) Classes() int { return m.k }

// Add records one joined pair of class indexes. It does not allocate.
func (m *Multiclass) Add(predicted, label int) {
	if predicted < 0 || label < 0 || predicted >= m.k || label >= m.k {
		m.undeclared++
		return
	}
	m.conf[label*m.k+predicted]++
}

// Merge adds o's pairs into m; both must have the same classes (the
// caller's: a model's classes are its configuration's). A nil o is a
// no-op.
func (m *Multiclass) Merge(o *Multiclass) {
	if o == nil {
		return
	}
	for i, n := range o.conf {
		m.conf[i] += n
	}
	m.undeclared += o.undeclared
}

// Cell returns how many pairs had label class label and predicted class
// predicted.
func (m *Multiclass) Cell(label, predicted int) uint64 { return m.conf[label*m.k+predicted] }

// Undeclared is the number of pairs with an undeclared class.
func (m *Multiclass) Undeclared() uint64 { return m.undeclared }

// Count is the number of pairs in the matrix (undeclared ones excluded).
func (m *Multiclass) Count() uint64 {
	var n uint64
	for _, c := range m.conf {
		n += c
	}
	return n
}

// ClassConfusion is class c's one-vs-rest confusion matrix.
func (m *Multiclass) ClassConfusion(c int) Confusion {
	var row, col uint64
	for j := range m.k {
		row += m.conf[c*m.k+j]
		col += m.conf[j*m.k+c]
	}
	tp := m.conf[c*m.k+c]
	n := m.Count()
	return Confusion{TP: tp, FP: col - tp, FN: row - tp, TN: n - row - col + tp}
}

// Accuracy is the share of pairs on the diagonal; ok is false when there
// are none.
func (m *Multiclass) Accuracy() (float64, bool) {
	n := m.Count()
	if n == 0 {
		return 0, false
	}
	var d uint64
	for c := range m.k {
		d += m.conf[c*m.k+c]
	}
	return float64(d) / float64(n), true
}

// F1 returns the macro average of the classes' F1 scores (over the classes
// that were labelled or predicted in the window: the others have none) and
// their weighted average by support (labelled pairs). A class with pairs
// but no true positive has F1 0. ok is false when there are no pairs.
func (m *Multiclass) F1() (macro, weighted float64, ok bool) {
	n := m.Count()
	if n == 0 {
		return 0, 0, false
	}
	var sum, wsum float64
	present := 0
	for c := range m.k {
		cc := m.ClassConfusion(c)
		den := 2*cc.TP + cc.FP + cc.FN
		if den == 0 {
			continue
		}
		f1 := float64(2*cc.TP) / float64(den)
		present++
		sum += f1
		wsum += f1 * float64(cc.TP+cc.FN)
	}
	return sum / float64(present), wsum / float64(n), true
}

const (
	magicMulticlass   = "RKPM"
	multiclassVersion = 1
	magicClassEst     = "RKPK"
	classEstVersion   = 1
)

// AppendBinary appends the encoding of m to b. It never fails.
func (m *Multiclass) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(magicMulticlass, multiclassVersion)
	e.uvarint(uint64(m.k))
	for _, c := range m.conf {
		e.uvarint(c)
	}
	e.uvarint(m.undeclared)
	return e.b, nil
}

// maxClasses bounds a decoded class count, so that corrupt input cannot
// make a decoder allocate without bound.
const maxClasses = 4096

// UnmarshalBinary replaces m with the decoded matrix; on error, a
// [*DecodeError], m is unchanged.
func (m *Multiclass) UnmarshalBinary(data []byte) error {
	d := newDecoder("Multiclass", data)
	if v := d.header(magicMulticlass); d.Err() == nil && v != multiclassVersion {
		d.fail(ErrVersion, "this build reads version %d", multiclassVersion)
	}
	k := d.Uvarint()
	if d.Err() == nil && (k > maxClasses || k*k > uint64(d.Len())) {
		d.fail(ErrCorrupt, "%d classes in %d bytes", k, d.Len())
	}
	if d.Err() != nil {
		return d.Err()
	}
	conf := make([]uint64, k*k)
	for i := range conf {
		conf[i] = d.Uvarint()
	}
	u := d.Uvarint()
	if err := d.End(); err != nil {
		return err
	}
	m.k, m.conf, m.undeclared = int(k), conf, u
	return nil
}

// ClassEstimate is confidence-based performance estimation (CBPE) for a
// multiclass model: from each prediction's class probabilities, before
// labels, the expected one-vs-rest confusion matrix of every class. For a
// prediction of class i with probabilities p:
//
//	E[TP_i] += p_i   E[FP_i] += 1 − p_i
//	E[FN_c] += p_c   E[TN_c] += 1 − p_c   for every other class c
//
// State is a count of scored predictions per predicted class and an exact
// sum of each class's probability per predicted class (K² sums), so
// ClassEstimates merge bit for bit in any order. Predictions without scores
// (or with an undeclared class) are counted in Unscored only.
type ClassEstimate struct {
	k        int
	n        []uint64 // scored predictions by predicted class
	p        []sum128 // p[i*k+c]: Σ p_c over predictions of class i
	unscored uint64
}

// Init empties e and sizes it for k classes, keeping its memory when it
// can.
func (e *ClassEstimate) Init(k int) {
	e.k = k
	if cap(e.n) >= k && cap(e.p) >= k*k {
		e.n, e.p = e.n[:k], e.p[:k*k]
		clear(e.n)
		clear(e.p)
	} else {
		e.n, e.p = make([]uint64, k), make([]sum128, k*k)
	}
	e.unscored = 0
}

// Reset empties e, keeping its classes.
func (e *ClassEstimate) Reset() { e.Init(e.k) }

// Classes is K.
func (e *ClassEstimate) Classes() int { return e.k }

// Add records one prediction of class predicted with probabilities scores
// (nil: none). It does not allocate.
func (e *ClassEstimate) Add(predicted int, scores []float64) {
	if scores == nil || predicted < 0 || predicted >= e.k || len(scores) < e.k {
		e.unscored++
		return
	}
	e.n[predicted]++
	row := e.p[predicted*e.k : (predicted+1)*e.k]
	for c := range row {
		row[c].add(clamp01(scores[c]))
	}
}

// Merge adds o into e (same classes). A nil o is a no-op.
func (e *ClassEstimate) Merge(o *ClassEstimate) {
	if o == nil {
		return
	}
	for i := range o.n {
		e.n[i] += o.n[i]
	}
	for i := range o.p {
		e.p[i].merge(o.p[i])
	}
	e.unscored += o.unscored
}

// Count is the number of scored predictions.
func (e *ClassEstimate) Count() uint64 {
	var n uint64
	for _, x := range e.n {
		n += x
	}
	return n
}

// Unscored is the number of predictions left out.
func (e *ClassEstimate) Unscored() uint64 { return e.unscored }

// Expected returns class c's expected one-vs-rest confusion matrix.
func (e *ClassEstimate) Expected(c int) ExpectedConfusion {
	var out ExpectedConfusion
	for i := range e.k {
		s := e.p[i*e.k+c]
		if i == c {
			out.TP = s.float()
			out.FP = complementOf(e.n[i], s).float()
		} else {
			out.FN += s.float()
			out.TN += complementOf(e.n[i], s).float()
		}
	}
	return out
}

// Accuracy is the expected accuracy: Σᵢ E[TPᵢ] over the scored
// predictions; ok is false when there are none.
func (e *ClassEstimate) Accuracy() (float64, bool) {
	n := e.Count()
	if n == 0 {
		return math.NaN(), false
	}
	var s sum128
	for i := range e.k {
		s.merge(e.p[i*e.k+i])
	}
	return s.float() / float64(n), true
}

// AppendBinary appends the encoding of e to b. It never fails.
func (e *ClassEstimate) AppendBinary(b []byte) ([]byte, error) {
	enc := encoder{b}
	enc.header(magicClassEst, classEstVersion)
	enc.uvarint(uint64(e.k))
	for _, n := range e.n {
		enc.uvarint(n)
	}
	for _, s := range e.p {
		enc.sum(s)
	}
	enc.uvarint(e.unscored)
	return enc.b, nil
}

// UnmarshalBinary replaces e with the decoded estimate; on error, a
// [*DecodeError], e is unchanged.
func (e *ClassEstimate) UnmarshalBinary(data []byte) error {
	d := newDecoder("ClassEstimate", data)
	if v := d.header(magicClassEst); d.Err() == nil && v != classEstVersion {
		d.fail(ErrVersion, "this build reads version %d", classEstVersion)
	}
	k := d.Uvarint()
	if d.Err() == nil && (k > maxClasses || k*k > uint64(d.Len())) {
		d.fail(ErrCorrupt, "%d classes in %d bytes", k, d.Len())
	}
	if d.Err() != nil {
		return d.Err()
	}
	t := ClassEstimate{k: int(k), n: make([]uint64, k), p: make([]sum128, k*k)}
	for i := range t.n {
		t.n[i] = d.Uvarint()
	}
	for i := range t.p {
		t.p[i] = d.sum()
	}
	t.unscored = d.Uvarint()
	if err := d.End(); err != nil {
		return err
	}
	for i := range t.k {
		for c := range t.k {
			if !t.p[i*t.k+c].lessEqCount(t.n[i]) {
				d.fail(ErrCorrupt, "probability sums exceed their counts")
				return d.Err()
			}
		}
	}
	*e = t
	return nil
}
