package exporter

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Native histogram schema limits, as in client_golang.
const (
	nativeSchemaMax = 8
	nativeSchemaMin = -4
)

// BatchHistogramVec is a vector of BatchHistograms partitioned by label
// values: a drop-in for a prometheus.HistogramVec whose observations arrive
// in batches (reckon observes a Kafka transaction's values only once it has
// committed).
//
// Invariant: for the same HistogramOpts and the same values observed in the
// same order, however split into batches, each child writes the same
// dto.Metric as client_golang v1.25.0's Histogram (classic and native
// buckets, count, sum, schema reduction and resets when more than
// NativeHistogramMaxBucketNumber native buckets are populated), with two
// documented exceptions: exemplars are not supported, and the reset that
// client_golang schedules with a timer after a schema reduction happens at
// the first Observe or Write at or after that time (with the created
// timestamp the timer would have set), which no scrape can tell apart.
type BatchHistogramVec struct {
	*prometheus.MetricVec
}

// NewBatchHistogramVec returns a BatchHistogramVec. It panics on the options
// client_golang's NewHistogramVec panics on, and on a
// NativeHistogramMaxZeroThreshold above the zero threshold (widening the
// zero bucket is not implemented; reckon does not use it).
func NewBatchHistogramVec(opts prometheus.HistogramOpts, labelNames []string) *BatchHistogramVec {
	return newBatchHistogramVec(opts, labelNames, time.Now)
}

// newBatchHistogramVec takes the clock, so that tests can drive resets.
func newBatchHistogramVec(opts prometheus.HistogramOpts, labelNames []string, now func() time.Time) *BatchHistogramVec {
	desc := prometheus.V2.NewDesc(
		prometheus.BuildFQName(opts.Namespace, opts.Subsystem, opts.Name),
		opts.Help,
		prometheus.UnconstrainedLabels(labelNames),
		opts.ConstLabels,
		prometheus.WithUnit(opts.Unit),
	)
	for _, n := range labelNames {
		if n == "le" {
			panic(fmt.Errorf("histogram %s: label name \"le\" is reserved for buckets", opts.Name))
		}
	}
	for n := range opts.ConstLabels {
		if n == "le" {
			panic(fmt.Errorf("histogram %s: label name \"le\" is reserved for buckets", opts.Name))
		}
	}
	cfg := newHistogramConfig(opts)
	return &BatchHistogramVec{MetricVec: prometheus.NewMetricVec(desc, func(lvs ...string) prometheus.Metric {
		return newBatchHistogram(desc, cfg, now, lvs)
	})}
}

// WithLabelValues returns the child for the label values, creating it if
// needed; it panics if their number is wrong.
func (v *BatchHistogramVec) WithLabelValues(lvs ...string) *BatchHistogram {
	m, err := v.GetMetricWithLabelValues(lvs...)
	if err != nil {
		panic(err)
	}
	return m.(*BatchHistogram)
}

// With is WithLabelValues by label name.
func (v *BatchHistogramVec) With(labels prometheus.Labels) *BatchHistogram {
	m, err := v.GetMetricWith(labels)
	if err != nil {
		panic(err)
	}
	return m.(*BatchHistogram)
}

// histogramConfig is a histogram's options resolved as client_golang's
// newHistogram resolves them, shared by a vector's children.
type histogramConfig struct {
	upper         []float64     // classic upper bounds, without +Inf
	cells         *classicCells // nil: count bounds instead
	native        bool
	schema        int32 // initial
	zeroThreshold float64
	maxBuckets    int // 0: unlimited
	minReset      time.Duration
}

