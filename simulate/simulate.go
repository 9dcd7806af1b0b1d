// Package simulate generates the Kafka traffic of models in production:
// prediction records and, later in event time, outcome records for a share
// of them, optionally with data drift and a concept change injected at a
// known event time. It is reckon's one record generator:
//
//   - `reckon demo` and `reckon simulate` play Fraud, one fraud model whose
//     amounts grow and whose traffic from an undeclared country brings fraud
//     the model does not see 30 simulated minutes in, with Run, which paces
//     event time at a multiple of the wall clock;
//   - `reckon bench` and the hot-path benchmarks use Bench, a fleet of
//     models with ten features each, generated as fast as it is asked for.
//
// A model, its features, the label delay, the drift and the encoding of the
// records are declared here once; Config turns the same declaration into
// the reckon configuration that monitors the traffic. The traffic is
// deterministic for a seed.
package simulate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/reckonhq/reckon/config"
)

// Options shape the traffic. Start from Fraud or Bench.
type Options struct {
	// Models are the models of the traffic; each prediction is of one of
	// them, chosen uniformly.
	Models []Model
	// EventRate is the number of predictions per second of event time.
	EventRate float64
	// Start is the event time of the first prediction.
	Start time.Time

	LabelRate   float64       // share of ok predictions that get an outcome
	LabelDelay  time.Duration // mean delay of an outcome in event time (exponential)
	ErrorRate   float64       // share of predictions with status "error"
	MissingRate float64       // share of feature values that are null
	// NewCategoryRate is the share of the values of a Category feature
	// with Novel categories that are one of those: values the
	// configuration does not declare (new_category violations).
	NewCategoryRate float64
	// CanaryEvery: one prediction in CanaryEvery, on average, is of model
	// version CanaryVersion instead of Version. Zero: none.
	CanaryEvery int
	// Drift is what changes at Start + Drift.At.
	Drift Drift

	// Reference and LabelTTL are for Config: the first Reference of event
	// time is every model's reference (zero: none declared), and LabelTTL
	// is label_ttl (zero: the configuration's default).
	Reference time.Duration
	LabelTTL  time.Duration

	Seed uint64
}

// Drift is injected at a known event time: data drift of the features,
// which reckon's drift tests see against a reference taken before it, and
// a concept change, which only labelled performance shows.
type Drift struct {
	// At is the event time after Options.Start at which the drift begins.
	// Zero: no drift.
	At time.Duration
	// AmountScale multiplies the values of Amount features.
	AmountScale float64
	// NewCategoryRate replaces Options.NewCategoryRate.
	NewCategoryRate float64
	// Lift: a prediction with a Novel category is positive with
	// probability min(1, score+Lift) instead of score.
	Lift float64
	// Segment, when set, is a category value whose predictions' scores
	// move by SegmentShift in logit from SegmentAt (event time after
	// Options.Start; it needs no At) while their labels keep the unshifted
	// calibration: the model degrades for that segment only (its
	// false-positive rate rises with a positive shift), and the average
	// barely moves when the segment is small.
	Segment      string
	SegmentShift float64
	SegmentAt    time.Duration
}

// Model declares a simulated model.
//
// Its score is 1/(1+e^−z) with z = Bias + Σ Weight·signal + Noise·N(0,1),
// the sum over its features (see Kind for each one's signal). The labels
// are calibrated until the drift: a prediction with score s is positive
// with probability s.
type Model struct {
	Name        string
	Features    []Feature
	Bias, Noise float64
	// Threshold decides the records' "predicted" (score ≥ Threshold), and
	// Config declares it.
	Threshold float64
	// Segments are the names of Category features that Config declares
	// as the model's segments.
	Segments []string
	// Kind is the model's kind (binary when zero). A regression model
	// predicts value = Bias + Σ Weight·signal and its label is value +
	// Noise·N(0,1), plus Drift.Lift·Scale after the drift for a
	// prediction with a Novel category. A multiclass model of Classes
	// draws its class probabilities as the softmax of logits Noise·N(0,1)
	// plus, for class c of K, (Σ Weight·signal)·(c − (K−1)/2) and Bias
	// for the first class; it predicts the likeliest and its label is
	// drawn from them (calibrated), except that after the drift a
	// prediction with a Novel category is labelled the last class with
	// probability Drift.Lift.
	Kind    config.ModelKind
	Classes []string
	// Scale is a regression model's unit of Drift.Lift.
	Scale float64
}

