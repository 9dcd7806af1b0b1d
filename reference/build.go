package reference

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
)

// Format is the format of an input file.
type Format int

// Input formats.
const (
	FormatCSV   Format = iota + 1 // comma-separated values with a header row
	FormatJSONL                   // JSON Lines: prediction records or flat rows
)

// String returns "csv" or "jsonl".
func (f Format) String() string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatJSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name: "csv", or "jsonl" (also "ndjson").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "csv":
		return FormatCSV, nil
	case "jsonl", "ndjson":
		return FormatJSONL, nil
	}
	return 0, fmt.Errorf("unknown input format %q (want csv or jsonl)", s)
}

// FormatOf returns the format a file name's extension says, ignoring a
// trailing ".gz": .csv is CSV, .jsonl and .ndjson are JSON Lines.
func FormatOf(name string) (Format, error) {
	base := strings.TrimSuffix(strings.ToLower(filepath.Base(name)), ".gz")
	switch filepath.Ext(base) {
	case ".csv":
		return FormatCSV, nil
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	}
	return 0, fmt.Errorf("cannot tell the format of %q from its extension (want .csv, .jsonl or .ndjson, optionally .gz)", name)
}

// ProgressInterval is how many rows a Builder reads between two calls of
// its Progress function.
const ProgressInterval = 1 << 13

// maxIgnored caps the ignored column and field names remembered in Stats.
const maxIgnored = 100

// noLabel marks a row without a label.
const noLabel = -1

// Stats counts what a Builder read.
type Stats struct {
	// Rows is the number of rows read: JSON lines and CSV records, not
	// counting CSV headers and blank lines.
	Rows int64
	// Skipped is the number of rows of other models, not in the profile.
	Skipped int64
	// Labelled is the number of the model's rows with a label; Joined of
	// those, the ones added to the performance window (ok rows with a
	// score or a predicted class).
	Labelled, Joined int64
	// Violations counts schema violations per declared feature (indexed
	// like config.Model.Features) and kind, as the processor counts them
	// in reckon_schema_violations_total.
	Violations [][event.NumViolationKinds]int64
	// Undeclared counts features of prediction records that the model does
	// not declare (kind unknown_feature, feature "_undeclared").
	Undeclared int64
	// Ignored lists the CSV columns and flat-row fields that are neither a
	// declared feature nor a known field, in the order first seen, each
	// once (at most 100).
	Ignored []string
}

// Builder builds the reference profile of one model from rows of data. A
// Builder is not safe for concurrent use.
//
//	b, err := reference.NewBuilder(cfg, "fraud")
//	…
//	if err := b.Read("data.csv", f, reference.FormatCSV); err != nil { … }
//	p := b.Profile()
type Builder struct {
	// AllowMissingColumns makes a declared feature that has no column in a
	// CSV header missing in every row of that input, instead of an error.
	AllowMissingColumns bool
	// Comma is the CSV field delimiter; zero means ','.
	Comma rune
	// Progress, when not nil, is called with Stats.Rows every
	// ProgressInterval rows and once at the end of each input.
	Progress func(rows int64)

	model    *config.Model
	index    int // the model's index in the schema
	maxBytes int // longest JSON line accepted

	// Rows are an input format of the event contract: CSV cells and JSON
	// lines become fields, which the stream's rules judge.
	rules  *event.Rules
	json   event.JSON
	fields event.Fields
	pred   *event.Prediction
	part   *windows.Partial
	scores []event.Member // a flat row's scores, across Fields.Reset
	// learner cuts the rows into the configured windows, and keeps them
	// for the PCA, when the model's drift settings need it (nil
	// otherwise).
	learner *windows.Learner

	stats   Stats
	sources []string
	ignored map[string]struct{}
	done    bool
}

