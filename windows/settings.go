package windows

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows/perf"
)

// Settings are what the core needs to know of the configuration and of the
// group's topology. They are immutable once the runtime has called
// SetTopology, and shared by every Partition and Aggregation of a member.
type Settings struct {
	// PaneLength is the shortest window length in milliseconds: every
	// window is a union of whole panes.
	PaneLength int64
	// Lengths are the window lengths in milliseconds, ascending, and Texts
	// the same as written in the configuration (the `window` label).
	Lengths []int64
	Texts   []string
	// Lateness is allowed_lateness, IdleTimeout idle_timeout, LabelTTL
	// label_ttl.
	Lateness    int64
	IdleTimeout time.Duration
	LabelTTL    time.Duration
	// Layout says which features of each model are categorical.
	Layout Layout
	// Models are the model names, indexed like the configuration, and
	// Features their declared features' names.
	Models   []string
	Features [][]string
	// Segments are each model's segments (segment.go), nil for none.
	Segments [][]SegmentSpec
	// Kinds are the models' kinds, and Classes a multiclass model's
	// classes (nil for the others).
	Kinds   []config.ModelKind
	Classes [][]string

	// Stream references' event-time ranges per model (nil: none or a
	// file), and the loaded reference files (nil: none or a range).
	Ranges []*[2]int64
	Files  []*Reference

	// PCA is, per model with multivariate: true, its reference file's
	// multivariate drift model (nil for the others): what partitions add
	// each prediction's reconstruction error with.
	PCA []*PCA

	// Learn says, per model, that its stream reference keeps its windows
	// for learned thresholds (some feature, or the score, has threshold:
	// learned).
	Learn []bool

	// Drift parameters of each model's features and of its score.
	FeatureDrift [][]sketch.DriftParams
	ScoreDrift   []sketch.DriftParams
	// Costs are the models' costs of an error (nil: none).
	Costs []*config.Cost

	// Partitions is the input topics' partition count, and ModelPartition
	// the partition whose aggregation owns each model: where its panes
	// meet and its windows close. Set by SetTopology.
	Partitions     int
	ModelPartition []int32
}

// NewSettings returns the settings of cfg. files holds the models' loaded
// reference profiles (nil entries for models without one).
func NewSettings(cfg *config.Config, files []*Reference) (*Settings, error) {
	s := &Settings{
		PaneLength:  cfg.Windows[0].Length.Milliseconds(),
		Lateness:    cfg.AllowedLateness.Milliseconds(),
		IdleTimeout: cfg.IdleTimeout,
		LabelTTL:    cfg.LabelTTL,
		Layout:      LayoutOf(cfg),
		Files:       make([]*Reference, len(cfg.Models)),
		Ranges:      make([]*[2]int64, len(cfg.Models)),
	}
	if files != nil && len(files) != len(cfg.Models) {
		return nil, fmt.Errorf("windows: %d reference files for %d models", len(files), len(cfg.Models))
	}
	copy(s.Files, files)
	for _, w := range cfg.Windows {
		s.Lengths = append(s.Lengths, w.Length.Milliseconds())
		s.Texts = append(s.Texts, w.Text)
	}
	for i := range cfg.Models {
		mc := &cfg.Models[i]
		s.Models = append(s.Models, mc.Name)
		s.Kinds = append(s.Kinds, mc.Kind)
		s.Classes = append(s.Classes, mc.Classes)
		var names []string
		var params []sketch.DriftParams
		for fi, f := range mc.Features {
			names = append(names, f.Name)
			params = append(params, mc.FeatureDrift(fi))
		}
		s.Features = append(s.Features, names)
		var segs []SegmentSpec
		for _, sg := range mc.Segments {
			fi, ok := mc.FeatureIndex(sg.Feature)
			if !ok {
				return nil, fmt.Errorf("windows: segment %q of model %q is not a declared feature", sg.Feature, mc.Name)
			}
			segs = append(segs, SegmentSpec{Feature: fi, Name: sg.Feature, Max: sg.MaxValues})
		}
		s.Segments = append(s.Segments, segs)
		s.Costs = append(s.Costs, mc.Cost)
		s.FeatureDrift = append(s.FeatureDrift, params)
		s.Learn = append(s.Learn, learns(mc))
		s.ScoreDrift = append(s.ScoreDrift, mc.Drift)
		if r := mc.Reference; r != nil && r.IsRange() {
			s.Ranges[i] = &[2]int64{r.From.UnixMilli(), r.To.UnixMilli()}
		}
		var pca *PCA
		if f := s.Files[i]; f != nil {
			if err := CheckFile(f, mc, cfg.Windows); err != nil {
				return nil, fmt.Errorf("model %q: %w", mc.Name, err)
			}
			if mc.Drift.Multivariate {
				pca = f.PCA
			}
		}
		s.PCA = append(s.PCA, pca)
	}
	return s, nil
}

