package windows

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows/join"
	"github.com/reckonhq/reckon/windows/perf"
)

// Segments (docs/configuration.md, docs/metrics.md): a model's segment
// features split every figure of its partials by value. A segment's figures
// are a sub-partial, a Partial without feature sketches that the same code
// fills and merges: the predictions of that value by prediction time, the
// outcomes joined to them by outcome time.
//
// Cardinality. A split keeps at most Max values, the Max smallest in byte
// order among those it saw; every other value (and a missing value, and the
// value spelled "other") goes to Other. The rule is exact under merging:
// a value that a pane folded into Other had Max smaller values in that
// pane, so it has at least as many in every window holding the pane and is
// folded there too. A window's split is therefore the same whatever the
// panes, partitions, members or restarts it was merged from, and equal to
// splitting the window's events directly.
//
// The join. An outcome's segment is its prediction's, which the outcome
// does not carry: a pending prediction keeps its segment values in the
// join as a tag (join.Prediction.Tag), 16 bits per segment feature, each a
// code into its partition's dictionary of the values it has seen. The
// dictionary is partition state (a changelog record per value), so a
// restored partition decodes the tags of the predictions it restored. It
// holds at most maxSegmentCodes values per segment feature; a value seen
// after that goes to Other in that partition, and is counted as overflow.

// SegmentSpec is one segment of a model: a categorical feature and the
// number of its values that become their own segment in a window.
type SegmentSpec struct {
	Feature int    // index into the model's features
	Name    string // the feature's name
	Max     int
}

// OtherSegment is the value under which a split reports what it folded.
const OtherSegment = "other"

// maxSegmentCodes bounds a partition's dictionary of one segment feature:
// a tag holds 16 bits per feature, and code 0 means Other.
const maxSegmentCodes = 1<<16 - 1

// SegmentSplit is one segment feature's split of a partial.
type SegmentSplit struct {
	// Max is the number of values kept apart.
	Max int
	// Values are the values kept apart, ascending in byte order, and
	// parts[i] the sub-partial of Values[i]; parts beyond len(Values) are
	// spares, kept for reuse.
	Values []string
	parts  []*Partial
	// Other holds the predictions of every other value, of missing values
	// and of the value "other", and the outcomes joined to them.
	Other *Partial
	// Overflow counts the predictions in Other because their value was
	// beyond Max (or beyond a partition's dictionary).
	Overflow uint64

	// layout and model make sub-partials.
	layout Layout
	model  int
}

// Part is the sub-partial of Values[i].
func (s *SegmentSplit) Part(i int) *Partial { return s.parts[i] }

// Lookup returns the sub-partial of v, or nil when the split does not keep
// v apart.
func (s *SegmentSplit) Lookup(v string) *Partial {
	if i, ok := slices.BinarySearch(s.Values, v); ok {
		return s.parts[i]
	}
	return nil
}

// NewSegmentPartial returns an empty sub-partial of model: a partial
// without feature sketches.
func (l Layout) NewSegmentPartial(model int) *Partial {
	p := l.NewPartial(model)
	p.Features = nil
	return p
}

// part returns the sub-partial of value v, making room for it if it is one
// of the Max smallest (folding the largest kept into Other), or Other; over
// reports that v went to Other for want of room.
func (s *SegmentSplit) part(v string) (sub *Partial, over bool) {
	i, found := slices.BinarySearch(s.Values, v)
	if found {
		return s.parts[i], false
	}
	n := len(s.Values)
	if n == s.Max {
		if i == n {
			return s.Other, true
		}
		// v displaces the largest value kept: fold it into Other and reuse
		// its sub-partial.
		last := s.parts[n-1]
		s.Overflow += last.Predictions
		if err := s.Other.Merge(last); err != nil {
			panic(fmt.Sprintf("windows: segment sub-partials do not merge: %v", err)) // same layout
		}
		last.clear()
		copy(s.parts[i+1:n], s.parts[i:n-1])
		s.parts[i] = last
		copy(s.Values[i+1:n], s.Values[i:n-1])
		s.Values[i] = v
		return last, false
	}
	s.Values = slices.Insert(s.Values, i, v)
	if len(s.parts) > n { // a spare
		sub = s.parts[n]
		copy(s.parts[i+1:n+1], s.parts[i:n])
		sub.clear()
		s.parts[i] = sub
	} else {
		sub = s.layout.NewSegmentPartial(s.model)
		s.parts = slices.Insert(s.parts, i, sub)
	}
	return sub, false
}