// NewBuilder returns a Builder of the profile of the model named model in
// cfg. Rows are validated against cfg exactly as the processor validates
// prediction records: feature types, bounds and categories, the threshold,
// the label strings and max_record_bytes.
func NewBuilder(cfg *config.Config, model string) (*Builder, error) {
	m, ok := cfg.Model(model)
	if !ok {
		names := make([]string, len(cfg.Models))
		for i := range cfg.Models {
			names[i] = cfg.Models[i].Name
		}
		return nil, fmt.Errorf("model %q is not configured (models: %s)", model, strings.Join(names, ", "))
	}
	schema := event.SchemaFromConfig(cfg)
	index, ok := schema.Lookup([]byte(model))
	if !ok {
		return nil, fmt.Errorf("model %q is not in the schema", model) // cannot happen
	}
	b := &Builder{
		model:    m,
		index:    index,
		maxBytes: cfg.MaxRecordBytes,
		rules:    event.NewRules(schema),
		json:     event.JSON{KeepMembers: true},
		pred:     schema.NewPrediction(),
		part:     windows.LayoutOf(cfg).NewPartial(index),
		ignored:  make(map[string]struct{}),
	}
	if b.maxBytes <= 0 {
		b.maxBytes = config.DefaultMaxRecordBytes
	}
	// As a stream reference's (windows.NewStreamReference): the same
	// resolution, so that a profile and a stream reference of the same rows
	// agree (docs/drift.md gives the bound).
	b.part.SetCompression(sketch.ReferenceCompression)
	if needsWindows(m) {
		var lengths []int64
		for _, w := range cfg.Windows {
			lengths = append(lengths, w.Length.Milliseconds())
		}
		b.learner = windows.NewLearner(b.part, lengths, m.Drift.Multivariate)
	}
	// The declared features', then a multiclass model's _predicted and
	// _label (event.ModelSpec.PredictedFeature, LabelFeature).
	b.stats.Violations = make([][event.NumViolationKinds]int64, violationRows(m))
	return b, nil
}

// needsWindows reports whether m's drift settings need the reference's
// windows: learned thresholds or multivariate drift.
func needsWindows(m *config.Model) bool {
	if m.Drift.Multivariate || m.Drift.Threshold == sketch.ThresholdLearned {
		return true
	}
	for i := range m.Features {
		if m.FeatureDrift(i).Threshold == sketch.ThresholdLearned {
			return true
		}
	}
	return false
}

