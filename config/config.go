package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reckonhq/reckon/sketch"
)

// Defaults of the configuration file. A key that is absent or null takes its
// default.
const (
	DefaultListen           = "127.0.0.1:9464"
	DefaultBroker           = "127.0.0.1:9092"
	DefaultGroup            = "reckon"
	DefaultClientID         = "reckon"
	DefaultPredictions      = "predictions"
	DefaultOutcomes         = "outcomes"
	DefaultDeadLetter       = "reckon-dead-letter"
	DefaultResults          = "reckon-results"
	DefaultAllowedLateness  = time.Minute
	DefaultIdleTimeout      = 30 * time.Second
	DefaultLabelTTL         = 24 * time.Hour
	DefaultMaxClockSkew     = time.Hour
	DefaultCommitInterval   = time.Second
	DefaultSessionTimeout   = 45 * time.Second
	DefaultMaxRecordBytes   = 1 << 20
	DefaultSeriesLimit      = 10000
	DefaultMaxModelVersions = 100
	DefaultStateDir         = "reckon-state"
	DefaultStateMemory      = 1 << 30
	DefaultThreshold        = 0.5
	DefaultSLOLatency       = 250 * time.Millisecond
	DefaultSLOObjective     = 0.999
	DefaultSLOWindow        = 30 * 24 * time.Hour
)

// SASL mechanisms accepted in kafka.sasl.mechanism.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// ReservedFeature is the `feature` label value of schema violations of
// features a model does not declare; no declared feature may use it.
const ReservedFeature = "_undeclared"

// Config is a complete, validated reckon configuration. Parse and Load return
// it with every default filled in and every invariant documented on the
// fields holding. Treat it as read-only once parsed: Model and
// Model.FeatureIndex use indexes built by Parse (on a Config built in code
// they scan instead), and Validate is the only check of a changed Config.
type Config struct {
	Kafka Kafka
	// Listen is the host:port of the HTTP server (/metrics, /healthz,
	// /readyz). Default "127.0.0.1:9464".
	Listen string
	// ProbeListen (key probe_listen) is an optional second host:port that
	// serves only /healthz and /readyz, in plain HTTP and without
	// authentication, for Kubernetes probes when web_config_file turns on
	// basic auth or client certificates for Listen. Empty (the default):
	// the probes are served on Listen only. Not the same as Listen.
	ProbeListen string
	// WebConfigFile (key web_config_file) is an optional Prometheus
	// exporter-toolkit web configuration file (TLS, basic auth). A relative
	// path is resolved against the configuration file's directory; the file
	// must exist.
	WebConfigFile string
	// Windows are the tumbling window lengths, default [5m, 1h]. Each is
	// > 0, a whole number of seconds and a multiple of the shortest; no two
	// have the same length. Sorted ascending by Length.
	Windows []Window
	// AllowedLateness is subtracted from the highest event time seen to
	// form a partition's watermark. Default 1m, >= 0.
	AllowedLateness time.Duration
	// IdleTimeout is how long a partition may stay idle before it stops
	// holding back the watermark. Default 30s, > 0.
	IdleTimeout time.Duration
	// LabelTTL is how long (in event time) a prediction waits for its
	// outcome. Default 24h, > 0.
	LabelTTL time.Duration
	// MaxClockSkew (key max_clock_skew) is how far ahead of the wall clock
	// an event time may be; a later event is a dead letter (reason
	// future_timestamp), since one such event would push the watermark
	// ahead and make everything else late. Default 1h, >= 0; 0 disables
	// the check.
	MaxClockSkew time.Duration
	// MaxEventAge (key max_event_age) is how far behind the wall clock an
	// event time may be; an older event is a dead letter (reason
	// stale_timestamp), so that a producer's broken clock or a replay of
	// ancient data cannot open windows years in the past. The symmetric
	// bound of MaxClockSkew. Default 0, >= 0; 0 disables the check. Set it
	// well above label_ttl and any backfill you mean to run.
	MaxEventAge time.Duration
	// StateDir (key state_dir) is the local cache of committed state: the
	// delayed-label join's disk-backed store, one directory per member and
	// input partition. Kafka's changelog is the durable copy; a member that
	// restarts on the same directory replays only the changelog's tail. A
	// relative path is resolved against the configuration file's directory.
	// Default "reckon-state" beside the configuration file; empty (a
	// Config built in code): a temporary directory, removed at exit.
	StateDir string
	// StateMemory (key state_memory) is the memory the state may use, in
	// bytes (the file takes "1GiB", "512MiB", ...): the join's hot entries
	// and its store's caches, shared by the partitions a member owns; the
	// rest stays on disk. Default 1 GiB, at least 16 MiB.
	StateMemory int64
	// CommitInterval (key commit_interval) is how often a member commits
	// its Kafka transaction: the input offsets, the state checkpoint, and
	// what it produced since the last commit. Counters and results become
	// visible at commits, so it bounds their delay; each commit writes the
	// state of every partition that changed. Default 1s, in [10ms, 1m].
	CommitInterval time.Duration
	// MaxRecordBytes (key max_record_bytes) is the largest record processed;
	// larger records are dead letters. Default 1048576, > 0.
	MaxRecordBytes int
	// SeriesLimit (key series_limit) caps the number of series, over all
	// models, of the metrics whose labels take values from input data
	// (reckon_predictions_total, reckon_schema_violations_total): a global
	// backstop behind the per-model caps such as MaxModelVersions. Updates
	// beyond it are dropped and counted in reckon_series_dropped_total.
	// Default 10000, > 0.
	SeriesLimit int
	// MaxModelVersions (key max_model_versions) caps the distinct
	// model_version values exported per model: each model's further
	// versions are counted under model_version="_other" and in
	// reckon_label_overflow_total{label="model_version"}, so that no model
	// can use up SeriesLimit for the others. Default 100, > 0.
	MaxModelVersions int
	// Models are the monitored models: at least one, unique names.
	Models []Model

	models map[string]int // Name → index in Models; built by Parse
}

