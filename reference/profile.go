package reference

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows"
)

// FormatVersion is the "format" of the profile files this build writes and
// reads.
const FormatVersion = "reckon-reference/1"

// MaxProfileBytes bounds the size of a profile file ReadProfile accepts. A
// profile takes a few KiB per numeric feature and up to about 40 KiB per
// categorical one (1000 exact values and the HyperLogLog), base64-encoded.
const MaxProfileBytes = 256 << 20

// maxProfileBytes is MaxProfileBytes, smaller in tests.
var maxProfileBytes int64 = MaxProfileBytes

// Profile is the reference profile of one model.
type Profile struct {
	Model     string
	Created   time.Time
	Generator string   // what wrote the profile, such as "reckon v0.4.0"; informational
	Sources   []string // the inputs it was built from; informational
	// Features are the model's declared features, in the order of
	// Partial.Features.
	Features []FeatureInfo
	// Partial holds the sketches and counts: Features, Score, Perf,
	// Estimate, Predictions (every row of the model), Errors and Outcomes
	// (labelled rows).
	Partial *windows.Partial
	// Stats are the Builder's. A profile read from a file has what the
	// file records: Rows (rows and skipped), Skipped, Labelled (outcomes),
	// Joined (the performance window's count), Violations and Undeclared;
	// no Ignored.
	Stats Stats
	// Learned are the reference's windows of each configured length
	// compared with it, and PCA its multivariate drift model: built when
	// the model's drift settings need them (threshold: learned,
	// multivariate: true), nil otherwise. Err is why the Builder could not
	// build them.
	Learned map[int64]*windows.Learned
	PCA     *windows.PCA
	Err     error
}

// FeatureInfo is a feature of a profile.
type FeatureInfo struct {
	Name string
	Type config.FeatureType
}

// Reference returns the profile as a completed reference: bin edges derived
// and the calibrator fitted (windows.Reference.Finish). The reference shares
// p.Partial.
func (p *Profile) Reference() *windows.Reference {
	r := &windows.Reference{Partial: p.Partial}
	r.Finish()
	r.Learned, r.PCA = p.Learned, p.PCA
	return r
}

// fileProfile is the JSON of a profile file; see the package documentation.
// []byte fields are base64.
type fileProfile struct {
	Format     string        `json:"format"`
	Model      string        `json:"model"`
	Created    time.Time     `json:"created"`
	Generator  string        `json:"generator,omitempty"`
	Sources    []string      `json:"sources,omitempty"`
	Rows       uint64        `json:"rows"`
	Skipped    int64         `json:"skipped"`
	Errors     uint64        `json:"errors"`
	Outcomes   uint64        `json:"outcomes"`
	Undeclared int64         `json:"undeclared,omitempty"`
	Features   []fileFeature `json:"features"`
	Score      fileFeature   `json:"score"`
	Perf       []byte        `json:"perf"`
	Estimate   []byte        `json:"estimate,omitempty"`
	Windows    []fileWindows `json:"windows,omitempty"`
	PCA        *filePCA      `json:"multivariate,omitempty"`
	// Kind holds a regression or multiclass model's own sketches and
	// figures (windows.Partial.AppendKind): for a regression model its
	// labels' distribution and error, for a multiclass one its class
	// shares, predicted and labelled.
	Kind []byte `json:"kind,omitempty"`
}

type fileFeature struct {
	Name       string           `json:"name,omitempty"`
	Type       string           `json:"type,omitempty"`
	Count      uint64           `json:"count"`
	Missing    uint64           `json:"missing"`
	Min        *float64         `json:"min,omitempty"`
	Max        *float64         `json:"max,omitempty"`
	Distinct   *uint64          `json:"distinct,omitempty"`
	Violations map[string]int64 `json:"violations,omitempty"`
	Sketch     []byte           `json:"sketch"`
}

