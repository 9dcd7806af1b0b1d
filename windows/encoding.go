package windows

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/reckonhq/reckon/internal/wire"
)

// Binary encodings of the event-time state, for the state changelog and
// for the messages that members exchange. Every encoding starts with a
// version byte; a decoder refuses versions it does not know rather than
// guess. Sketches are embedded length-prefixed in their own (versioned)
// encodings, so a Partial round-trips bit for bit.

const (
	// partialV1 is a pane without its fragment number (Seq 0); still read.
	partialV1 = 1
	// partialVersion adds the fragment number.
	partialVersion = 2
	// partialKinds adds, after the features, a regression or multiclass
	// model's part (kinds.go). A partial without one is still written as
	// partialVersion, so a binary model's encodings are unchanged.
	partialKinds = 3
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
	version := r.Byte()
	if version != partialKinds && version != partialVersion && version != partialV1 && r.Err() == nil {
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
	if f := free; f != nil && len(f[model]) > 0 {
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
	if version >= partialVersion {
		p.Seq = r.Uvarint()
	}
	p.Predictions, p.Errors, p.Outcomes = r.Uvarint(), r.Uvarint(), r.Uvarint()
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
	if r.Complete {
		return r.Partial.AppendBinary(b)
	}
	b, err := appendFolded(b, r.Partial, r.folded)
	if err != nil {
		return b, err
	}
	return appendParts(b, r.parts)
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
	switch {
	case complete:
		ref.Partial, err = l.readPartial(r, nil)
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
		ref.parts, err = l.readParts(r)
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
	}
	return ref, nil
}
