// Package event decodes and validates the prediction and outcome records of
// docs/events.md: the wire schema that model servers and labellers publish
// (docs/events.md describes it as implemented).
//
// Decoding is two steps with a small boundary between them: a Format (JSON,
// the scanner of scan.go) finds the record's fields and reports them as
// typed values in a Fields (fields.go); Rules (rules.go), the one copy of
// the contract's rules, judge them and fill a Prediction or an Outcome. A
// Decoder joins the two for the consumer; package reference feeds CSV and
// JSON rows to the same Rules.
//
// A Decoder is owned by one goroutine (a partition worker) and reuses all of
// its memory: in steady state decoding a record allocates nothing. Byte slices
// in a decoded Prediction or Outcome alias the decoder's parse buffers and the
// record's value; they are valid only until the next Decode call.
package event

import (
	"math"
	"slices"
	"time"

	"github.com/reckonhq/reckon/config"
)

// Kind is what a model predicts: config.KindBinary, KindRegression or
// KindMulticlass.
type Kind = config.ModelKind

// The model kinds, as package config declares them.
const (
	KindBinary     = config.KindBinary
	KindRegression = config.KindRegression
	KindMulticlass = config.KindMulticlass
)

// The pseudo-features of a multiclass model's violations: a class outside
// the declared ones in a prediction's predicted (or scores) or an outcome's
// label is a new_category violation of one of them. Their indexes follow
// the declared features' (ModelSpec.PredictedFeature, LabelFeature).
const (
	PseudoPredicted = "_predicted"
	PseudoLabel     = "_label"
)

// FeatureKind is how a declared feature is interpreted.
type FeatureKind uint8

const (
	// Numeric features carry JSON numbers.
	Numeric FeatureKind = iota
	// Categorical features carry JSON strings or booleans.
	Categorical
)

// FeatureSpec declares one feature of a model.
type FeatureSpec struct {
	Name string
	Kind FeatureKind
	// Min and Max bound numeric values (inclusive); values outside are range
	// violations but still observed. Zero values mean unbounded only when
	// HasMin/HasMax are false.
	Min, Max       float64
	HasMin, HasMax bool
	// Categories, when non-empty, is the closed set of expected values of a
	// categorical feature; any other value is a new_category violation.
	Categories []string
}

// ModelSpec declares one model: its decision threshold, its label strings and
// its features.
type ModelSpec struct {
	Name string
	Kind Kind
	// Classes are a multiclass model's classes; a class is its index.
	Classes   []string
	Threshold float64
	// PositiveLabel and NegativeLabel are optional label strings accepted in
	// outcome records besides 1/0 and true/false.
	PositiveLabel, NegativeLabel string
	Features                     []FeatureSpec
}

// PredictedFeature is the feature index of violations of the pseudo-feature
// _predicted; LabelFeature that of _label.
func (m *ModelSpec) PredictedFeature() int { return len(m.Features) }

// LabelFeature is the feature index of violations of _label.
func (m *ModelSpec) LabelFeature() int { return len(m.Features) + 1 }

// Schema is the set of configured models. It is immutable after NewSchema and
// safe to share between decoders.
type Schema struct {
	models []model
	index  map[string]int
	// maxEventAge is max_event_age: how far behind the wall clock an event
	// time may be (Rules.SetWallClock); 0 means no limit.
	maxEventAge time.Duration
}

type model struct {
	ModelSpec
	features   map[string]int
	categories []map[string]struct{} // per feature; nil when open-ended
	classes    map[string]int        // a multiclass model's class indexes
}

// NewSchema indexes the given models. Model names must be unique, as must
// feature names within a model; the configuration package guarantees both.
func NewSchema(models []ModelSpec) *Schema {
	s := &Schema{index: make(map[string]int, len(models))}
	for i, m := range models {
		mm := model{ModelSpec: m, features: make(map[string]int, len(m.Features))}
		mm.Features = slices.Clone(m.Features) // bounds are filled in below
		if len(m.Classes) > 0 {
			mm.classes = make(map[string]int, len(m.Classes))
			for j, c := range m.Classes {
				mm.classes[c] = j
			}
		}
		mm.categories = make([]map[string]struct{}, len(m.Features))
		for j, f := range m.Features {
			mm.features[f.Name] = j
			if len(f.Categories) > 0 {
				set := make(map[string]struct{}, len(f.Categories))
				for _, c := range f.Categories {
					set[c] = struct{}{}
				}
				mm.categories[j] = set
			}
			if !f.HasMin {
				mm.Features[j].Min = math.Inf(-1)
			}
			if !f.HasMax {
				mm.Features[j].Max = math.Inf(1)
			}
		}
		s.models = append(s.models, mm)
		s.index[m.Name] = i
	}
	return s
}

// WithMaxEventAge returns a copy of s whose rules make events older than
// the wall clock minus age dead letters (reason stale_timestamp; see
// Rules.SetWallClock). Zero means no limit, the default.
func (s *Schema) WithMaxEventAge(age time.Duration) *Schema {
	c := *s
	c.maxEventAge = age
	return &c
}

// MaxEventAge is the schema's max_event_age; 0 means no limit.
func (s *Schema) MaxEventAge() time.Duration { return s.maxEventAge }

// Len is the number of models.
func (s *Schema) Len() int { return len(s.models) }

// Model returns the spec of model i.
func (s *Schema) Model(i int) *ModelSpec { return &s.models[i].ModelSpec }

// Lookup returns the index of the named model. It does not allocate.
func (s *Schema) Lookup(name []byte) (int, bool) {
	i, ok := s.index[string(name)]
	return i, ok
}

// NewPrediction returns a Prediction with room for every model's features.
func (s *Schema) NewPrediction() *Prediction {
	n := s.MaxFeatures()
	return &Prediction{
		Num:        make([]float64, n),
		Cat:        make([][]byte, n),
		Missing:    make([]bool, n),
		Violations: make([]Violation, 0, 8),
		Scores:     make([]float64, s.MaxClasses()),
	}
}

// MaxClasses is the largest class count of any multiclass model.
func (s *Schema) MaxClasses() int {
	n := 0
	for i := range s.models {
		n = max(n, len(s.models[i].Classes))
	}
	return n
}

// MaxFeatures is the largest feature count of any model, the size a reused
// Prediction needs.
func (s *Schema) MaxFeatures() int {
	n := 0
	for i := range s.models {
		n = max(n, len(s.models[i].Features))
	}
	return n
}