func newHistogramConfig(opts prometheus.HistogramOpts) *histogramConfig {
	c := &histogramConfig{
		upper:      opts.Buckets,
		maxBuckets: int(opts.NativeHistogramMaxBucketNumber),
		minReset:   opts.NativeHistogramMinResetDuration,
	}
	if len(c.upper) == 0 && opts.NativeHistogramBucketFactor <= 1 {
		c.upper = prometheus.DefBuckets
	}
	if opts.NativeHistogramBucketFactor > 1 {
		c.native = true
		switch {
		case opts.NativeHistogramZeroThreshold > 0:
			c.zeroThreshold = opts.NativeHistogramZeroThreshold
		case opts.NativeHistogramZeroThreshold == 0:
			c.zeroThreshold = prometheus.DefNativeHistogramZeroThreshold
		}
		c.schema = pickSchema(opts.NativeHistogramBucketFactor)
		if c.maxBuckets > 0 && opts.NativeHistogramMaxZeroThreshold > c.zeroThreshold {
			panic(fmt.Errorf("histogram %s: NativeHistogramMaxZeroThreshold above the zero threshold is not supported", opts.Name))
		}
	}
	for i, b := range c.upper {
		if i < len(c.upper)-1 {
			if b >= c.upper[i+1] {
				panic(fmt.Errorf("histogram buckets must be in increasing order: %f >= %f", b, c.upper[i+1]))
			}
		} else if math.IsInf(b, +1) {
			c.upper = c.upper[:i] // +Inf is implicit
		}
	}
	c.cells = newClassicCells(c.upper)
	return c
}

// pickSchema is client_golang's: the largest n in [-4, 8] such that
// 2^(2^-n) <= bucketFactor.
func pickSchema(bucketFactor float64) int32 {
	floor := math.Floor(math.Log2(math.Log2(bucketFactor)))
	switch {
	case floor <= -nativeSchemaMax:
		return nativeSchemaMax
	case floor >= -nativeSchemaMin:
		return nativeSchemaMin
	default:
		return -int32(floor)
	}
}

// BatchHistogram is one series of a BatchHistogramVec. Its state is
// client_golang's histogram's hot and cold counts merged into one, behind
// one mutex: a batch pays for the lock once rather than for several atomic
// operations per value. It is safe for concurrent use.
type BatchHistogram struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	cfg    *histogramConfig
	now    func() time.Time

	mu            sync.Mutex
	count         uint64
	sum           float64
	classic       []uint64 // per classic bucket, not cumulative; last: above every bound (and NaN)
	zero          uint64   // native zero bucket
	zeroThreshold float64  // constant: widening the zero bucket is not supported
	schema        int32
	pos, neg      nativeBuckets
	// lastReset is the created timestamp. resetAt is when client_golang's
	// timer, armed at the first schema reduction, would reset the
	// histogram; resetScheduled says whether it is armed.
	lastReset, resetAt time.Time
	resetScheduled     bool
}

func newBatchHistogram(desc *prometheus.Desc, cfg *histogramConfig, now func() time.Time, lvs []string) *BatchHistogram {
	h := &BatchHistogram{
		desc:          desc,
		labels:        prometheus.MakeLabelPairs(desc, lvs),
		cfg:           cfg,
		now:           now,
		classic:       make([]uint64, len(cfg.upper)+1),
		zeroThreshold: cfg.zeroThreshold,
		schema:        cfg.schema,
		lastReset:     now(),
	}
	return h
}

// Desc implements prometheus.Metric.
func (h *BatchHistogram) Desc() *prometheus.Desc { return h.desc }

// Observe observes one value; prefer ObserveBatch.
func (h *BatchHistogram) Observe(v float64) {
	vs := [1]float64{v}
	h.ObserveBatch(vs[:])
}