// Feature declares a feature of a simulated model.
type Feature struct {
	Name string
	Kind Kind
	// Categories are the values of a Category feature, drawn uniformly;
	// Novel are values the configuration does not declare, drawn instead
	// at the rate of Options.NewCategoryRate. Config declares the
	// Categories of a feature with Novel ones, so that those show as
	// new_category violations, and leaves the others open.
	Categories, Novel []string
	// Weight is the feature's coefficient in its model's score; only kinds
	// with a signal may have one.
	Weight float64
}

// Kind is how a feature's values are drawn, and its signal: the value its
// Weight multiplies in the model's score. Bounds are those Config declares.
type Kind uint8

const (
	Amount   Kind = iota // numeric, e^(4+N(0,1)) to the cent, min 0; × Drift.AmountScale after the drift; signal ln(x)−4
	Age                  // numeric, 40+12·N(0,1) clamped to [18, 95], whole years, bounds [18, 120]; signal (x−40)/12
	Balance              // numeric, 5000+3000·N(0,1) to the cent, unbounded; signal (x−5000)/3000
	Tenure               // numeric, days: exponential with mean 700, whole, min 0; signal x/700−1
	Count                // numeric, events a day: exponential with mean 3, whole, min 0; signal x/3−1
	Ratio                // numeric, uniform in [0, 1) to 4 decimals, bounds [0, 1]; signal 2x−1
	Category             // categorical, Categories or Novel as Feature says; no signal
	Flag                 // categorical, true with probability 0.2; signal 1 or 0
	numKinds
)