// Window is a tumbling window length.
type Window struct {
	// Text is the length exactly as written in the configuration ("5m"),
	// the value of the Prometheus `window` label.
	Text   string
	Length time.Duration
}

// String returns w.Text.
func (w Window) String() string { return w.Text }

// Kafka is the kafka block.
type Kafka struct {
	// Brokers are the seed brokers, each host:port, no duplicates. Default
	// ["127.0.0.1:9092"].
	Brokers []string
	// Group is the consumer group, default "reckon". Internal topics are
	// named after it, so it is a legal topic name of at most 200 characters.
	Group string
	// ClientID (key client_id) is the Kafka client id, default "reckon".
	ClientID string
	// The topics, keys predictions_topic, outcomes_topic, dead_letter_topic
	// and results_topic. Defaults "predictions", "outcomes",
	// "reckon-dead-letter" and "reckon-results". Legal Kafka topic names,
	// all distinct.
	PredictionsTopic string
	OutcomesTopic    string
	DeadLetterTopic  string
	ResultsTopic     string
	// TLS is nil unless TLS is enabled: a tls block turns TLS on unless it
	// says enabled: false. When non-nil, Enabled is true, and its files
	// held, when parsed, a CA certificate and a client certificate that
	// matches its key and is valid (see TLS).
	TLS *TLS
	// SASL is nil unless a sasl block is present.
	SASL *SASL
	// InstanceID (key instance_id, or `reckon run --instance-id`) makes the
	// member static (Kafka's group.instance.id): a restart within
	// SessionTimeout gets its partitions back without a rebalance. Empty
	// (the default) is a dynamic member. It also names the member's
	// transactional id, so a restarted member fences its predecessor at
	// once. Unique per member; the characters a-z A-Z 0-9 . _ -.
	InstanceID string
	// SessionTimeout (key session_timeout) is how long the group waits for
	// a silent member before reassigning its partitions. Default 45s;
	// brokers accept 6s to 30m by default.
	SessionTimeout time.Duration
}

// TLS is the kafka.tls block. File paths are resolved against the
// configuration file's directory. When parsed, CAFile held at least one PEM
// certificate, and CertFile and KeyFile a certificate and its private key,
// the certificate valid at that time. The files are read again when used
// (RootCAs, ClientCertificate), so that renewed certificates take effect
// without a restart.
type TLS struct {
	Enabled            bool
	CAFile             string // key ca_file, optional: system roots when empty
	CertFile           string // key cert_file: client certificate; set together with KeyFile
	KeyFile            string // key key_file
	InsecureSkipVerify bool   // key insecure_skip_verify
}

// SASL is the kafka.sasl block. Exactly one of Password and PasswordFile is
// set; use Secret to get the password. When parsed, PasswordFile held a
// password (not only white space). Neither is ever printed by String.
type SASL struct {
	Mechanism string // MechanismPlain, MechanismScramSHA256 or MechanismScramSHA512; required
	Username  string // required
	Password  string // the password written in the file
	// PasswordFile (key password_file) holds the password instead: a
	// mounted Kubernetes Secret, say. Resolved against the configuration
	// file's directory; read at every authentication (see Secret).
	PasswordFile string
}

