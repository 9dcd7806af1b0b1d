package reference

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/reckonhq/reckon/event"
)

func (b *Builder) readJSONL(name string, br *bufio.Reader) error {
	var long []byte // a line longer than br's buffer
	for line := int64(1); ; line++ {
		s, err := br.ReadSlice('\n')
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], s...)
			for errors.Is(err, bufio.ErrBufferFull) {
				s, err = br.ReadSlice('\n')
				if len(long) <= b.maxBytes+1 {
					long = append(long, s...)
				} else {
					tooLong = true // keep reading to the end of the line, keep nothing
				}
			}
			s = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if len(s) == 0 && err == io.EOF {
			return nil
		}
		s = bytes.TrimRight(s, "\r\n")
		if len(bytes.TrimSpace(s)) > 0 {
			b.row()
			if tooLong || len(s) > b.maxBytes {
				return &RowError{File: name, Line: line, Err: &event.DecodeError{Reason: event.ReasonTooLarge,
					Detail: "line longer than max_record_bytes " + strconv.Itoa(b.maxBytes)}}
			}
			if err := b.jsonRow(s); err != nil {
				return &RowError{File: name, Line: line, Err: err}
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// jsonRow adds one JSON line: a prediction record or a flat row.
func (b *Builder) jsonRow(line []byte) error {
	f := &b.fields
	if err := b.json.Scan(line, f); err != nil {
		return err
	}
	if b.isWire(f) {
		return b.wireRow(f)
	}
	return b.flatRow(f)
}

// otherModel reports whether the row in f names another model; such a row
// is skipped (and counted) before it is checked, so that its problems do
// not stop this model's build.
func (b *Builder) otherModel(f *event.Fields) bool {
	m := f.Get(event.FieldModel)
	if m.Type == event.TypeString && len(m.Str) > 0 && string(m.Str) != b.model.Name {
		b.stats.Skipped++
		return true
	}
	return false
}

// isWire reports whether the line in f is a prediction record rather than
// a flat row: it has a "features" key, unless that is a declared feature
// whose value is not an object.
func (b *Builder) isWire(f *event.Fields) bool {
	if !f.Has(event.FieldFeatures) {
		return false
	}
	_, declared := b.model.FeatureIndex("features")
	return !declared || f.Get(event.FieldFeatures).Type == event.TypeObject
}

// wireRow adds a prediction record of the model, checked by the rules of
// the stream; its extra "label" field, if any, is an outcome's label.
func (b *Builder) wireRow(f *event.Fields) error {
	if b.otherModel(f) {
		return nil
	}
	p := b.pred
	if err := b.rules.Prediction(f, p); err != nil {
		return err
	}
	label, err := b.label(f)
	if err != nil {
		return err
	}
	// The rules guarantee an ok prediction a score or a predicted class.
	b.add(p, true, label)
	return nil
}

// flatRow adds a flat row: the declared features at the top level, next to
// the row fields (rowField). Its fields are gathered anew from every
// top-level member of the line.
func (b *Builder) flatRow(f *event.Fields) error {
	// A flat row's scores object is a member like the others; its
	// members, which the scanner found, are kept across the Reset.
	b.scores = append(b.scores[:0], f.Scores...)
	f.Reset()
	hasFeature := false
	for _, m := range b.json.Members() {
		if _, ok := b.model.FeatureIndexBytes(m.Name); ok {
			f.AddFeature(m.Name, m.Value)
			hasFeature = hasFeature || !m.Value.IsNull()
			continue
		}
		if k, ok := rowField(m.Name); ok {
			if f.Set(k, m.Value) && k == event.FieldScores {
				f.Scores = append(f.Scores, b.scores...)
			}
			continue
		}
		b.ignore(string(m.Name))
	}
	if hasFeature {
		f.Set(event.FieldFeatures, event.Value{Type: event.TypeObject})
	}
	if b.otherModel(f) {
		return nil
	}
	return b.addRow(f)
}
