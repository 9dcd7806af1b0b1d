package reference

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// colKind is what a CSV column holds.
type colKind uint8

const (
	colIgnored colKind = iota
	colFeature
	colModel
	colScore
	colPredicted
	colLabel
	colStatus
)

// fieldKinds maps the names of the known non-feature fields to their kinds.
var fieldKinds = map[string]colKind{
	"model":     colModel,
	"score":     colScore,
	"predicted": colPredicted,
	"label":     colLabel,
	"status":    colStatus,
}

type column struct {
	kind    colKind
	feature int // index into the model's features, for colFeature
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
		} else if k, ok := fieldKinds[h]; ok {
			c.kind = k
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

// csvRow adds one CSV record. An error is about field j's cell.
func (b *Builder) csvRow(cols []column, rec []string) (j int, err error) {
	p := b.reset()
	// The model comes first: another model's row is skipped, not checked.
	for j, c := range cols {
		if c.kind == colModel && rec[j] != "" && rec[j] != b.model.Name {
			b.stats.Skipped++
			return 0, nil
		}
	}
	var hasScore, hasPredicted bool
	var label int8 = noLabel
	for j, c := range cols {
		s := rec[j]
		blank := strings.TrimSpace(s) == ""
		switch c.kind {
		case colFeature:
			i := c.feature
			switch {
			case b.part.Features[i].Num != nil && !blank:
				var x float64
				if x, err = parseNumber(s); err == nil {
					b.setNum(p, i, x)
				}
			case b.part.Features[i].Cat != nil && s != "":
				b.setCat(p, i, bytesOf(normalBool(s)))
			}
		case colScore:
			if !blank {
				p.Score, err = textScore(s)
				hasScore = true
			}
		case colPredicted:
			if !blank {
				p.Predicted, err = textPredicted(s)
				hasPredicted = true
			}
		case colLabel:
			if !blank {
				var l bool
				l, err = b.textLabel(s)
				label = boolLabel(l)
			}
		case colStatus:
			p.Error, err = textStatus(strings.TrimSpace(s))
		}
		if err != nil {
			return j, err
		}
	}
	if !hasPredicted && hasScore {
		p.Predicted = p.Score >= b.spec.Threshold
	}
	b.finishRow(p)
	b.add(p, hasScore || hasPredicted, label)
	return 0, nil
}

func boolLabel(l bool) int8 {
	if l {
		return 1
	}
	return 0
}
