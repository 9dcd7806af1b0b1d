package windows

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/sketch"
)

// Binary encodings of the event-time state, for the state changelog and
// for the messages that members exchange. Every encoding starts with a
// version byte; a decoder refuses versions it does not know rather than
// guess. Sketches are embedded length-prefixed in their own (versioned)
// encodings, so a Partial round-trips bit for bit.

const (
	// partialV1 is a pane without its fragment number (Seq 0); still read.
	partialV1 = 1
	// partialV2 adds the fragment number; still read.
	partialV2 = 2
	// partialV3 adds the multivariate drift sums; still read.
	partialV3 = 3
	// partialVersion adds the segment splits.
	partialVersion = 4
	// partialKinds adds, after the segment splits, a regression or
	// multiclass model's part (kinds.go). A partial without one is still
	// written as partialVersion, so a binary model's encodings are
	// unchanged.
	partialKinds = 5
	// encodingVersion versions the other encodings of this file.
	encodingVersion = 3
)

// ErrCorrupt is wrapped by every decoding error of this package.
var ErrCorrupt = errors.New("windows: corrupt encoding")

// newReader returns a reader of an encoding of this file's version.
func newReader(data []byte) *wire.Reader {
	r := wire.NewReader(data, wire.Corrupt(ErrCorrupt))
	if r.Byte() != encodingVersion && r.Err() == nil {
		r.Fail("unknown version")
	}
	return r
}

// AppendJoinedErrors appends an error stream to b.
func AppendJoinedErrors(b []byte, errs []JoinedError) []byte {
	b = binary.AppendUvarint(b, uint64(len(errs)))
	for _, e := range errs {
		b = binary.AppendVarint(b, e.OutcomeMs)
		b = binary.AppendVarint(b, e.PredMs)
		b = wire.AppendBool(b, e.Wrong)
	}
	return b
}

// ReadJoinedErrors reads a stream written by AppendJoinedErrors, appending
// it to dst.
func ReadJoinedErrors(r *wire.Reader, dst []JoinedError) []JoinedError {
	n := r.Count(3)
	for range n {
		dst = append(dst, JoinedError{OutcomeMs: r.Varint(), PredMs: r.Varint(), Wrong: r.Bool()})
	}
	return dst
}

// AppendBinary appends the encoding of p to b.
func (p *Partial) AppendBinary(b []byte) ([]byte, error) {
	version := byte(partialVersion)
	if p.Reg != nil || p.Multi != nil {
		version = partialKinds
	}
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(p.Model))
	b = binary.AppendVarint(b, p.Start)
	b = binary.AppendVarint(b, p.End)
	b = binary.AppendUvarint(b, uint64(p.Source))
	b = binary.AppendUvarint(b, p.Seq)
	b = binary.AppendUvarint(b, p.Predictions)
	b = binary.AppendUvarint(b, p.Errors)
	b = binary.AppendUvarint(b, p.Outcomes)
	b = wire.AppendFloat64(b, p.MV.Sum)
	b = binary.AppendUvarint(b, p.MV.Count)
	var err error
	for _, a := range []interface{ AppendBinary([]byte) ([]byte, error) }{&p.Perf, &p.Estimate, p.Score} {
		if b, err = wire.AppendBlob(b, a); err != nil {
			return b, err
		}
	}
	b = AppendJoinedErrors(b, p.Joined)
	b = binary.AppendUvarint(b, uint64(len(p.Deferred)))
	for _, d := range p.Deferred {
		b = wire.AppendFloat64(b, d.Score)
		b = wire.AppendBool(b, d.Predicted)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Features)))
	for _, f := range p.Features {
		if f.Num != nil {
			b, err = wire.AppendBlob(b, f.Num)
		} else {
			b, err = wire.AppendBlob(b, f.Cat)
		}
		if err != nil {
			return b, err
		}
	}
	if b, err = p.appendSegments(b); err != nil {
		return b, err
	}
	if version == partialKinds {
		return p.appendKind(b)
	}
	return b, nil
}

