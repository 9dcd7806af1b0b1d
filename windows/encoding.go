package windows

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Binary encodings of the event-time state, for checkpoints and for the
// partials that members exchange. Every encoding starts with a version
// byte; a decoder refuses versions it does not know rather than guess.
// Sketches are embedded length-prefixed in their own (versioned)
// encodings, so a Partial round-trips bit for bit.

const encodingVersion = 1

// ErrCorrupt is wrapped by every decoding error of this package.
var ErrCorrupt = errors.New("windows: corrupt encoding")

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("truncated blob")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) version() {
	if r.err != nil {
		return
	}
	if len(r.b) == 0 || r.b[0] != encodingVersion {
		r.fail("unknown version")
		return
	}
	r.b = r.b[1:]
}

type appender interface {
	AppendBinary([]byte) ([]byte, error)
}

// appendBlob appends a's encoding prefixed by its length.
func appendBlob(b []byte, a appender) ([]byte, error) {
	enc, err := a.AppendBinary(nil)
	if err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(len(enc)))
	return append(b, enc...), nil
}

// AppendBinary appends the encoding of p (version 1) to b.
func (p *Partial) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.AppendUvarint(b, uint64(p.Model))
	b = binary.AppendVarint(b, p.Start)
	b = binary.AppendVarint(b, p.End)
	b = binary.AppendUvarint(b, uint64(p.Source))
	b = binary.AppendUvarint(b, p.Predictions)
	b = binary.AppendUvarint(b, p.Errors)
	b = binary.AppendUvarint(b, p.Outcomes)
	var err error
	for _, a := range []appender{&p.Perf, &p.Estimate, p.Score} {
		if b, err = appendBlob(b, a); err != nil {
			return b, err
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Joined)))
	for _, e := range p.Joined {
		b = binary.AppendVarint(b, e.OutcomeMs)
		b = binary.AppendVarint(b, e.PredMs)
		if e.Wrong {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Features)))
	for _, f := range p.Features {
		var a appender = f.Cat
		if f.Num != nil {
			a = f.Num
		}
		if b, err = appendBlob(b, a); err != nil {
			return b, err
		}
	}
	return b, nil
}

// DecodePartial decodes a partial encoded by Partial.AppendBinary, checking
// it against the layout. It returns the unread rest of data.
func (l Layout) DecodePartial(data []byte) (*Partial, []byte, error) {
	r := &reader{b: data}
	p, err := l.readPartial(r)
	return p, r.b, err
}

func (l Layout) readPartial(r *reader) (*Partial, error) {
	r.version()
	model := r.uvarint()
	if r.err == nil && model >= uint64(len(l)) {
		r.fail(fmt.Sprintf("model %d not configured", model))
	}
	if r.err != nil {
		return nil, r.err
	}
	p := l.NewPartial(int(model))
	p.Start, p.End = r.varint(), r.varint()
	p.Source = int32(r.uvarint())
	p.Predictions, p.Errors, p.Outcomes = r.uvarint(), r.uvarint(), r.uvarint()
	for _, u := range []interface{ UnmarshalBinary([]byte) error }{&p.Perf, &p.Estimate, p.Score} {
		if blob := r.bytes(); r.err == nil {
			if err := u.UnmarshalBinary(blob); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
	}
	if n := r.uvarint(); r.err == nil && n > 0 {
		if n > uint64(len(r.b)) {
			r.fail("truncated error stream")
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			e := JoinedError{OutcomeMs: r.varint(), PredMs: r.varint()}
			if r.err == nil && len(r.b) == 0 {
				r.fail("truncated error stream")
			}
			if r.err == nil {
				e.Wrong = r.b[0] == 1
				r.b = r.b[1:]
				p.Joined = append(p.Joined, e)
			}
		}
	}
	if n := r.uvarint(); r.err == nil && n != uint64(len(p.Features)) {
		r.fail(fmt.Sprintf("model %d has %d features, the encoding %d", model, len(p.Features), n))
	}
	for _, f := range p.Features {
		blob := r.bytes()
		if r.err != nil {
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
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// AppendBinary appends the open panes to b.
func (ps *Panes) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.AppendUvarint(b, uint64(ps.Len()))
	var err error
	for _, open := range ps.open {
		for _, p := range open {
			if b, err = p.AppendBinary(b); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// UnmarshalBinary replaces the open panes with the encoded ones.
func (ps *Panes) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.version()
	n := r.uvarint()
	open := make([][]*Partial, len(ps.layout))
	for i := uint64(0); i < n && r.err == nil; i++ {
		p, err := ps.layout.readPartial(r)
		if err != nil {
			return err
		}
		if p.End-p.Start != ps.length {
			return fmt.Errorf("%w: pane [%d,%d) is not %dms long", ErrCorrupt, p.Start, p.End, ps.length)
		}
		open[p.Model] = append(open[p.Model], p)
	}
	if r.err != nil {
		return r.err
	}
	for _, o := range open {
		slices.SortFunc(o, func(a, b *Partial) int { return cmp.Compare(a.Start, b.Start) })
	}
	ps.open = open
	return nil
}

// AppendBinary appends the aggregator's open windows and progress to b.
func (a *Aggregator) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.AppendVarint(b, a.closedThrough)
	keys := make([]windowKey, 0, len(a.open))
	for k := range a.open {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y windowKey) int {
		return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.model, y.model), cmp.Compare(x.window, y.window))
	})
	b = binary.AppendUvarint(b, uint64(len(keys)))
	var err error
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(k.window))
		b = binary.AppendUvarint(b, uint64(k.model))
		b = binary.AppendVarint(b, k.start)
		if b, err = appendParts(b, a.open[k]); err != nil {
			return b, err
		}
	}
	return b, nil
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