// ObserveBatch observes vs in order, as len(vs) calls of client_golang's
// Observe would, under one lock. It does not allocate unless a value
// populates a native bucket far from all others or the bucket limit forces
// a schema reduction.
func (h *BatchHistogram) ObserveBatch(vs []float64) {
	if len(vs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resetIfDue()
	cfg := h.cfg
	if !cfg.native || cfg.cells == nil {
		for _, v := range vs {
			h.observe(v)
		}
		return
	}
	// observe, inlined by hand for the usual case: a classic table and
	// finite normal values at a positive schema. Calls would cost as much
	// as the work.
	cells, classic, zt := cfg.cells, h.classic, h.zeroThreshold
	for _, v := range vs {
		bits := math.Float64bits(v)
		var ci int
		switch {
		case v > 0:
			c := bits>>cells.shift - cells.base
			switch {
			case bits>>cells.shift < cells.base:
			case c >= uint64(len(cells.cells)):
				ci = len(cells.upper)
			default:
				ci = int(cells.cells[c])
				if ci < len(cells.upper) && cells.upper[ci] < v {
					ci++
				}
			}
		case v <= 0:
		default: // NaN counts only in count, sum and +Inf
			classic[len(cells.upper)]++
			h.sum += v
			h.count++
			continue
		}
		classic[ci]++
		h.sum += v
		h.count++

		abs := bits &^ (1 << 63)
		var key int
		if e, schema := int(abs>>52), h.schema; schema > 0 && e != 0 && e != 0x7ff {
			// fracIndex on the bits: frac shares v's mantissa, and
			// math.Frexp's exponent is e-1022.
			frac := math.Float64frombits(abs&(1<<52-1) | 1022<<52)
			bounds := nativeHistogramBounds[schema]
			i := int(fracCells[schema][abs>>(52-(schema+2))&(1<<(schema+2)-1)])
			if i < len(bounds) && bounds[i] < frac {
				i++
			}
			key = i + (e-1023)<<schema
		} else {
			key = nativeKey(v, schema)
		}
		var b *nativeBuckets
		switch {
		case v > zt:
			b = &h.pos
		case v < -zt:
			b = &h.neg
		default:
			h.zero++
		}
		if b != nil {
			if i := uint(key - b.lo); i < uint(len(b.dense)) {
				if b.dense[i] == 0 {
					b.n++
					b.nDense++
				}
				b.dense[i]++
			} else {
				b.addSlow(key, 1)
			}
		}
		if cfg.maxBuckets > 0 && h.pos.n+h.neg.n > cfg.maxBuckets {
			h.limitBuckets(v)
		}
	}
}

// resetIfDue performs the reset that client_golang's timer would have
// performed by now.
func (h *BatchHistogram) resetIfDue() {
	if h.resetScheduled && !h.now().Before(h.resetAt) {
		h.reset()
		h.lastReset = h.resetAt
		h.resetScheduled = false
	}
}

// observe is client_golang's findBucket, histogramCounts.observe and
// limitBuckets for one value. h.mu is held.
func (h *BatchHistogram) observe(v float64) {
	h.observeCounts(v)
	if h.cfg.maxBuckets > 0 && h.pos.n+h.neg.n > h.cfg.maxBuckets && v == v {
		h.limitBuckets(v)
	}
}

func (h *BatchHistogram) observeCounts(v float64) {
	if h.cfg.cells != nil {
		h.classic[h.cfg.cells.bucket(v)]++
	} else {
		h.classic[classicBucket(h.cfg.upper, v)]++
	}
	h.sum += v
	h.count++
	if !h.cfg.native || v != v { // NaN counts only in count, sum and +Inf
		return
	}
	key := nativeKey(v, h.schema)
	switch {
	case v > h.zeroThreshold:
		h.pos.add(key, 1)
	case v < -h.zeroThreshold:
		h.neg.add(key, 1)
	default:
		h.zero++
	}
}

// classicBucket is the index of the first bound >= v, len(upper) if none
// (also for NaN): client_golang's findBucket. Counting the bounds below v
// compiles without branches, which random values would mispredict.
func classicBucket(upper []float64, v float64) int {
	i := 0
	for _, b := range upper {
		if !(v <= b) {
			i++
		}
	}
	return i
}

// classicCells finds classic buckets by table for bounds that are all
// positive and finite: positive floats order as their bit patterns, so the
// top bits of v (exponent and a few mantissa bits) name a cell of the
// line, and cells are chosen narrow enough to hold at most one bound, which
// one comparison settles. Random values make a search's branches
// mispredict; this has one predictable branch.
type classicCells struct {
	upper []float64
	shift uint     // v's bit pattern >> shift is its cell
	base  uint64   // cell of the smallest bound
	cells []uint16 // per cell from base: the bounds below its start
}

// newClassicCells returns nil if no table of at most 1<<16 cells fits.
func newClassicCells(upper []float64) *classicCells {
	if len(upper) == 0 || !(upper[0] > 0) || math.IsInf(upper[len(upper)-1], 0) || len(upper) > math.MaxUint16 {
		return nil
	}
	for shift := uint(52); shift > 0; shift-- {
		base := math.Float64bits(upper[0]) >> shift
		n := math.Float64bits(upper[len(upper)-1])>>shift - base + 1
		if n > 1<<16 {
			return nil
		}
		t := &classicCells{upper: upper, shift: shift, base: base, cells: make([]uint16, n)}
		ok := true
		for c := range t.cells {
			start := math.Float64frombits((base + uint64(c)) << shift)
			end := math.Float64frombits((base + uint64(c) + 1) << shift)
			i := sort.SearchFloat64s(upper, start) // bounds below start
			t.cells[c] = uint16(i)
			if i+1 < len(upper) && upper[i+1] < end {
				ok = false // two bounds in [start, end)
				break
			}
		}
		if ok {
			return t
		}
	}
	return nil
}

// bucket is classicBucket(t.upper, v).
func (t *classicCells) bucket(v float64) int {
	if !(v > 0) {
		if v <= 0 {
			return 0 // every bound is positive
		}
		return len(t.upper) // NaN
	}
	c := math.Float64bits(v)>>t.shift - t.base
	if math.Float64bits(v)>>t.shift < t.base {
		return 0 // below the smallest bound's cell
	}
	if c >= uint64(len(t.cells)) {
		return len(t.upper) // beyond the largest bound's cell, or +Inf
	}
	i := int(t.cells[c])
	if i < len(t.upper) && t.upper[i] < v {
		i++
	}
	return i
}

// fracCells[s] maps the top s+2 bits of a fraction's mantissa to the
// number of nativeHistogramBounds[s] below that cell of [0.5, 1): cells
// are narrower than the narrowest bucket (0.5·(2^(2^-s)−1) > 2^-(s+3)), so
// a cell holds at most one bound and one comparison finishes the search.
var fracCells = func() [nativeSchemaMax + 1][]uint16 {
	var t [nativeSchemaMax + 1][]uint16
	for s := 1; s <= nativeSchemaMax; s++ {
		bounds := nativeHistogramBounds[s]
		cells := make([]uint16, 1<<(s+2))
		for c := range cells {
			start := 0.5 + float64(c)/float64(len(cells))/2
			cells[c] = uint16(sort.SearchFloat64s(bounds, start))
		}
		t[s] = cells
	}
	return t
}()

// fracIndex is sort.SearchFloat64s(nativeHistogramBounds[schema], frac)
// for 0 < schema <= 8 and frac = 0 or in [0.5, 1), by table.
func fracIndex(frac float64, schema int32) int {
	bounds := nativeHistogramBounds[schema]
	cell := math.Float64bits(frac) >> (52 - (schema + 2)) & (1<<(schema+2) - 1)
	i := int(fracCells[schema][cell])
	if i < len(bounds) && bounds[i] < frac {
		i++
	}
	return i
}

// nativeKey is the native bucket of v (not NaN) in schema, exactly as
// client_golang computes it: ±Inf go to the bucket above that of
// ±math.MaxFloat64.
func nativeKey(v float64, schema int32) int {
	inf := false
	if math.IsInf(v, 0) {
		v, inf = math.MaxFloat64, true
	}
	frac, exp := math.Frexp(math.Abs(v))
	var key int
	if schema > 0 {
		key = fracIndex(frac, schema) + (exp-1)<<schema
	} else {
		key = exp
		if frac == 0.5 {
			key--
		}
		offset := (1 << -schema) - 1
		key = (key + offset) >> -schema
	}
	if inf {
		key++
	}
	return key
}

// limitBuckets is client_golang's strategy once more than maxBuckets native
// buckets are populated: reset if the last reset is at least minReset ago
// (keeping only v), else arm the delayed reset and halve the resolution.
// (Widening the zero bucket, tried in between, never applies: see
// newHistogramConfig.)
func (h *BatchHistogram) limitBuckets(v float64) {
	now := h.now()
	if h.cfg.minReset > 0 && !h.resetScheduled && now.Sub(h.lastReset) >= h.cfg.minReset {
		h.reset()
		h.observeCounts(v)
		h.lastReset = now
		return
	}
	if h.cfg.minReset > 0 && !h.resetScheduled {
		h.resetScheduled = true
		h.resetAt = h.lastReset.Add(h.cfg.minReset)
	}
	h.doubleBucketWidth()
}

// doubleBucketWidth decrements the schema, merging bucket pairs as
// client_golang does (key k goes to ceil(k/2)); nothing at schema -4.
func (h *BatchHistogram) doubleBucketWidth() {
	if h.schema == nativeSchemaMin {
		return
	}
	h.schema--
	h.pos.halve()
	h.neg.halve()
}

// reset is client_golang's resetCounts.
func (h *BatchHistogram) reset() {
	h.count, h.sum, h.zero = 0, 0, 0
	clear(h.classic)
	h.zeroThreshold = h.cfg.zeroThreshold
	h.schema = h.cfg.schema
	h.pos.reset()
	h.neg.reset()
}

// Write implements prometheus.Metric with client_golang's output.
func (h *BatchHistogram) Write(out *dto.Metric) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resetIfDue()

	his := &dto.Histogram{
		Bucket:           make([]*dto.Bucket, len(h.cfg.upper)),
		SampleCount:      proto.Uint64(h.count),
		SampleSum:        proto.Float64(h.sum),
		CreatedTimestamp: timestamppb.New(h.lastReset),
	}
	out.Histogram = his
	out.Label = h.labels
	var cum uint64
	for i, b := range h.cfg.upper {
		cum += h.classic[i]
		his.Bucket[i] = &dto.Bucket{CumulativeCount: proto.Uint64(cum), UpperBound: proto.Float64(b)}
	}
	if h.cfg.native {
		his.ZeroThreshold = proto.Float64(h.zeroThreshold)
		his.Schema = proto.Int32(h.schema)
		his.ZeroCount = proto.Uint64(h.zero)
		his.NegativeSpan, his.NegativeDelta = h.neg.spans()
		his.PositiveSpan, his.PositiveDelta = h.pos.spans()
		// As client_golang: a no-op span keeps an empty native histogram
		// with a zero threshold of zero from looking classic.
		if h.zeroThreshold == 0 && h.zero == 0 && len(his.PositiveSpan) == 0 && len(his.NegativeSpan) == 0 {
			his.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
		}
	}
	return nil
}

