package reference

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

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

// The wire spellings of booleans as categorical values.
var (
	bytesTrue  = []byte("true")
	bytesFalse = []byte("false")
)

// flatFields holds the known top-level fields of a flat row; the first
// occurrence of a duplicate key wins, as in the decoder.
type flatFields struct {
	model, score, predicted, label, status *fastjson.Value
}

// jsonRow adds one JSON line: a prediction record or a flat row.
func (b *Builder) jsonRow(line []byte) error {
	if !utf8.Valid(line) {
		return &event.DecodeError{Reason: event.ReasonInvalidUTF8, Detail: "line is not valid UTF-8"}
	}
	v, err := b.parser.ParseBytes(line)
	if err != nil {
		return &event.DecodeError{Reason: event.ReasonInvalidJSON, Detail: err.Error()}
	}
	o, err := v.Object()
	if err != nil {
		return &event.DecodeError{Reason: event.ReasonInvalidJSON, Detail: "line is a JSON " + v.Type().String() + ", want an object"}
	}
	if b.isWire(o) {
		// Another model's record is skipped before it is decoded, so that
		// its problems do not stop this model's build.
		if mv := o.Get("model"); mv != nil && mv.Type() == fastjson.TypeString {
			if m, _ := mv.StringBytes(); len(m) > 0 && string(m) != b.model.Name {
				b.stats.Skipped++
				return nil
			}
		}
		return b.wireRow(line, o.Get("label"))
	}
	return b.flatRow(o)
}

// isWire reports whether o is a prediction record rather than a flat row:
// it has a "features" key, unless that is a declared feature whose value is
// not an object.
func (b *Builder) isWire(o *fastjson.Object) bool {
	fv := o.Get("features")
	if fv == nil {
		return false
	}
	_, declared := b.model.FeatureIndex("features")
	return !declared || fv.Type() == fastjson.TypeObject
}

// wireRow adds a prediction record of the model, decoded by the processor's
// decoder; label is its extra "label" field, if any.
func (b *Builder) wireRow(line []byte, label *fastjson.Value) error {
	p := b.pred
	if err := b.dec.DecodePrediction(line, p); err != nil {
		var de *event.DecodeError
		if errors.As(err, &de) && de.Reason == event.ReasonUnknownModel {
			b.stats.Skipped++
			return nil
		}
		return err
	}
	if p.Model != b.index {
		b.stats.Skipped++
		return nil
	}
	// DecodePrediction reparsed the line with its own parser; label still
	// points into b.parser's, untouched.
	l, ok, err := b.jsonLabel(label)
	if err != nil {
		return err
	}
	lab := int8(noLabel)
	if ok {
		lab = boolLabel(l)
	}
	// The decoder guarantees an ok prediction a score or a predicted class.
	b.add(p, true, lab)
	return nil
}

// flatRow adds a flat row: declared features at the top level, with the
// decoder's rules for feature values.
func (b *Builder) flatRow(o *fastjson.Object) error {
	p := b.reset()
	var f flatFields
	o.Visit(func(key []byte, v *fastjson.Value) {
		if i, ok := b.model.FeatureIndexBytes(key); ok {
			b.flatFeature(p, i, v)
			return
		}
		var dst **fastjson.Value
		switch fieldKinds[string(key)] {
		case colModel:
			dst = &f.model
		case colScore:
			dst = &f.score
		case colPredicted:
			dst = &f.predicted
		case colLabel:
			dst = &f.label
		case colStatus:
			dst = &f.status
		default:
			b.ignore(string(key))
			return
		}
		if *dst == nil {
			*dst = v
		}
	})

	if !isNull(f.model) {
		if f.model.Type() != fastjson.TypeString {
			return wrongType("model", "a string", f.model)
		}
		if m, _ := f.model.StringBytes(); len(m) > 0 && string(m) != b.model.Name {
			b.stats.Skipped++
			return nil
		}
	}
	if !isNull(f.status) {
		if f.status.Type() != fastjson.TypeString {
			return wrongType("status", "a string", f.status)
		}
		st, _ := f.status.StringBytes()
		isErr, err := textStatus(string(st))
		if err != nil {
			return &event.DecodeError{Reason: event.ReasonInvalidValue, Field: "status", Detail: strconv.Quote(string(st)) + ", want \"ok\" or \"error\""}
		}
		p.Error = isErr
	}
	hasScore := !isNull(f.score)
	if hasScore {
		if f.score.Type() != fastjson.TypeNumber {
			return wrongType("score", "a number", f.score)
		}
		x, err := f.score.Float64()
		if err != nil {
			return &event.DecodeError{Reason: event.ReasonWrongType, Field: "score", Detail: err.Error()}
		}
		if !(x >= 0 && x <= 1) {
			return &event.DecodeError{Reason: event.ReasonInvalidValue, Field: "score", Detail: "must be a probability in [0,1]"}
		}
		p.Score = x
		p.Predicted = x >= b.spec.Threshold
	}
	hasPredicted := !isNull(f.predicted)
	if hasPredicted {
		switch f.predicted.Type() {
		case fastjson.TypeTrue:
			p.Predicted = true
		case fastjson.TypeFalse:
			p.Predicted = false
		case fastjson.TypeNumber:
			x, _ := f.predicted.Float64()
			if x != 0 && x != 1 {
				return &event.DecodeError{Reason: event.ReasonInvalidValue, Field: "predicted", Detail: "must be 0 or 1"}
			}
			p.Predicted = x == 1
		default:
			return wrongType("predicted", "0/1 or a boolean", f.predicted)
		}
	}
	l, ok, err := b.jsonLabel(f.label)
	if err != nil {
		return err
	}
	lab := int8(noLabel)
	if ok {
		lab = boolLabel(l)
	}
	b.finishRow(p)
	b.add(p, hasScore || hasPredicted, lab)
	return nil
}

// flatFeature records feature i of a flat row as the decoder records a
// value of the features object.
func (b *Builder) flatFeature(p *event.Prediction, i int, v *fastjson.Value) {
	if !p.Missing[i] {
		return // duplicate key: the first value wins
	}
	t := v.Type()
	if t == fastjson.TypeNull {
		return // missing, reported by finishRow
	}
	typeViolation := func() {
		p.Violations = append(p.Violations, event.Violation{Feature: i, Kind: event.ViolationType})
	}
	if b.part.Features[i].Num != nil {
		if t != fastjson.TypeNumber {
			typeViolation()
			return
		}
		x, err := v.Float64()
		if err != nil {
			typeViolation()
			return
		}
		b.setNum(p, i, x)
		return
	}
	switch t {
	case fastjson.TypeString:
		c, _ := v.StringBytes()
		b.setCat(p, i, c)
	case fastjson.TypeTrue:
		b.setCat(p, i, bytesTrue)
	case fastjson.TypeFalse:
		b.setCat(p, i, bytesFalse)
	default:
		typeViolation()
	}
}