// Stats returns what the Builder has read so far. The slices are the
// Builder's own: do not modify them.
func (b *Builder) Stats() Stats { return b.stats }

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// Read adds every row of r, an input of format f, to the profile. name
// names the input in errors and in the profile's sources. A gzip-compressed
// input is decompressed, and a leading UTF-8 byte order mark skipped.
//
// A row that cannot be used stops the read with a *RowError naming name and
// the line; the rows before it have been added. A read error of r is
// returned wrapped.
func (b *Builder) Read(name string, r io.Reader, f Format) error {
	if b.done {
		return errors.New("reference: Builder.Read after Profile")
	}
	if f != FormatCSV && f != FormatJSONL {
		return fmt.Errorf("reference: %s: unknown format %v", name, f)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	if bom, _ := br.Peek(len(utf8BOM)); bytes.Equal(bom, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	b.sources = append(b.sources, name)
	var err error
	if f == FormatCSV {
		err = b.readCSV(name, br)
	} else {
		err = b.readJSONL(name, br)
	}
	if b.Progress != nil {
		b.Progress(b.stats.Rows)
	}
	return err
}

// Profile returns the profile built from everything read. The Builder hands
// its sketches over: Read fails afterwards.
func (b *Builder) Profile() *Profile {
	b.done = true
	p := &Profile{
		Model:   b.model.Name,
		Created: time.Now().UTC().Truncate(time.Second),
		Sources: b.sources,
		Partial: b.part,
		Stats:   b.stats,
	}
	for _, f := range b.model.Features {
		p.Features = append(p.Features, FeatureInfo{Name: f.Name, Type: f.Type})
	}
	if b.learner != nil && b.part.Predictions > 0 {
		ref := &windows.Reference{Partial: b.part}
		ref.Finish()
		if err := b.learner.Finish(ref); err != nil {
			p.Err = err
		}
		p.Learned, p.PCA = ref.Learned, ref.PCA
	}
	return p
}

// row counts one row read and reports progress.
func (b *Builder) row() {
	b.stats.Rows++
	if b.Progress != nil && b.stats.Rows%ProgressInterval == 0 {
		b.Progress(b.stats.Rows)
	}
}

// ignore remembers an ignored column or field name.
func (b *Builder) ignore(name string) {
	if _, ok := b.ignored[name]; ok || len(b.stats.Ignored) >= maxIgnored {
		return
	}
	b.ignored[name] = struct{}{}
	b.stats.Ignored = append(b.stats.Ignored, name)
}

// addRow applies the rules to a CSV or flat JSON row of the model, found
// in f, and adds it.
func (b *Builder) addRow(f *event.Fields) error {
	p := b.pred
	scored, err := b.rules.Row(b.index, f, p)
	if err != nil {
		return err
	}
	if b.learner != nil && p.TimeMs == 0 {
		return &event.DecodeError{Reason: event.ReasonMissingField, Field: event.FieldTimestamp.String(),
			Detail: "required to cut the reference into windows (learned thresholds or multivariate drift)"}
	}
	label, err := b.label(f)
	if err != nil {
		return err
	}
	b.add(p, scored, label)
	return nil
}

// rowLabel is a row's label, by the model's kind.
type rowLabel struct {
	ok    bool
	bin   bool    // binary
	value float64 // regression
	class int     // multiclass: the index, -1 undeclared
	name  []byte  // multiclass: as the row has it
}

// label reads the row's label, if it has one.
func (b *Builder) label(f *event.Fields) (rowLabel, error) {
	v := f.Get(event.FieldLabel)
	switch b.model.Kind {
	case config.KindRegression:
		if v.IsNull() {
			return rowLabel{}, nil
		}
		x, err := event.RegressionLabel(v)
		return rowLabel{ok: err == nil, value: x}, err
	case config.KindMulticlass:
		if v.IsNull() {
			return rowLabel{}, nil
		}
		c, err := b.rules.ClassLabel(b.index, v)
		return rowLabel{ok: err == nil, class: c, name: v.Str}, err
	}
	l, ok, err := b.rules.Label(b.index, v)
	return rowLabel{ok: ok && err == nil, bin: l}, err
}

// add adds one prediction of the model to the profile with the updates a
// partition worker makes (windows.Partition): counts, the identity-
// calibrated estimate, the prediction and feature sketches; and, for a
// labelled row, its outcome and what the join adds once the label arrives.
// scored says the row has a score, a value or a predicted class, so that a
// label can be joined to it.
func (b *Builder) add(p *event.Prediction, scored bool, label rowLabel) {
	pt := b.part
	for _, v := range p.Violations {
		if v.Feature == event.Undeclared {
			b.stats.Undeclared++
		} else {
			b.stats.Violations[v.Feature][v.Kind]++
		}
	}
	if label.ok {
		b.stats.Labelled++
		o := event.Outcome{Kind: b.model.Kind, Value: label.value, Class: label.class, ClassName: label.name, NewClass: label.class < 0}
		if b.model.Kind == config.KindMulticlass && o.NewClass {
			b.stats.Violations[len(b.model.Features)+1][event.ViolationNewCategory]++
		}
		pt.AddOutcome(&o, len(b.model.Classes))
	}
	// The worker calibrates with the model's calibrator, which is the
	// identity (nil) until a reference completes.
	pt.AddPrediction(p, nil, false)
	if b.learner != nil {
		b.learner.Add(p)
	}
	if p.Error || !label.ok || !scored {
		return // an error prediction has no sketches and joins no label
	}
	b.stats.Joined++
	// The join table keeps 32 bits of the prediction and of the label.
	switch b.model.Kind {
	case config.KindRegression:
		pt.AddKindJoined(config.KindRegression, 0, float64(float32(p.Value)), float64(float32(label.value)))
	case config.KindMulticlass:
		pt.AddKindJoined(config.KindMulticlass, len(b.model.Classes), float64(p.Class), float64(label.class))
	default:
		pt.Perf.Add(float64(float32(p.Score)), p.Predicted, label.bin)
	}
}
