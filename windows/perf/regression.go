package perf

import (
	"math"
	"math/big"
)

// Regression accumulates the realised error of a regression model over one
// window from joined (predicted value, label) pairs. The residual of a pair
// is e = predicted − label, so a positive bias is over-prediction.
//
// Every sum is exact (exactSum), so Regressions merge bit for bit in any
// order and split, and each figure is its exact sum rounded once, then
// divided by its count: MAE = Σ|e|/n, RMSE = √(Σe²/n), bias = Σe/n and
// MAPE = Σ(|e|/|label|)/m over the m pairs with a label other than 0 (the
// others are counted in ZeroLabels, not in MAPE). e, e² and |e|/|label| are
// float64 operations on the pair, rounded each as float64 rounds them.
//
// The zero Regression is empty and ready to use. It is about 1.1 KiB;
// pass it by pointer. It is owned by one goroutine.
type Regression struct {
	n, zero  uint64
	pos, neg exactSum // Σ max(e, 0) and Σ max(−e, 0)
	sq       exactSum // Σ e²
	ape      exactSum // Σ |e|/|label| over labels other than 0
	// The pairs by bucket of their predicted value (ValueBucket): a
	// reference's error per bucket, for RegressionEstimate. A bucket's
	// sums are made when it is first used.
	buckets [NumValueBuckets]*bucketError
}

// bucketError is the error of the pairs of one value bucket.
type bucketError struct {
	n       uint64
	abs, sq exactSum
}

// NumValueBuckets is the number of buckets of predicted values: 64 for the
// values >= 0, 64 for the negative ones, each a quarter of an octave of
// 1+|value| wide (ValueBucket).
const NumValueBuckets = 128

// ValueBucket returns the bucket of a predicted value: ⌊4·log₂(1+|v|)⌋,
// at most 63, plus 64 for a negative v. The buckets are fixed, so that
// counts in them merge across panes and references exactly.
func ValueBucket(v float64) int {
	b := int(4 * math.Log2(1+math.Abs(v)))
	b = min(max(b, 0), 63)
	if v < 0 {
		b += 64
	}
	return b
}

// Add records one joined pair. A pair with a non-finite value or label is
// not counted (the event rules let none through). It does not allocate.
func (r *Regression) Add(predicted, label float64) {
	e := predicted - label
	if math.IsNaN(e) || math.IsInf(predicted, 0) || math.IsInf(label, 0) {
		return
	}
	r.n++
	if e >= 0 {
		r.pos.add(e)
	} else {
		r.neg.add(-e)
	}
	r.sq.add(e * e)
	bk := r.buckets[ValueBucket(predicted)]
	if bk == nil {
		bk = new(bucketError)
		r.buckets[ValueBucket(predicted)] = bk
	}
	bk.n++
	bk.abs.add(math.Abs(e))
	bk.sq.add(e * e)
	if label == 0 {
		r.zero++
		return
	}
	r.ape.add(math.Abs(e) / math.Abs(label))
}

// Merge adds o's pairs to r. A nil o is a no-op.
func (r *Regression) Merge(o *Regression) {
	if o == nil {
		return
	}
	r.n += o.n
	r.zero += o.zero
	r.pos.merge(&o.pos)
	r.neg.merge(&o.neg)
	r.sq.merge(&o.sq)
	r.ape.merge(&o.ape)
	for i, ob := range o.buckets {
		if ob == nil {
			continue
		}
		if r.buckets[i] == nil {
			r.buckets[i] = new(bucketError)
		}
		b := r.buckets[i]
		b.n += ob.n
		b.abs.merge(&ob.abs)
		b.sq.merge(&ob.sq)
	}
}

// Reset empties r for reuse, keeping its buckets' memory.
func (r *Regression) Reset() {
	b := r.buckets
	*r = Regression{}
	for i, x := range b {
		if x != nil {
			*x = bucketError{}
			r.buckets[i] = x
		}
	}
}

// Count is the number of pairs.
func (r *Regression) Count() uint64 { return r.n }

// ZeroLabels is the number of pairs whose label is 0, left out of MAPE.
func (r *Regression) ZeroLabels() uint64 { return r.zero }

// RegressionError is a window's error figures; each is NaN when its count
// is 0.
type RegressionError struct {
	MAE, RMSE, MAPE, Bias float64
}