// CheckFile checks that a model's reference file has what its drift
// settings need: for learned thresholds or multivariate drift, learned
// windows of every configured length, at least sketch.MinLearnedWindows of
// them; for multivariate drift, a multivariate model.
func CheckFile(f *Reference, mc *config.Model, windows []config.Window) error {
	if mc.Drift.Multivariate && f.PCA == nil {
		return errors.New("multivariate drift is on but the reference file has no multivariate model: rebuild it with reckon reference")
	}
	if !learns(mc) && !mc.Drift.Multivariate {
		return nil
	}
	for _, w := range windows {
		l := f.Learned[w.Length.Milliseconds()]
		switch {
		case l == nil:
			return fmt.Errorf("the reference file has no windows of %s for learned thresholds: rebuild it with reckon reference and this configuration's windows", w.Text)
		case l.Windows() < sketch.MinLearnedWindows:
			return fmt.Errorf("the reference file spans %d windows of %s; learned thresholds need at least %d", l.Windows(), w.Text, sketch.MinLearnedWindows)
		}
	}
	return nil
}

// learns reports whether some feature of mc, or its score, has learned
// thresholds.
func learns(mc *config.Model) bool {
	if mc.Drift.Threshold == sketch.ThresholdLearned {
		return true
	}
	for i := range mc.Features {
		if mc.FeatureDrift(i).Threshold == sketch.ThresholdLearned {
			return true
		}
	}
	return false
}

// LayoutOf is the layout of cfg's models: which of each model's declared
// features are categorical.
func LayoutOf(cfg *config.Config) Layout {
	l := make(Layout, len(cfg.Models))
	for i, m := range cfg.Models {
		l[i] = make([]bool, len(m.Features))
		for j, f := range m.Features {
			l[i][j] = f.Type == config.FeatureCategorical
		}
	}
	return l
}

// SetTopology records the partition count of the input topics and where
// each model is aggregated. It must be called before any Partition or
// Aggregation is made, and not again while they are in use.
func (s *Settings) SetTopology(partitions int, modelPartition []int32) {
	s.Partitions = partitions
	s.ModelPartition = modelPartition
}

func (s *Settings) featureName(model, i int) string { return s.Features[model][i] }

// calibration says how a model's predictions are calibrated for
// estimation: those before from with the identity, the others with c once
// known. A stream reference's calibrator is known only when the reference
// completes, at its end (from), on the member that aggregates the model;
// until a partition learns it, it defers those predictions' estimates
// (Partial.Deferred), so that every prediction is estimated the same way
// whoever processes it and whenever.
type calibration struct {
	from  int64
	known bool
	c     *perf.Calibrator
}

// at returns the calibrator for a prediction at ms, or defer.
func (c *calibration) at(ms int64) (cal *perf.Calibrator, deferEstimate bool) {
	switch {
	case ms < c.from:
		return nil, false
	case !c.known:
		return nil, true
	}
	return c.c, false
}

// Calibrations are the calibrators a member's partitions use, one per
// model. Partitions read them during batches; the runtime adopts what the
// aggregations learnt (Adopt) only between batches, so no lock is needed.
type Calibrations []calibration

// NewCalibrations returns the calibrations known at start: the identity for
// a model without reference, a file's calibrator, and for a stream
// reference the identity before its end and "not known yet" after.
func NewCalibrations(s *Settings) Calibrations {
	cs := make(Calibrations, len(s.Models))
	for i := range cs {
		switch {
		case s.Files[i] != nil:
			cs[i] = calibration{from: math.MinInt64, known: true, c: s.Files[i].Calibrator}
		case s.Ranges[i] != nil:
			cs[i] = calibration{from: s.Ranges[i][1]}
		default:
			cs[i] = calibration{from: math.MaxInt64, known: true}
		}
	}
	return cs
}

// Adopt takes the calibrators aggregation a has learnt. Call it only while
// no partition is processing.
func (cs Calibrations) Adopt(a *Aggregation) {
	for mi, c := range a.cals {
		if c.known && !cs[mi].known {
			cs[mi].known, cs[mi].c = true, c.c
		}
	}
}