var kindNames = [numKinds]string{"amount", "age", "balance", "tenure", "count", "ratio", "category", "flag"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Numeric reports whether the kind's values are numbers.
func (k Kind) Numeric() bool { return k < Category }

// Model versions of the predictions; the probes of Generator.Probe have
// their own.
const (
	Version       = "v12"
	CanaryVersion = "v13" // a canary: see Options.CanaryEvery
)

// The values of the Category features of Fraud and Bench.
var (
	// countries: the first ten are declared (Fraud declares five), the
	// last two are new.
	countries = []string{"DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "AT", "BR", "IN"}
	channels  = []string{"web", "app", "pos"}
	devices   = []string{"ios", "android", "web", "tv", "other"}
)

// The pace at which `reckon demo` and `reckon simulate` play Fraud by
// default (see Run): 500 predictions per wall-clock second, event time
// running 120 times faster than the wall clock (a 5m window every 2.5 s).
const (
	DefaultRate  = 500
	DefaultSpeed = 120
)

// Fraud is the traffic of `reckon demo` and `reckon simulate`: one model,
// "fraud", whose score is a logistic function of its features amount, age,
// country (five declared) and is_new, 1% errors and outcomes for 90% of the
// ok predictions after 10 minutes on average; DefaultRate/DefaultSpeed
// predictions per second of event time from 24 hours ago, on the hour.
//
// At +30m amounts grow (×1.8), 30% of the traffic comes from a country the
// configuration does not declare, and fraud there rises by 0.25 in
// probability, which the model does not see: drift verdicts, new_category
// violations and labelled performance all move. Country is a segment, and
// from +2h the model scores NL (a seventh of the traffic) 0.8 higher in
// logit than its labels warrant: NL's false-positive rate rises while the
// model's barely moves. The reference is the first 20 minutes, before
// the drift; label_ttl is 2h.
func Fraud() Options {
	return Options{
		Models: []Model{{
			Name: "fraud",
			Features: []Feature{
				{Name: "amount", Kind: Amount, Weight: 0.9},
				{Name: "age", Kind: Age, Weight: -0.24},
				{Name: "country", Kind: Category, Categories: countries[:5:5], Novel: countries[10:11:11]},
				{Name: "is_new", Kind: Flag, Weight: 1.2},
			},
			Bias:      -2.2,
			Threshold: 0.3,
			Segments:  []string{"country"},
		}},
		EventRate:  float64(DefaultRate) / DefaultSpeed,
		Start:      time.Now().Add(-24 * time.Hour).Truncate(time.Hour),
		LabelRate:  0.9,
		LabelDelay: 10 * time.Minute,
		ErrorRate:  0.01,
		Drift: Drift{At: 30 * time.Minute, AmountScale: 1.8, NewCategoryRate: 0.3, Lift: 0.25,
			Segment: "NL", SegmentShift: 0.8, SegmentAt: 2 * time.Hour},
		Reference: 20 * time.Minute,
		LabelTTL:  2 * time.Hour,
		Seed:      1,
	}
}

// Demo is Fraud with a model of each other kind beside the fraud model, at
// three times its event rate (each model gets Fraud's): eta, a regression
// model of a delivery time in minutes whose labels run 10 minutes late
// after the drift for the undeclared city, and intent, a multiclass model
// of support requests routed to billing, shipping, returns or other, whose
// requests from the undeclared channel after the drift turn out "other"
// with probability 0.25 (Drift.Lift) whatever it predicted. `reckon demo` and `reckon simulate` play
// it.
func Demo() Options {
	o := Fraud()
	o.EventRate *= 3
	o.Models = append(o.Models, Model{
		Name: "eta",
		Kind: config.KindRegression,
		Features: []Feature{
			{Name: "distance_km", Kind: Amount, Weight: 6},
			{Name: "items", Kind: Count, Weight: 2},
			{Name: "city", Kind: Category, Categories: countries[:5:5], Novel: countries[10:11:11]},
		},
		Bias: 25, Noise: 3, Scale: 40,
	}, Model{
		Name:    "intent",
		Kind:    config.KindMulticlass,
		Classes: []string{"billing", "shipping", "returns", "other"},
		Features: []Feature{
			{Name: "tenure_days", Kind: Tenure, Weight: 1.5},
			{Name: "channel", Kind: Category, Categories: channels, Novel: countries[10:11:11]},
		},
		Bias: 0.5, Noise: 0.8,
	})
	return o
}

// Bench is the traffic of `reckon bench`: Fleet(3, 10), outcomes for half
// of the predictions after a minute on average, 1% errors, 1% missing
// values, 1% of countries undeclared, one prediction in ten of a canary
// version, 200 predictions per second of event time (a 5m window holds
// 60,000) from 2026-01-01, no drift. The reference is the first 15
// minutes; label_ttl is 15m.
func Bench() Options {
	return Options{
		Models:          Fleet(3, 10),
		EventRate:       200,
		Start:           time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		LabelRate:       0.5,
		LabelDelay:      time.Minute,
		ErrorRate:       0.01,
		MissingRate:     0.01,
		NewCategoryRate: 0.01,
		CanaryEvery:     10,
		Reference:       15 * time.Minute,
		LabelTTL:        15 * time.Minute,
		Seed:            1,
	}
}

// The features Fleet cycles through.
var (
	fleetNumeric = []Feature{
		{Name: "amount", Kind: Amount},
		{Name: "age", Kind: Age},
		{Name: "balance", Kind: Balance},
		{Name: "tenure_days", Kind: Tenure},
		{Name: "txn_count_24h", Kind: Count},
		{Name: "ratio", Kind: Ratio},
	}
	fleetCategorical = []Feature{
		{Name: "country", Kind: Category, Categories: countries[:10:10], Novel: countries[10:]},
		{Name: "channel", Kind: Category, Categories: channels},
		{Name: "device", Kind: Category, Categories: devices},
		{Name: "is_new", Kind: Flag},
	}
)

// Fleet returns models named model-0, model-1, … with features features
// each, 60% numeric and 40% categorical (rounded down), named f00_amount,
// f01_age, … through a catalogue of six numeric and four categorical
// features. Their scores are noise around a 12% mean (Bias −2, Noise 1.2,
// no weights) and their threshold is 0.5. Fewer than one model or feature
// gives what Options.Validate rejects.
func Fleet(models, features int) []Model {
	if models < 1 {
		return nil
	}
	cats := max(features, 0) * 4 / 10
	nums := max(features, 0) - cats
	fs := make([]Feature, 0, nums+cats)
	add := func(f Feature) {
		f.Name = fmt.Sprintf("f%02d_%s", len(fs), f.Name)
		fs = append(fs, f)
	}
	for i := range nums {
		add(fleetNumeric[i%len(fleetNumeric)])
	}
	for i := range cats {
		add(fleetCategorical[i%len(fleetCategorical)])
	}
	ms := make([]Model, models)
	for i := range ms {
		ms[i] = Model{Name: ModelName(i), Features: fs, Bias: -2, Noise: 1.2, Threshold: 0.5}
	}
	return ms
}

// FleetKinds returns three models of Fleet's features, one of each kind:
// model-0 binary as Fleet's, model-1 regression (its value the sum of its
// numeric features' signals around 100, its label that plus noise),
// model-2 multiclass of four classes (the softmax of noisy logits), for
// `reckon bench --kinds`.
func FleetKinds(features int) []Model {
	ms := Fleet(3, features)
	if ms == nil {
		return nil
	}
	reg := slices.Clone(ms[1].Features)
	for i := range reg {
		if reg[i].Kind.Numeric() {
			reg[i].Weight = 10
		}
	}
	ms[1] = Model{Name: ModelName(1), Kind: config.KindRegression, Features: reg, Bias: 100, Noise: 5, Scale: 10}
	ms[2] = Model{Name: ModelName(2), Kind: config.KindMulticlass, Features: ms[2].Features, Bias: 0.3, Noise: 1.2,
		Classes: []string{"a", "b", "c", "d"}}
	return ms
}

// ModelName is the name of model i of Fleet.
func ModelName(i int) string { return "model-" + strconv.Itoa(i) }

// SegmentDriftTime is the event time at which Drift.Segment degrades.
func (o *Options) SegmentDriftTime() time.Time { return o.Start.Add(o.Drift.SegmentAt) }

// DriftTime is the event time at which the drift begins (Start when there
// is none).
func (o *Options) DriftTime() time.Time { return o.Start.Add(o.Drift.At) }

// Validate reports options that cannot generate traffic, every problem
// joined.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	share := func(name string, x float64) {
		if !(x >= 0 && x <= 1) {
			bad("%s must be in [0,1], got %g", name, x)
		}
	}
	if len(o.Models) < 1 {
		bad("models must be at least 1, got %d", len(o.Models))
	}
	names := map[string]bool{}
	for _, m := range o.Models {
		if m.Name == "" || names[m.Name] {
			bad("model name %q is empty or repeated", m.Name)
		}
		names[m.Name] = true
		if len(m.Features) < 1 {
			bad("model %q: features must be at least 1, got %d", m.Name, len(m.Features))
		}
		share("model "+strconv.Quote(m.Name)+": threshold", m.Threshold)
		if m.Kind == config.KindMulticlass && len(m.Classes) < 2 {
			bad("model %q: a multiclass model needs at least 2 classes, got %d", m.Name, len(m.Classes))
		}
		fnames := map[string]bool{}
		for _, f := range m.Features {
			if f.Name == "" || fnames[f.Name] {
				bad("model %q: feature name %q is empty or repeated", m.Name, f.Name)
			}
			fnames[f.Name] = true
			switch {
			case f.Kind >= numKinds:
				bad("model %q: feature %q: unknown %s", m.Name, f.Name, f.Kind)
			case f.Kind == Category && len(f.Categories) == 0:
				bad("model %q: feature %q: a category feature needs categories", m.Name, f.Name)
			case f.Kind != Category && len(f.Categories)+len(f.Novel) > 0:
				bad("model %q: feature %q: only a category feature has categories", m.Name, f.Name)
			case f.Kind == Category && f.Weight != 0:
				bad("model %q: feature %q: a category feature has no signal to weigh", m.Name, f.Name)
			}
		}
	}
	if !(o.EventRate > 0) {
		bad("event rate must be positive, got %g", o.EventRate)
	}
	share("label rate", o.LabelRate)
	share("error rate", o.ErrorRate)
	share("missing rate", o.MissingRate)
	share("new category rate", o.NewCategoryRate)
	if o.LabelDelay < 0 {
		bad("label delay must not be negative, got %s", o.LabelDelay)
	}
	if o.CanaryEvery < 0 {
		bad("canary every must not be negative, got %d", o.CanaryEvery)
	}
	if o.Drift.At < 0 {
		bad("drift time must not be negative, got %s", o.Drift.At)
	}
	if o.Drift.At > 0 {
		share("drift new category rate", o.Drift.NewCategoryRate)
		if !(o.Drift.AmountScale > 0) {
			bad("drift amount scale must be positive, got %g", o.Drift.AmountScale)
		}
		if !(o.Drift.Lift >= 0 && o.Drift.Lift <= 1) {
			bad("drift lift must be in [0,1], got %g", o.Drift.Lift)
		}
	}
	if o.Reference < 0 || o.LabelTTL < 0 {
		bad("reference and label TTL must not be negative, got %s and %s", o.Reference, o.LabelTTL)
	}
	return errors.Join(errs...)
}
