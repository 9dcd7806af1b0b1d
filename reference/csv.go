package reference

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reckonhq/reckon/event"
)

// colKind is what a CSV column holds.
type colKind uint8

const (
	colIgnored colKind = iota
	colFeature         // a declared feature
	colField           // one of the row fields (rowField)
)

type column struct {
	kind    colKind
	feature int         // index into the model's features, for colFeature
	field   event.Field // for colField
}

func (b *Builder) readCSV(name string, r io.Reader) error {
	cr := csv.NewReader(r)
	if b.Comma != 0 {
		cr.Comma = b.Comma
	}
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return &RowError{File: name, Line: 1, Err: errors.New("empty input: no header row")}
	}
	if err != nil {
		return csvError(name, err, nil, 0)
	}
	headerLine, _ := cr.FieldPos(0)
	names := make([]string, len(header))
	for j, h := range header {
		names[j] = strings.TrimSpace(h)
	}
	cols, err := b.plan(names)
	if err != nil {
		var re *RowError
		if errors.As(err, &re) {
			re.File, re.Line = name, int64(headerLine)
		}
		return err
	}

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(name, err, rec, len(names))
		}
		b.row()
		if j, err := b.csvRow(cols, rec); err != nil {
			if j < 0 {
				line, _ := cr.FieldPos(0)
				return &RowError{File: name, Line: int64(line), Err: err}
			}
			line, _ := cr.FieldPos(j)
			return &RowError{File: name, Line: int64(line), Column: names[j], Err: err}
		}
	}
}

// csvError turns an encoding/csv error into a *RowError.
func csvError(name string, err error, rec []string, width int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, err)
	}
	e := pe.Err
	switch {
	case errors.Is(e, csv.ErrFieldCount):
		e = fmt.Errorf("%w: %d fields, the header has %d", csv.ErrFieldCount, len(rec), width)
	case pe.Column > 0:
		e = fmt.Errorf("%w (at character %d)", pe.Err, pe.Column)
	}
	return &RowError{File: name, Line: int64(pe.Line), Err: e}
}

// plan maps the header's columns, named names, to what they hold. Errors
// are *RowErrors without file and line.
func (b *Builder) plan(names []string) ([]column, error) {
	cols := make([]column, len(names))
	used := make(map[string]bool, len(names))
	have := make([]bool, len(b.model.Features))
	for j, h := range names {
		c := column{}
		if i, ok := b.model.FeatureIndex(h); ok {
			c = column{kind: colFeature, feature: i}
			have[i] = true
		} else if f, ok := rowField(bytesOf(h)); ok {
			c = column{kind: colField, field: f}
		}
		if c.kind == colIgnored {
			b.ignore(h)
		} else if used[h] {
			return nil, &RowError{Column: h, Err: errors.New("appears twice in the header")}
		}
		used[h] = true
		cols[j] = c
	}
	var missing []string
	for i, ok := range have {
		if !ok {
			missing = append(missing, b.model.Features[i].Name)
		}
	}
	if len(missing) > 0 && !b.AllowMissingColumns {
		return nil, &RowError{Err: &MissingColumnsError{Features: missing}}
	}
	return cols, nil
}

// csvRow adds one CSV record. An error is about field j's cell, or about
// the row as a whole when j < 0.
func (b *Builder) csvRow(cols []column, rec []string) (j int, err error) {
	// The model comes first: another model's row is skipped, not checked.
	for j, c := range cols {
		if c.kind == colField && c.field == event.FieldModel && rec[j] != "" && rec[j] != b.model.Name {
			b.stats.Skipped++
			return 0, nil
		}
	}
	f := &b.fields
	f.Reset()
	var at [event.NumFields]int // the column of each field
	hasFeature := false
	for j, c := range cols {
		var v event.Value
		switch c.kind {
		case colFeature:
			if v, err = b.featureCell(c.feature, rec[j]); err != nil {
				return j, err
			}
			f.AddFeature(bytesOf(b.model.Features[c.feature].Name), v)
			hasFeature = hasFeature || !v.IsNull()
		case colField:
			if v, err = fieldCell(c.field, b.model.Kind, rec[j]); err != nil {
				return j, err
			}
			if v.Type != event.TypeAbsent && f.Set(c.field, v) {
				at[c.field] = j
			}
		}
	}
	if hasFeature {
		f.Set(event.FieldFeatures, event.Value{Type: event.TypeObject})
	}
	if err := b.addRow(f); err != nil {
		var de *event.DecodeError
		if errors.As(err, &de) {
			if k, ok := event.FieldOf(bytesOf(de.Field)); ok {
				return at[k], err
			}
		}
		return -1, err
	}
	return 0, nil
}