// finite returns &x, or nil when x is NaN or infinite (which JSON cannot
// carry).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// Save writes p to w as a profile file of format FormatVersion.
func Save(w io.Writer, p *Profile) error {
	pt := p.Partial
	if pt == nil || len(pt.Features) != len(p.Features) {
		return errors.New("reference: Save: the profile's features and sketches do not match")
	}
	f := fileProfile{
		Format:     FormatVersion,
		Model:      p.Model,
		Created:    p.Created.UTC(),
		Generator:  p.Generator,
		Sources:    p.Sources,
		Rows:       pt.Predictions,
		Skipped:    p.Stats.Skipped,
		Errors:     pt.Errors,
		Outcomes:   pt.Outcomes,
		Undeclared: p.Stats.Undeclared,
		Features:   make([]fileFeature, len(p.Features)),
	}
	var err error
	for i, fi := range p.Features {
		ff := &f.Features[i]
		ff.Name, ff.Type = fi.Name, fi.Type.String()
		switch s := pt.Features[i]; {
		case fi.Type == config.FeatureNumeric && s.Num != nil:
			ff.Count, ff.Missing = s.Num.Total()-s.Num.Missing(), s.Num.Missing()
			ff.Min, ff.Max = finite(s.Num.Min()), finite(s.Num.Max())
			if n, ok := s.Num.Distinct(); ok {
				d := uint64(n)
				ff.Distinct = &d
			}
			ff.Sketch, err = s.Num.MarshalBinary()
		case fi.Type == config.FeatureCategorical && s.Cat != nil:
			ff.Count, ff.Missing = s.Cat.NonMissing(), s.Cat.Missing()
			d := s.Cat.Distinct()
			ff.Distinct = &d
			ff.Sketch, err = s.Cat.MarshalBinary()
		default:
			return fmt.Errorf("reference: Save: feature %q is %v but its sketch is not", fi.Name, fi.Type)
		}
		if err != nil {
			return fmt.Errorf("reference: Save: feature %q: %w", fi.Name, err)
		}
		if i < len(p.Stats.Violations) {
			for k, n := range p.Stats.Violations[i] {
				if n > 0 {
					if ff.Violations == nil {
						ff.Violations = make(map[string]int64)
					}
					ff.Violations[event.ViolationKind(k).String()] = n
				}
			}
		}
	}
	sc := pt.Score
	f.Score = fileFeature{Count: sc.Total() - sc.Missing(), Missing: sc.Missing(), Min: finite(sc.Min()), Max: finite(sc.Max())}
	if f.Score.Sketch, err = sc.MarshalBinary(); err != nil {
		return fmt.Errorf("reference: Save: score: %w", err)
	}
	if f.Perf, err = pt.Perf.MarshalBinary(); err != nil {
		return fmt.Errorf("reference: Save: perf: %w", err)
	}
	if f.Estimate, err = pt.Estimate.MarshalBinary(); err != nil {
		return fmt.Errorf("reference: Save: estimate: %w", err)
	}
	f.Windows, f.PCA = saveLearned(p), savePCA(p)
	if f.Kind, err = pt.AppendKind(nil); err != nil {
		return fmt.Errorf("reference: Save: kind: %w", err)
	}
	data, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return fmt.Errorf("reference: Save: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Load reads the profile file at path for model m, which is model
// modelIndex of layout (the processor's), and returns it as a completed
// reference. See ReadProfile for what it checks; errors name path.
func Load(path string, m *config.Model, layout windows.Layout, modelIndex int) (*windows.Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	defer f.Close()
	p, err := ReadProfile(f, m, layout, modelIndex)
	if err != nil {
		return nil, fmt.Errorf("reference profile %s: %w", path, err)
	}
	return p.Reference(), nil
}

// ReadProfile reads a profile file for model m, which is model modelIndex
// of layout. It checks the format (*VersionError), the model
// (*ModelError), that every declared feature is present with its declared
// type and a sketch that decodes (*FeatureError), and that the rest decodes
// (*CorruptError). Features are matched by name; those m does not declare
// are ignored. The profile's Partial has layout's shape and Model
// modelIndex.
func ReadProfile(r io.Reader, m *config.Model, layout windows.Layout, modelIndex int) (*Profile, error) {
	if err := checkLayout(m, layout, modelIndex); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxProfileBytes {
		return nil, &CorruptError{Reason: fmt.Sprintf("larger than %d bytes", maxProfileBytes)}
	}

	// The format first, so that a newer format is reported as such even if
	// the rest would not decode as this one.
	var head struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &CorruptError{Reason: "not a reference profile (not a JSON object)", Err: err}
	}
	if head.Format == nil {
		return nil, &CorruptError{Reason: "not a reference profile (no \"format\")"}
	}
	if *head.Format != FormatVersion {
		return nil, &VersionError{Format: *head.Format}
	}
	var f fileProfile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, &CorruptError{Reason: "invalid profile", Err: err}
	}
	if f.Model != m.Name {
		return nil, &ModelError{Profile: f.Model, Model: m.Name}
	}

	byName := make(map[string]*fileFeature, len(f.Features))
	for i := range f.Features {
		ff := &f.Features[i]
		if _, dup := byName[ff.Name]; dup {
			return nil, &CorruptError{Reason: fmt.Sprintf("feature %q appears twice", ff.Name)}
		}
		byName[ff.Name] = ff
	}
	p := &Profile{
		Model:     f.Model,
		Created:   f.Created,
		Generator: f.Generator,
		Sources:   f.Sources,
		Features:  make([]FeatureInfo, len(m.Features)),
		Partial:   layout.NewPartial(modelIndex),
		Stats: Stats{
			Skipped:    f.Skipped,
			Undeclared: f.Undeclared,
			Violations: make([][event.NumViolationKinds]int64, violationRows(m)),
		},
	}
	pt := p.Partial
	pt.Predictions, pt.Errors, pt.Outcomes = f.Rows, f.Errors, f.Outcomes
	for i, decl := range m.Features {
		p.Features[i] = FeatureInfo{Name: decl.Name, Type: decl.Type}
		ff := byName[decl.Name]
		if ff == nil {
			return nil, &FeatureError{Feature: decl.Name, Reason: "declared in the configuration but missing from the profile"}
		}
		typ, err := config.ParseFeatureType(ff.Type)
		if err != nil {
			return nil, &FeatureError{Feature: decl.Name, Reason: "invalid type in the profile", Err: err}
		}
		if typ != decl.Type {
			return nil, &FeatureError{Feature: decl.Name, Reason: fmt.Sprintf("%v in the profile but %v in the configuration", typ, decl.Type)}
		}
		if len(ff.Sketch) == 0 {
			return nil, &FeatureError{Feature: decl.Name, Reason: "no sketch in the profile"}
		}
		if s := pt.Features[i]; s.Num != nil {
			err = s.Num.UnmarshalBinary(ff.Sketch)
		} else {
			err = s.Cat.UnmarshalBinary(ff.Sketch)
		}
		if err != nil {
			return nil, &FeatureError{Feature: decl.Name, Reason: "sketch does not decode", Err: err}
		}
		for k := range event.NumViolationKinds {
			p.Stats.Violations[i][k] = ff.Violations[k.String()]
		}
	}
	if len(f.Score.Sketch) == 0 {
		return nil, &CorruptError{Reason: "no score sketch"}
	}
	if err := pt.Score.UnmarshalBinary(f.Score.Sketch); err != nil {
		return nil, &CorruptError{Reason: "score sketch does not decode", Err: err}
	}
	if len(f.Perf) == 0 {
		return nil, &CorruptError{Reason: "no perf window"}
	}
	if err := pt.Perf.UnmarshalBinary(f.Perf); err != nil {
		return nil, &CorruptError{Reason: "perf window does not decode", Err: err}
	}
	if len(f.Estimate) > 0 {
		if err := pt.Estimate.UnmarshalBinary(f.Estimate); err != nil {
			return nil, &CorruptError{Reason: "estimate does not decode", Err: err}
		}
	}
	if err := pt.ReadKind(f.Kind); err != nil {
		return nil, &CorruptError{Reason: "kind does not decode", Err: err}
	}
	switch {
	case m.Kind == config.KindRegression && pt.Multi != nil, m.Kind == config.KindMulticlass && pt.Reg != nil,
		m.Kind == config.KindBinary && (pt.Reg != nil || pt.Multi != nil):
		return nil, &CorruptError{Reason: "the profile is of another kind of model than " + m.Kind.String()}
	case pt.Multi != nil && pt.Multi.Perf.Classes() != len(m.Classes):
		return nil, &CorruptError{Reason: fmt.Sprintf("%d classes in the profile, %d in the configuration", pt.Multi.Perf.Classes(), len(m.Classes))}
	}
	if p.Learned, err = readLearned(f.Windows, m); err != nil {
		return nil, err
	}
	if p.PCA, err = readPCA(f.PCA, m, layout, modelIndex); err != nil {
		return nil, err
	}
	p.Stats.Rows = int64(f.Rows) + f.Skipped
	p.Stats.Labelled = int64(f.Outcomes)
	p.Stats.Joined = int64(pt.Perf.Count())
	switch {
	case pt.Reg != nil:
		p.Stats.Joined = int64(pt.Reg.Perf.Count())
	case pt.Multi != nil:
		p.Stats.Joined = int64(pt.Multi.Perf.Count() + pt.Multi.Perf.Undeclared())
	}
	return p, nil
}

// violationRows is the length of Stats.Violations for model m: its
// features, and a multiclass model's _predicted and _label after them.
func violationRows(m *config.Model) int {
	if m.Kind == config.KindMulticlass {
		return len(m.Features) + 2
	}
	return len(m.Features)
}

// checkLayout checks that model modelIndex of layout has m's features: a
// mistake of the caller, not of the file.
func checkLayout(m *config.Model, layout windows.Layout, modelIndex int) error {
	if modelIndex < 0 || modelIndex >= len(layout) {
		return fmt.Errorf("reference: model index %d outside the layout of %d models", modelIndex, len(layout))
	}
	l := layout[modelIndex]
	ok := len(l) == len(m.Features)
	for i := 0; ok && i < len(l); i++ {
		ok = l[i] == (m.Features[i].Type == config.FeatureCategorical)
	}
	if !ok {
		return fmt.Errorf("reference: layout of model %d does not match the features of model %q", modelIndex, m.Name)
	}
	return nil
}