// Error returns the window's error figures.
func (r *Regression) Error() RegressionError {
	nan := math.NaN()
	out := RegressionError{nan, nan, nan, nan}
	if r.n == 0 {
		return out
	}
	n := float64(r.n)
	out.RMSE = math.Sqrt(r.sq.float() / n)
	if r.pos.inf > 0 || r.neg.inf > 0 {
		out.MAE = math.Inf(1)
		switch {
		case r.pos.inf > 0 && r.neg.inf > 0:
		case r.pos.inf > 0:
			out.Bias = math.Inf(1)
		default:
			out.Bias = math.Inf(-1)
		}
	} else {
		p, q := r.pos.int(), r.neg.int()
		out.MAE = unitsFloat(new(big.Int).Add(p, q)) / n
		out.Bias = unitsFloat(new(big.Int).Sub(p, q)) / n
	}
	if m := r.n - r.zero; m > 0 {
		out.MAPE = r.ape.float() / float64(m)
	}
	return out
}

const (
	magicRegression   = "RKPR"
	regressionVersion = 1
)

// AppendBinary appends the encoding of r to b. It never fails.
func (r *Regression) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(magicRegression, regressionVersion)
	e.uvarint(r.n)
	e.uvarint(r.zero)
	for _, s := range []*exactSum{&r.pos, &r.neg, &r.sq, &r.ape} {
		s.appendTo(&e)
	}
	used := 0
	for _, b := range r.buckets {
		if b != nil && b.n > 0 {
			used++
		}
	}
	e.uvarint(uint64(used))
	for i, b := range r.buckets {
		if b != nil && b.n > 0 {
			e.uvarint(uint64(i))
			e.uvarint(b.n)
			b.abs.appendTo(&e)
			b.sq.appendTo(&e)
		}
	}
	return e.b, nil
}

// UnmarshalBinary replaces r with the decoded one; on error, a
// [*DecodeError], r is unchanged.
func (r *Regression) UnmarshalBinary(data []byte) error {
	d := newDecoder("Regression", data)
	if v := d.header(magicRegression); d.Err() == nil && v != regressionVersion {
		d.fail(ErrVersion, "this build reads version %d", regressionVersion)
	}
	var t Regression
	t.n = d.Uvarint()
	t.zero = d.Uvarint()
	t.pos, t.neg, t.sq, t.ape = d.exactSum(), d.exactSum(), d.exactSum(), d.exactSum()
	used := d.Uvarint()
	if d.Err() == nil && used > NumValueBuckets {
		d.fail(ErrCorrupt, "%d value buckets", used)
	}
	last := -1
	for range used {
		i := d.Uvarint()
		if d.Err() != nil {
			break
		}
		if i >= NumValueBuckets || int(i) <= last {
			d.fail(ErrCorrupt, "value bucket %d out of order", i)
			break
		}
		last = int(i)
		b := &bucketError{n: d.Uvarint()}
		b.abs, b.sq = d.exactSum(), d.exactSum()
		t.buckets[i] = b
	}
	if err := d.End(); err != nil {
		return err
	}
	if t.zero > t.n {
		d.fail(ErrCorrupt, "%d zero labels of %d pairs", t.zero, t.n)
		return d.Err()
	}
	*r = t
	return nil
}

// RegressionEstimate estimates a window's error before its labels from
// the reference's error by bucket of predicted value (r, the reference's
// joined pairs) and the window's predictions by bucket (counts, indexed
// by ValueBucket): each bucket's predictions are expected to err as the
// reference's predictions of that bucket did, on average; a bucket the
// reference has no pair in takes the reference's overall error. It sees a
// shift of the predictions towards values the model errs more or less
// on (covariate shift); a change of the relation between inputs and
// labels (concept drift) shows only in the realised figures. MAE and RMSE
// are set, MAPE and Bias are NaN; ok is false without predictions or
// reference pairs.
func RegressionEstimate(r *Regression, counts *[NumValueBuckets]uint64) (RegressionError, bool) {
	nan := math.NaN()
	out := RegressionError{nan, nan, nan, nan}
	if r == nil || r.n == 0 {
		return out, false
	}
	all := r.Error()
	allSq := all.RMSE * all.RMSE
	var n, abs, sq float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		w := float64(c)
		n += w
		if b := r.buckets[i]; b != nil && b.n > 0 {
			abs += w * b.abs.float() / float64(b.n)
			sq += w * b.sq.float() / float64(b.n)
		} else {
			abs += w * all.MAE
			sq += w * allSq
		}
	}
	if n == 0 {
		return out, false
	}
	out.MAE, out.RMSE = abs/n, math.Sqrt(sq/n)
	return out, true
}