// appendKind appends p's regression or multiclass part: its tag and its
// blobs.
func (p *Partial) appendKind(b []byte) ([]byte, error) {
	var parts []binaryAppender
	switch {
	case p.Reg != nil:
		b = append(b, kindRegression)
		parts = []binaryAppender{&p.Reg.Perf, p.Reg.Residuals, p.Reg.Labels}
	default:
		b = append(b, kindMulticlass)
		parts = []binaryAppender{&p.Multi.Perf, &p.Multi.Estimate, p.Multi.Predicted, p.Multi.Labels}
	}
	var err error
	for _, a := range parts {
		if b, err = wire.AppendBlob(b, a); err != nil {
			return b, err
		}
	}
	if p.Reg != nil {
		b = appendCounts(b, p.Reg.Values[:])
	}
	return b, nil
}

// readKind reads what appendKind wrote into p, reusing its part when it
// has one of the kind.
func (p *Partial) readKind(r *wire.Reader) error {
	var parts []binaryUnmarshaler
	switch tag := r.Byte(); {
	case r.Err() != nil:
		return r.Err()
	case tag == kindRegression:
		reg := p.regression()
		parts = []binaryUnmarshaler{&reg.Perf, reg.Residuals, reg.Labels}
	case tag == kindMulticlass:
		m := p.multiclass(0)
		parts = []binaryUnmarshaler{&m.Perf, &m.Estimate, m.Predicted, m.Labels}
	default:
		r.Fail(fmt.Sprintf("unknown model kind tag %d", tag))
		return r.Err()
	}
	for _, u := range parts {
		blob := r.Blob()
		if r.Err() != nil {
			return r.Err()
		}
		if err := u.UnmarshalBinary(blob); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if p.Reg != nil {
		readCounts(r, p.Reg.Values[:])
		if r.Err() != nil {
			return r.Err()
		}
	}
	if m := p.Multi; m != nil && m.Perf.Classes() != m.Estimate.Classes() {
		return fmt.Errorf("%w: %d classes in the matrix, %d in the estimate", ErrCorrupt, m.Perf.Classes(), m.Estimate.Classes())
	}
	return nil
}

// DecodePartial decodes a partial encoded by Partial.AppendBinary, checking
// it against the layout. It returns the unread rest of data.
func (l Layout) DecodePartial(data []byte) (*Partial, []byte, error) {
	r := wire.NewReader(data, wire.Corrupt(ErrCorrupt))
	p, err := l.readPartial(r, nil)
	return p, r.Rest(), err
}

// DecodePartial is Layout.DecodePartial into a partial the aggregator has
// recycled, when it has one of the model: the merger decodes every
// partition's panes, and a recycled partial's sketches decode without
// allocating (but their HyperLogLogs).
func (a *Aggregator) DecodePartial(data []byte) (*Partial, []byte, error) {
	r := wire.NewReader(data, wire.Corrupt(ErrCorrupt))
	p, err := a.layout.readPartial(r, a.free)
	return p, r.Rest(), err
}

// readPartial decodes a partial, into one of free[model] when there is one
// (taken off the list, and dropped on error).
func (l Layout) readPartial(r *wire.Reader, free [][]*Partial) (*Partial, error) {
	return l.readPartialInto(r, free, nil)
}

// readPartialInto is readPartial into sub, a segment's sub-partial, when
// not nil.
func (l Layout) readPartialInto(r *wire.Reader, free [][]*Partial, sub *Partial) (*Partial, error) {
	version := r.Byte()
	if (version < partialV1 || version > partialKinds) && r.Err() == nil {
		r.Fail("unknown partial version")
	}
	model := r.Uvarint()
	if r.Err() == nil && model >= uint64(len(l)) {
		r.Fail(fmt.Sprintf("model %d not configured", model))
	}
	if r.Err() != nil {
		return nil, r.Err()
	}
	var p *Partial
	if sub != nil {
		p = sub
		p.Model = int(model)
	} else if f := free; f != nil && len(f[model]) > 0 {
		n := len(f[model]) - 1
		p, f[model][n], f[model] = f[model][n], nil, f[model][:n]
		// Only what decoding appends to; the rest is overwritten, and the
		// sketches must not be Reset: they would forget the values they
		// can decode without copying.
		p.Joined, p.Deferred = p.Joined[:0], p.Deferred[:0]
	} else {
		p = l.NewPartial(int(model))
	}
	p.Start, p.End = r.Varint(), r.Varint()
	p.Source = int32(r.Uvarint())
	p.Seq = 0
	if version >= partialV2 {
		p.Seq = r.Uvarint()
	}
	p.Predictions, p.Errors, p.Outcomes = r.Uvarint(), r.Uvarint(), r.Uvarint()
	p.MV = MultivariateSum{}
	if version >= partialV3 {
		p.MV.Sum, p.MV.Count = r.Float64(), r.Uvarint()
	}
	for _, u := range []interface{ UnmarshalBinary([]byte) error }{&p.Perf, &p.Estimate, p.Score} {
		if blob := r.Blob(); r.Err() == nil {
			if err := u.UnmarshalBinary(blob); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
	}
	p.Joined = ReadJoinedErrors(r, p.Joined)
	for range r.Count(9) {
		p.Deferred = append(p.Deferred, ScoredPrediction{Score: r.Float64(), Predicted: r.Bool()})
	}
	if n := r.Uvarint(); r.Err() == nil && n != uint64(len(p.Features)) {
		r.Fail(fmt.Sprintf("model %d has %d features, the encoding %d", model, len(p.Features), n))
	}
	for _, f := range p.Features {
		blob := r.Blob()
		if r.Err() != nil {
			break
		}
		var err error
		if f.Num != nil {
			err = f.Num.UnmarshalBinary(blob)
		} else {
			err = f.Cat.UnmarshalBinary(blob)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	switch {
	case r.Err() != nil:
	case version >= partialVersion:
		if err := l.readSegments(r, p); err != nil {
			return nil, err
		}
	default:
		for k := range p.Segments {
			p.Segments[k].clear()
		}
		p.Segments = p.Segments[:0]
	}
	if r.Err() != nil {
		return nil, r.Err()
	}
	// A recycled partial may hold a part of an earlier pane: the encoding
	// says whether this one has one.
	p.Reg, p.Multi = keepKind(p, version == partialKinds)
	if version == partialKinds {
		if err := p.readKind(r); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// keepKind is what a decoded partial keeps of its part before reading its
// own: all of it when the encoding has one (it is overwritten), nothing
// otherwise.
func keepKind(p *Partial, has bool) (*RegressionPart, *MulticlassPart) {
	if has {
		return p.Reg, p.Multi
	}
	return nil, nil
}

func appendParts(b []byte, parts []*Partial) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(parts)))
	var err error
	for _, p := range parts {
		if b, err = p.AppendBinary(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (l Layout) readParts(r *wire.Reader) ([]*Partial, error) {
	n := r.Count(8)
	parts := make([]*Partial, 0, n)
	for range n {
		p, err := l.readPartial(r, nil)
		if err != nil {
			return nil, err
		}
		p.holders = 1 // of the window or pane list it is decoded for
		parts = append(parts, p)
	}
	return parts, r.Err()
}

// appendFolded appends what a window or reference has folded: whether acc
// exists, acc, and the fold frontier.
func appendFolded(b []byte, acc *Partial, folded PaneKey) ([]byte, error) {
	b = wire.AppendBool(b, acc != nil)
	if acc != nil {
		var err error
		if b, err = acc.AppendBinary(b); err != nil {
			return b, err
		}
	}
	b = binary.AppendVarint(b, folded.Start)
	b = binary.AppendVarint(b, int64(folded.Source))
	return binary.AppendUvarint(b, folded.Seq), nil
}

// readFolded reads what appendFolded wrote.
func (l Layout) readFolded(r *wire.Reader) (acc *Partial, folded PaneKey, err error) {
	if r.Bool() {
		if acc, err = l.readPartial(r, nil); err != nil {
			return nil, folded, err
		}
	}
	folded.Start = r.Varint()
	src := r.Varint()
	if r.Err() == nil && (src < math.MinInt32 || src > math.MaxInt32) {
		r.Fail("fold frontier source out of range")
	}
	folded.Source = int32(src)
	folded.Seq = r.Uvarint()
	return acc, folded, r.Err()
}

// appendOpenWindow appends an open window's state: what it folded and the
// panes it holds unmerged.
func appendOpenWindow(b []byte, ow *openWindow) ([]byte, error) {
	b = append(b, encodingVersion)
	b, err := appendFolded(b, ow.acc, ow.folded)
	if err != nil {
		return b, err
	}
	return appendParts(b, ow.parts)
}

// readOpenWindow reads what appendOpenWindow wrote, for window k.
func (a *Aggregator) readOpenWindow(k windowKey, data []byte) (*openWindow, error) {
	r := newReader(data)
	ow := &openWindow{}
	var err error
	if ow.acc, ow.folded, err = a.layout.readFolded(r); err != nil {
		return nil, err
	}
	if ow.parts, err = a.layout.readParts(r); err != nil {
		return nil, err
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	if ow.acc != nil && (ow.acc.Model != k.model || ow.acc.Start != k.start || ow.acc.End != k.start+a.lengths[k.window]) {
		return nil, fmt.Errorf("%w: window %d of model %d at %d holds a merge of another", ErrCorrupt, k.window, k.model, k.start)
	}
	for _, p := range ow.parts {
		if p.Model != k.model {
			return nil, fmt.Errorf("%w: a pane of model %d in a window of model %d", ErrCorrupt, p.Model, k.model)
		}
	}
	a.held[k.model] += len(ow.parts)
	return ow, nil
}

// SourceState is what a checkpoint keeps of a source: its event-time
// progress. Wall-clock idleness is not kept: a restored source starts
// active.
type SourceState struct {
	MaxMs int64
	Seen  bool
}

// State returns s's event-time progress.
func (s *Source) State() SourceState { return SourceState{s.maxMs, s.seen} }

// RestoreSource returns a source with the given progress, assigned at now.
func RestoreSource(st SourceState, now time.Time) *Source {
	s := NewSource(now)
	s.maxMs, s.seen = st.MaxMs, st.Seen
	return s
}

// AppendBinary appends the stream reference's state: its range,
// completeness, and the merged partial (complete) or the panes offered so
// far. Derived data (edges, calibrator) is recomputed on decoding.
func (r *Reference) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.AppendVarint(b, r.From)
	b = binary.AppendVarint(b, r.To)
	b = wire.AppendBool(b, r.Complete)
	var err error
	if r.Complete {
		if b, err = r.Partial.AppendBinary(b); err != nil {
			return b, err
		}
		return appendLearned(b, r.Learned), nil
	}
	if b, err = appendFolded(b, r.Partial, r.folded); err != nil {
		return b, err
	}
	if b, err = appendParts(b, r.parts); err != nil {
		return b, err
	}
	return appendRefWindows(b, r.windows)
}

// The learned windows and the windows kept for them follow the rest of a
// reference's encoding, absent (nothing left to read) in states written
// before them.

func appendRefWindows(b []byte, windows map[int64]map[int64]*Partial) ([]byte, error) {
	if windows == nil {
		return b, nil
	}
	b = binary.AppendUvarint(b, uint64(len(windows)))
	for _, l := range slices.Sorted(maps.Keys(windows)) {
		b = binary.AppendVarint(b, l)
		ws := windows[l]
		b = binary.AppendUvarint(b, uint64(len(ws)))
		for _, start := range slices.Sorted(maps.Keys(ws)) {
			var err error
			if b, err = ws[start].AppendBinary(b); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

func (l Layout) readRefWindows(r *wire.Reader, model int) (map[int64]map[int64]*Partial, error) {
	if r.Len() == 0 {
		return nil, nil
	}
	n := r.Count(2)
	windows := make(map[int64]map[int64]*Partial, n)
	for range n {
		length := r.Varint()
		m := r.Count(8)
		ws := make(map[int64]*Partial, m)
		for range m {
			p, err := l.readPartial(r, nil)
			if err != nil {
				return nil, err
			}
			if p.Model != model || p.End-p.Start != length {
				return nil, fmt.Errorf("%w: a reference window of another model or length", ErrCorrupt)
			}
			ws[p.Start] = p
		}
		windows[length] = ws
	}
	return windows, r.Err()
}

func appendFloats(b []byte, xs []float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(xs)))
	for _, x := range xs {
		b = wire.AppendFloat64(b, x)
	}
	return b
}

func readFloats(r *wire.Reader) []float64 {
	n := r.Count(8)
	xs := make([]float64, 0, n)
	for range n {
		xs = append(xs, r.Float64())
	}
	return xs
}

func appendMethodValues(b []byte, m map[sketch.Method][]float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, method := range slices.Sorted(maps.Keys(m)) {
		b = append(b, byte(method))
		b = appendFloats(b, m[method])
	}
	return b
}

func readMethodValues(r *wire.Reader) map[sketch.Method][]float64 {
	n := r.Count(2)
	m := make(map[sketch.Method][]float64, n)
	for range n {
		method := sketch.Method(r.Byte())
		m[method] = readFloats(r)
	}
	return m
}

func appendLearned(b []byte, learned map[int64]*Learned) []byte {
	if learned == nil {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(learned)))
	for _, length := range slices.Sorted(maps.Keys(learned)) {
		l := learned[length]
		b = binary.AppendVarint(b, l.Length)
		b = binary.AppendUvarint(b, uint64(len(l.Starts)))
		for _, s := range l.Starts {
			b = binary.AppendVarint(b, s)
		}
		b = binary.AppendUvarint(b, uint64(len(l.Features)))
		for _, f := range l.Features {
			b = appendMethodValues(b, f)
		}
		b = appendMethodValues(b, l.Score)
		b = wire.AppendBool(b, l.Multivariate != nil)
		if l.Multivariate != nil {
			b = appendFloats(b, l.Multivariate)
		}
	}
	return b
}

func readLearned(r *wire.Reader, features int) (map[int64]*Learned, error) {
	if r.Len() == 0 {
		return nil, r.Err()
	}
	n := r.Count(4)
	learned := make(map[int64]*Learned, n)
	for range n {
		l := &Learned{Length: r.Varint()}
		for range r.Count(1) {
			l.Starts = append(l.Starts, r.Varint())
		}
		if nf := r.Count(1); r.Err() == nil && nf != uint64(features) {
			r.Fail(fmt.Sprintf("learned windows of %d features, the model has %d", nf, features))
		}
		for range features {
			if r.Err() != nil {
				break
			}
			l.Features = append(l.Features, readMethodValues(r))
		}
		l.Score = readMethodValues(r)
		if r.Bool() {
			l.Multivariate = readFloats(r)
		}
		learned[l.Length] = l
	}
	return learned, r.Err()
}

// DecodeReference decodes the stream reference of model encoded by
// Reference.AppendBinary.
func (l Layout) DecodeReference(model int, data []byte) (*Reference, error) {
	if model < 0 || model >= len(l) {
		return nil, fmt.Errorf("%w: reference of model %d not configured", ErrCorrupt, model)
	}
	r := newReader(data)
	ref := NewStreamReference(l, model, r.Varint(), r.Varint())
	complete := r.Bool()
	if r.Err() != nil {
		return nil, r.Err()
	}
	var err error
	var learned map[int64]*Learned
	switch {
	case complete:
		if ref.Partial, err = l.readPartial(r, nil); err == nil {
			learned, err = readLearned(r, len(ref.Partial.Features))
		}
	default:
		var acc *Partial
		if acc, ref.folded, err = l.readFolded(r); err == nil {
			if acc == nil {
				err = fmt.Errorf("%w: an incomplete reference without its merge", ErrCorrupt)
			} else {
				ref.Partial = acc
			}
		}
	}
	if err == nil && !complete {
		if ref.parts, err = l.readParts(r); err == nil {
			ref.windows, err = l.readRefWindows(r, model)
		}
	}
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return nil, err
	}
	for _, p := range append(ref.parts, ref.Partial) {
		if p.Model != model {
			return nil, fmt.Errorf("%w: a pane of model %d in the reference of model %d", ErrCorrupt, p.Model, model)
		}
	}
	if complete {
		ref.Finish()
		ref.Learned = learned
	}
	return ref, nil
}