// maxDenseSpan bounds the keys a nativeBuckets counts in its slice: enough
// for every finite value of a metric's usual range at schema 3 (a key per
// 9% from 1e-30 to 1e30 is ~1600), small enough to scan on Write.
const maxDenseSpan = 1024

// nativeBuckets counts observations per native bucket key (one sign).
// Keys near each other are counted in dense, indexed by key-lo, so that
// observing does not hash; keys too far from the dense window (±Inf next
// to milliseconds, say) go to far. A bucket is populated iff its count is
// nonzero: counts only grow between resets, as in client_golang, whose
// bucket number is the number of populated buckets.
type nativeBuckets struct {
	lo     int
	dense  []uint64
	far    map[int]uint64
	n      int // populated buckets, dense and far
	nDense int // populated buckets in dense
}

// add adds c > 0 to key's count.
func (b *nativeBuckets) add(key int, c uint64) {
	if i := uint(key - b.lo); i < uint(len(b.dense)) {
		if b.dense[i] == 0 {
			b.n++
			b.nDense++
		}
		b.dense[i] += c
		return
	}
	b.addSlow(key, c)
}

func (b *nativeBuckets) addSlow(key int, c uint64) {
	switch hi := b.lo + len(b.dense) - 1; {
	case b.nDense == 0:
		// Nothing to keep: recentre the (zeroed) window on key.
		if len(b.dense) == 0 {
			b.dense = make([]uint64, 64)
		}
		b.lo = key - len(b.dense)/2
	case max(hi, key)-min(b.lo, key) < maxDenseSpan:
		b.grow(min(b.lo, key), max(hi, key))
	default:
		if b.far == nil {
			b.far = make(map[int]uint64)
		}
		if b.far[key] == 0 {
			b.n++
		}
		b.far[key] += c
		if len(b.far) > b.nDense {
			b.rewindow()
		}
		return
	}
	b.add(key, c)
}