// clear empties the split, keeping its memory.
func (s *SegmentSplit) clear() {
	s.Values = s.Values[:0]
	s.Other.clear()
	s.Overflow = 0
}

// split returns p's split of segment k, making it (and those before it)
// when p has none yet.
func (p *Partial) split(k, max int) *SegmentSplit {
	for len(p.Segments) <= k {
		if len(p.Segments) < cap(p.Segments) { // a split kept by clear
			p.Segments = p.Segments[:len(p.Segments)+1]
			continue
		}
		p.Segments = append(p.Segments, SegmentSplit{Other: p.layout.NewSegmentPartial(p.Model), layout: p.layout, model: p.Model})
	}
	s := &p.Segments[k]
	s.Max = max
	return s
}

// mergeSegments merges o's splits into p's.
func (p *Partial) mergeSegments(o *Partial) error {
	for k := range o.Segments {
		os := &o.Segments[k]
		ps := p.split(k, os.Max)
		for i, v := range os.Values {
			sub, over := ps.part(v)
			if over {
				ps.Overflow += os.parts[i].Predictions
			}
			if err := sub.Merge(os.parts[i]); err != nil {
				return fmt.Errorf("segment %d, value %q: %w", k, v, err)
			}
		}
		if err := ps.Other.Merge(os.Other); err != nil {
			return fmt.Errorf("segment %d, other: %w", k, err)
		}
		ps.Overflow += os.Overflow
	}
	return nil
}

// segmentValue is what a partition knows of a prediction's value of one
// segment feature: a code into its dictionary (0: none).
type segmentValue struct {
	code uint16
	// over is true when the value was beyond the dictionary.
	over bool
}

// segmentDict is a partition's dictionary of one segment feature's values:
// code c is values[c-1].
type segmentDict struct {
	codes  map[string]uint16
	values []string
	// written is how many values are in the changelog.
	written int
}

// code returns v's code, adding v when new and there is room.
func (d *segmentDict) code(v []byte) segmentValue {
	if c, ok := d.codes[string(v)]; ok {
		return segmentValue{code: c}
	}
	if string(v) == OtherSegment {
		return segmentValue{}
	}
	if len(d.values) >= maxSegmentCodes {
		return segmentValue{over: true}
	}
	s := string(v)
	d.values = append(d.values, s)
	c := uint16(len(d.values))
	d.codes[s] = c
	return segmentValue{code: c}
}

// value is the value of code c, "" for 0.
func (d *segmentDict) value(c uint16) string {
	if c == 0 || int(c) > len(d.values) {
		return ""
	}
	return d.values[c-1]
}

// newSegmentDicts returns empty dictionaries for every model's segments.
func newSegmentDicts(set *Settings) [][]segmentDict {
	ds := make([][]segmentDict, len(set.Models))
	for m := range ds {
		ds[m] = make([]segmentDict, len(set.segments(m)))
		for k := range ds[m] {
			ds[m][k].codes = make(map[string]uint16)
		}
	}
	return ds
}

// segments is model m's segments (none when the settings were made
// without).
func (s *Settings) segments(m int) []SegmentSpec {
	if m < len(s.Segments) {
		return s.Segments[m]
	}
	return nil
}

// segmentTag looks up e's segment values, fills p.segVals with them and
// returns the join tag that encodes them.
func (p *Partition) segmentTag(e *event.Prediction) uint64 {
	specs := p.set.segments(e.Model)
	p.segVals = p.segVals[:0]
	var tag uint64
	for k, sp := range specs {
		var sv segmentValue
		if !e.Missing[sp.Feature] {
			sv = p.dicts[e.Model][k].code(e.Cat[sp.Feature])
		}
		p.segVals = append(p.segVals, sv)
		tag |= uint64(sv.code) << (16 * k)
	}
	return tag
}