// String describes s without its password, so that a SASL can be logged.
func (s SASL) String() string {
	if s.PasswordFile != "" {
		return fmt.Sprintf("{Mechanism:%s Username:%s PasswordFile:%s}", s.Mechanism, s.Username, s.PasswordFile)
	}
	return fmt.Sprintf("{Mechanism:%s Username:%s Password:<redacted>}", s.Mechanism, s.Username)
}

// GoString is String, so that %#v does not print the password either.
func (s SASL) GoString() string { return s.String() }

// Model is one monitored binary classifier.
type Model struct {
	// Name is the model name of events and the `model` label value; it
	// matches ^[a-zA-Z_][a-zA-Z0-9_.:-]*$.
	Name string
	// Kind (key kind) is what the model predicts: KindBinary (the
	// default), KindRegression or KindMulticlass.
	Kind ModelKind
	// Classes (key classes) are a multiclass model's classes: required
	// for one, non-empty and unique; nil for the other kinds. A class
	// outside them is a new_category violation of _label or _predicted.
	Classes []string
	// Threshold in [0,1], default 0.5: predicted positive = score >=
	// Threshold, when an event has no `predicted`.
	Threshold float64
	// PositiveLabel and NegativeLabel (keys positive_label, negative_label)
	// are optional outcome label strings besides 1/0 and true/false: both
	// set and different, or both empty.
	PositiveLabel string
	NegativeLabel string
	// Reference is the reference distribution, nil when not configured.
	Reference *Reference
	// Features are the declared features, unique names, none named
	// ReservedFeature.
	Features []Feature
	// Segments (key segments) are categorical features whose values split
	// the model's per-window figures; at most MaxSegments.
	Segments []Segment
	// Drift holds the model's drift settings, the defaults of every feature.
	Drift Drift
	// Cost (key cost) is the optional cost of an error, for cost metrics.
	Cost *Cost
	// SLO (key slo) is the latency objective; defaults DefaultSLO().
	SLO SLO

	features map[string]int // Feature.Name → index in Features; built by Parse
}

// ModelKind is what a model predicts (docs/events.md): its String is the
// word the file writes.
type ModelKind uint8

// Model kinds. The zero value is binary, so that nothing changes for a
// model without `kind`.
const (
	KindBinary     ModelKind = iota // a score in [0,1] and a 0/1 label
	KindRegression                  // a number, and a numeric label
	KindMulticlass                  // one of Classes, and a class label
)

var kindNames = [...]string{"binary", "regression", "multiclass"}