// grow makes dense cover [lo, hi], with slack on both sides.
func (b *nativeBuckets) grow(lo, hi int) {
	pad := min((hi-lo+1)/2+8, (maxDenseSpan-(hi-lo+1))/2)
	lo -= pad
	d := make([]uint64, hi+pad-lo+1)
	copy(d[b.lo-lo:], b.dense)
	b.lo, b.dense = lo, d
}

// rewindow moves the dense window to where most populated keys are, once
// far holds more of them than dense (the window was placed by an outlier).
func (b *nativeBuckets) rewindow() {
	ks, cs := b.buckets()
	best, bestN := 0, 0
	for i, j := 0, 0; j < len(ks); j++ {
		for ks[j]-ks[i] >= maxDenseSpan/2 {
			i++
		}
		if j-i+1 > bestN {
			best, bestN = i, j-i+1
		}
	}
	b.reset()
	b.lo = ks[best] - 4
	if len(b.dense) < maxDenseSpan/2+8 {
		b.dense = make([]uint64, maxDenseSpan/2+8)
	}
	// Placed directly: add could call rewindow again.
	for i, k := range ks {
		if j := uint(k - b.lo); j < uint(len(b.dense)) {
			b.dense[j] = cs[i]
			b.nDense++
		} else {
			b.far[k] = cs[i]
		}
		b.n++
	}
}