// addSegments adds prediction e to the sub-partials of pane for the values
// segmentTag found.
func (p *Partition) addSegments(pane *Partial, e *event.Prediction, cal *perf.Calibrator, deferEstimate bool) {
	specs := p.set.segments(e.Model)
	for k, sp := range specs {
		s := pane.split(k, sp.Max)
		sv := p.segVals[k]
		sub, over := s.Other, sv.over
		if sv.code != 0 {
			sub, over = s.part(p.dicts[e.Model][k].value(sv.code))
		}
		if over {
			s.Overflow++
		}
		sub.AddPrediction(e, cal, deferEstimate)
	}
}

// joinedSegments adds joined pair j to the sub-partials of pane for the
// segment values in its tag: an outcome's segment is its prediction's, so
// a segment's outcomes are those joined.
func (p *Partition) joinedSegments(pane *Partial, j *join.Joined, kind config.ModelKind, classes int) {
	model := int(j.Model)
	for k, sp := range p.set.segments(model) {
		s := pane.split(k, sp.Max)
		sub := s.Other
		if c := uint16(j.Tag >> (16 * k)); c != 0 {
			sub, _ = s.part(p.dicts[model][k].value(c))
		}
		sub.Outcomes++
		sub.AddJoined(j, kind, classes)
	}
}

// appendSegments appends p's splits to b.
func (p *Partial) appendSegments(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(p.Segments)))
	var err error
	for k := range p.Segments {
		s := &p.Segments[k]
		b = binary.AppendUvarint(b, uint64(s.Max))
		b = binary.AppendUvarint(b, s.Overflow)
		b = binary.AppendUvarint(b, uint64(len(s.Values)))
		for i, v := range s.Values {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
			if b, err = s.parts[i].AppendBinary(b); err != nil {
				return b, err
			}
		}
		if b, err = s.Other.AppendBinary(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// readSegments reads what appendSegments wrote into p, reusing its
// splits' memory.
func (l Layout) readSegments(r *wire.Reader, p *Partial) error {
	n := int(r.Count(4))
	if r.Err() != nil {
		return r.Err()
	}
	for k := range p.Segments {
		p.Segments[k].clear()
	}
	if n < len(p.Segments) {
		p.Segments = p.Segments[:n]
	}
	for k := range n {
		max := r.Uvarint()
		if r.Err() == nil && (max == 0 || max > maxSegmentCodes) {
			r.Fail("segment max_values out of range")
		}
		if r.Err() != nil {
			return r.Err()
		}
		s := p.split(k, int(max))
		s.Overflow = r.Uvarint()
		nv := int(r.Count(2))
		if r.Err() == nil && nv > s.Max {
			r.Fail("more segment values than max_values")
		}
		for i := range nv {
			v := string(r.Blob())
			if r.Err() != nil {
				return r.Err()
			}
			if i > 0 && v <= s.Values[i-1] {
				r.Fail("segment values out of order")
				return r.Err()
			}
			s.Values = append(s.Values, v)
			if len(s.parts) < len(s.Values) {
				s.parts = append(s.parts, l.NewSegmentPartial(p.Model))
			}
			if _, err := l.readSubPartial(r, s.parts[i], p.Model); err != nil {
				return err
			}
		}
		if _, err := l.readSubPartial(r, s.Other, p.Model); err != nil {
			return err
		}
	}
	return r.Err()
}

// readSubPartial reads a sub-partial of model into sub.
func (l Layout) readSubPartial(r *wire.Reader, sub *Partial, model int) (*Partial, error) {
	sub.Joined, sub.Deferred = sub.Joined[:0], sub.Deferred[:0]
	p, err := l.readPartialInto(r, nil, sub)
	if err == nil && p.Model != model {
		err = fmt.Errorf("%w: a segment of model %d in a partial of model %d", ErrCorrupt, p.Model, model)
	}
	return p, err
}