func (k ModelKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseModelKind parses "binary", "regression" or "multiclass".
func ParseModelKind(s string) (ModelKind, error) {
	for i, n := range kindNames {
		if s == n {
			return ModelKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown model kind %q (want binary, regression or multiclass)", s)
}

// Class returns the index of class c of a multiclass model, or -1.
func (m *Model) Class(c string) int {
	for i, x := range m.Classes {
		if x == c {
			return i
		}
	}
	return -1
}

// Reference is where a model's reference distribution comes from: exactly
// one of File and the event-time range [From, To) is set.
type Reference struct {
	// From and To bound the half-open event-time range [From, To) of the
	// stream itself; From < To, both on the window grid (a whole multiple
	// of the shortest window since the Unix epoch: the reference holds
	// whole panes). Zero when File is set.
	From, To time.Time
	// File is a reference profile built by `reckon reference`, resolved
	// against the configuration file's directory. It need not exist yet
	// (`reckon reference` writes it).
	File string
}

// IsRange reports whether r is an event-time range rather than a file.
func (r *Reference) IsRange() bool { return r.File == "" }

// FeatureType is the type of a feature: the kind of feature the drift tests
// know (sketch.FeatureKind). Its String is the word the file writes,
// "numeric" or "categorical". The zero value is invalid.
type FeatureType = sketch.FeatureKind

// Feature types.
const (
	FeatureNumeric     = sketch.KindNumeric     // numbers
	FeatureCategorical = sketch.KindCategorical // strings and booleans
)

// ParseFeatureType parses "numeric" or "categorical".
func ParseFeatureType(s string) (FeatureType, error) {
	for _, t := range []FeatureType{FeatureNumeric, FeatureCategorical} {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown feature type %q (want numeric or categorical)", s)
}

// Feature is a declared feature of a model.
type Feature struct {
	Name string
	Type FeatureType
	// Min and Max are optional bounds of a numeric feature (nil for a
	// categorical one); finite, Min <= Max. A value outside is a schema
	// violation of kind "range".
	Min, Max *float64
	// Categories optionally lists the known values of a categorical feature
	// (nil for a numeric one); non-empty, no duplicates. A boolean is written
	// "true" or "false". A value outside is a schema violation of kind
	// "new_category".
	Categories []string
	// Drift, when not nil, overrides the model's Drift for this feature. It
	// is complete: keys the file does not set are inherited from the model,
	// and `drift: auto` means DefaultDrift(). Use Model.FeatureDrift.
	Drift *Drift
}

// Drift holds the drift settings of a model or a feature: the parameters
// of package sketch, which declares the tests, which kind of feature each
// applies to, their bounds and defaults (sketch.DriftParams). The keys of
// the drift block are their names (sketch.Param): numeric_test,
// categorical_test, p_value, psi_threshold, distance_threshold, threshold
// (fixed or learned) and k; and dataset_share and multivariate,
// model-level settings (features inherit dataset_share).
type Drift = sketch.DriftParams

// Cost is the cost of a false positive and of a false negative, both >= 0.
type Cost struct {
	FalsePositive float64 // key false_positive, required
	FalseNegative float64 // key false_negative, required
}

// SLO is a model's serving latency objective: Objective of the predictions
// over Window are served within Latency.
type SLO struct {
	Latency   time.Duration // default 250ms, > 0
	Objective float64       // default 0.999, in (0,1)
	Window    time.Duration // default 30d, > 0
}

// Default returns a configuration with every default and no models (so it
// is not valid until a model is added).
func Default() *Config {
	return &Config{
		Kafka: Kafka{
			Brokers:          []string{DefaultBroker},
			Group:            DefaultGroup,
			ClientID:         DefaultClientID,
			PredictionsTopic: DefaultPredictions,
			OutcomesTopic:    DefaultOutcomes,
			DeadLetterTopic:  DefaultDeadLetter,
			ResultsTopic:     DefaultResults,
			SessionTimeout:   DefaultSessionTimeout,
		},
		Listen: DefaultListen,
		Windows: []Window{
			{Text: "5m", Length: 5 * time.Minute},
			{Text: "1h", Length: time.Hour},
		},
		AllowedLateness:  DefaultAllowedLateness,
		IdleTimeout:      DefaultIdleTimeout,
		LabelTTL:         DefaultLabelTTL,
		MaxClockSkew:     DefaultMaxClockSkew,
		CommitInterval:   DefaultCommitInterval,
		MaxRecordBytes:   DefaultMaxRecordBytes,
		SeriesLimit:      DefaultSeriesLimit,
		MaxModelVersions: DefaultMaxModelVersions,
		StateMemory:      DefaultStateMemory,
	}
}

// DefaultModel returns a model named name with every default and no
// features.
func DefaultModel(name string) Model {
	return Model{Name: name, Threshold: DefaultThreshold, Drift: DefaultDrift(), SLO: DefaultSLO()}
}

// DefaultDrift returns the default drift settings, also written `drift:
// auto`: sketch.DefaultDriftParams.
func DefaultDrift() Drift { return sketch.DefaultDriftParams() }

// DefaultSLO returns the default latency objective.
func DefaultSLO() SLO {
	return SLO{Latency: DefaultSLOLatency, Objective: DefaultSLOObjective, Window: DefaultSLOWindow}
}

// Load reads and parses the configuration file at path. See Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a configuration file's contents. filename names
// the file in errors, and relative file paths in the configuration are
// resolved against its directory.
//
// The error, when not nil, joins (errors.Join) one *Error per problem, in
// file order: every problem found, not just the first (up to 100, then an
// *Error saying how many more).
func Parse(filename string, data []byte) (*Config, error) {
	d := newDecoder(filename, len(data))
	root, ok := d.parse(data)
	var c *Config
	if ok {
		c = d.config(root)
	}
	if ok && !d.spent { // a partly decoded Config is not worth validating
		v := validator{file: filename, at: d.pos, has: d.has}
		v.config(c)
		for _, e := range v.errs {
			if !d.failed(e.err.Key) {
				d.errs = append(d.errs, e)
			}
		}
	}
	if len(d.errs) > 0 {
		return nil, joinErrors(d.errs)
	}
	c.index()
	return c, nil
}

// Line returns the line of key (a key path such as
// "models[0].reference.file") in the configuration file data, or of its
// nearest ancestor the file has; 0 when data does not parse. It is for
// problems found after Parse, such as a file the configuration names that
// does not load, so that they too name file, line and key.
func Line(data []byte, key string) int {
	d := newDecoder("", len(data))
	root, ok := d.parse(data)
	if !ok {
		return 0
	}
	d.config(root)
	return d.pos(key).line
}

// Validate checks every invariant documented on c's fields, for a Config
// built or changed in code (flags overriding the file, tests). Errors have
// Key set and no line. It does not fill in defaults.
func (c *Config) Validate() error {
	v := validator{}
	v.config(c)
	if !slices.IsSortedFunc(c.Windows, func(a, b Window) int { return cmpDuration(a.Length, b.Length) }) {
		v.errorf("windows", "not sorted ascending")
	}
	if len(v.errs) > 0 {
		return joinErrors(v.errs)
	}
	return nil
}

// maxErrors caps the errors reported, as compilers do.
const maxErrors = 100

// joinErrors joins errs in file order, at most maxErrors of them and an
// *Error saying how many more there are.
func joinErrors(errs []located) error {
	slices.SortStableFunc(errs, func(a, b located) int {
		if a.pos.line != b.pos.line {
			return a.pos.line - b.pos.line
		}
		return a.pos.col - b.pos.col
	})
	out := make([]error, 0, min(len(errs), maxErrors+1))
	for _, e := range errs[:min(len(errs), maxErrors)] {
		out = append(out, e.err)
	}
	if n := len(errs) - maxErrors; n > 0 {
		out = append(out, &Error{File: errs[0].err.File, Msg: fmt.Sprintf("too many errors (%d more)", n)})
	}
	return errors.Join(out...)
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// index establishes the invariants Parse promises beyond validation: sorted
// windows and the lookup indexes.
func (c *Config) index() {
	slices.SortStableFunc(c.Windows, func(a, b Window) int { return cmpDuration(a.Length, b.Length) })
	c.models = make(map[string]int, len(c.Models))
	for i := range c.Models {
		m := &c.Models[i]
		c.models[m.Name] = i
		m.features = make(map[string]int, len(m.Features))
		for j, f := range m.Features {
			m.features[f.Name] = j
		}
	}
}

// Model returns the model named name. On a Config from Parse it uses a
// precomputed index; on one built in code it scans Models.
func (c *Config) Model(name string) (*Model, bool) {
	if c.models != nil && len(c.models) == len(c.Models) {
		i, ok := c.models[name]
		if ok && c.Models[i].Name == name {
			return &c.Models[i], true
		}
		if !ok {
			return nil, false
		}
	}
	for i := range c.Models {
		if c.Models[i].Name == name {
			return &c.Models[i], true
		}
	}
	return nil, false
}

// FeatureIndex returns the index in m.Features of the feature named name.
// On a Model from Parse it is a map lookup (a scan otherwise) and does not
// allocate; m.FeatureIndex(string(b)) does not either for names of up to 32
// bytes (the compiler converts into a stack buffer), and FeatureIndexBytes
// never does.
func (m *Model) FeatureIndex(name string) (int, bool) {
	if m.features != nil && len(m.features) == len(m.Features) {
		i, ok := m.features[name]
		if !ok {
			return -1, false
		}
		if m.Features[i].Name == name {
			return i, true
		}
	}
	for i := range m.Features {
		if m.Features[i].Name == name {
			return i, true
		}
	}
	return -1, false
}

// FeatureIndexBytes is FeatureIndex for a name held in a byte slice, such as
// a JSON key, without allocating.
func (m *Model) FeatureIndexBytes(name []byte) (int, bool) {
	if m.features != nil && len(m.features) == len(m.Features) {
		i, ok := m.features[string(name)]
		if !ok {
			return -1, false
		}
		if m.Features[i].Name == string(name) {
			return i, true
		}
	}
	for i := range m.Features {
		if m.Features[i].Name == string(name) {
			return i, true
		}
	}
	return -1, false
}

// FeatureDrift returns the drift settings of feature i: its override, or
// the model's.
func (m *Model) FeatureDrift(i int) Drift {
	if d := m.Features[i].Drift; d != nil {
		return *d
	}
	return m.Drift
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// resolve makes a relative path relative to dir.
func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