// buckets returns the populated keys in increasing order and their counts.
func (b *nativeBuckets) buckets() (keys []int, counts []uint64) {
	if b.n == 0 {
		return nil, nil
	}
	keys, counts = make([]int, 0, b.n), make([]uint64, 0, b.n)
	for k := range b.far {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	far := keys
	keys = keys[len(keys):]
	fi := 0
	for i, c := range b.dense {
		if c == 0 {
			continue
		}
		k := b.lo + i
		for ; fi < len(far) && far[fi] < k; fi++ {
			keys = append(keys, far[fi])
			counts = append(counts, b.far[far[fi]])
		}
		keys = append(keys, k)
		counts = append(counts, c)
	}
	for ; fi < len(far); fi++ {
		keys = append(keys, far[fi])
		counts = append(counts, b.far[far[fi]])
	}
	return keys[:len(keys):len(keys)], counts
}

// halve re-keys every bucket for the schema one lower.
func (b *nativeBuckets) halve() {
	ks, cs := b.buckets()
	b.reset()
	for i, k := range ks {
		if k > 0 {
			k++
		}
		b.add(k/2, cs[i])
	}
}

func (b *nativeBuckets) reset() {
	if b.nDense > 0 {
		clear(b.dense)
	}
	clear(b.far)
	b.n, b.nDense = 0, 0
}

// spans is client_golang's makeBuckets: spans and count deltas, gaps of
// one or two empty buckets filled in rather than starting a new span.
func (b *nativeBuckets) spans() ([]*dto.BucketSpan, []int64) {
	ks, cs := b.buckets()
	if len(ks) == 0 {
		return nil, nil
	}
	var (
		spans  []*dto.BucketSpan
		deltas []int64
		prev   int64
		next   int
	)
	appendDelta := func(c int64) {
		*spans[len(spans)-1].Length++
		deltas = append(deltas, c-prev)
		prev = c
	}
	for n, k := range ks {
		gap := int32(k - next)
		if n == 0 || gap > 2 {
			spans = append(spans, &dto.BucketSpan{Offset: proto.Int32(gap), Length: proto.Uint32(0)})
		} else {
			for range gap {
				appendDelta(0)
			}
		}
		appendDelta(int64(cs[n]))
		next = k + 1
	}
	return spans, deltas
}