func (l Layout) readParts(r *reader) ([]*Partial, error) {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("truncated pane list")
	}
	if r.err != nil {
		return nil, r.err
	}
	parts := make([]*Partial, 0, n)
	for range n {
		p, err := l.readPartial(r)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// UnmarshalBinary replaces the aggregator's state with the encoded one.
func (a *Aggregator) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.version()
	closed := r.varint()
	n := r.uvarint()
	open := make(map[windowKey][]*Partial, min(n, 1<<16))
	for i := uint64(0); i < n && r.err == nil; i++ {
		w, model, start := r.uvarint(), r.uvarint(), r.varint()
		if r.err == nil && (w >= uint64(len(a.lengths)) || model >= uint64(len(a.layout))) {
			r.fail(fmt.Sprintf("window %d of model %d not configured", w, model))
		}
		if r.err != nil {
			break
		}
		parts, err := a.layout.readParts(r)
		if err != nil {
			return err
		}
		open[windowKey{int(model), int(w), start}] = parts
	}
	if r.err != nil {
		return r.err
	}
	a.closedThrough, a.open = closed, open
	return nil
}

// State is what a checkpoint keeps of a source: its event-time progress.
// Wall-clock idleness is not kept: a restored source starts active.
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

// Restore sets the watermark's current value (from a checkpoint). It never
// moves it backwards.
func (w *Watermark) Restore(current int64) {
	w.current = max(w.current, current)
}

// AppendBinary appends the stream reference's state: its range, partial and
// completeness. Derived data (edges, calibrator) is recomputed on decoding.
func (r *Reference) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	b = binary.AppendVarint(b, r.From)
	b = binary.AppendVarint(b, r.To)
	if r.Complete {
		b = append(b, 1)
		return r.Partial.AppendBinary(b)
	}
	b = append(b, 0)
	return appendParts(b, r.parts)
}

// DecodeReference decodes a stream reference encoded by
// Reference.AppendBinary.
func (l Layout) DecodeReference(model int, data []byte) (*Reference, error) {
	r := &reader{b: data}
	r.version()
	from, to := r.varint(), r.varint()
	complete := false
	if r.err == nil {
		if len(r.b) == 0 {
			r.fail("truncated reference")
		} else {
			complete = r.b[0] == 1
			r.b = r.b[1:]
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if model < 0 || model >= len(l) {
		return nil, fmt.Errorf("%w: reference of model %d not configured", ErrCorrupt, model)
	}
	if complete {
		p, err := l.readPartial(r)
		if err != nil {
			return nil, err
		}
		ref := &Reference{From: from, To: to, Partial: p}
		ref.Finish()
		return ref, nil
	}
	parts, err := l.readParts(r)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.Model != model {
			return nil, fmt.Errorf("%w: a pane of model %d in the reference of model %d", ErrCorrupt, p.Model, model)
		}
	}
	ref := NewStreamReference(l, model, from, to)
	ref.parts = parts
	return ref, nil
}
