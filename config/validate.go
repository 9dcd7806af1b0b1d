package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/reckonhq/reckon/sketch"
)

// validator checks the invariants of a decoded Config: ranges, required
// values, cross-field and cross-item rules. at, when not nil, gives the
// position of a key path.
type validator struct {
	file string
	at   func(key string) pos
	// has, when not nil, reports whether the file wrote a key path;
	// without it (a Config built in code) a key counts as written when
	// its value is not the default.
	has  func(key string) bool
	errs []located
}

func (v *validator) errorf(key, format string, args ...any) {
	var p pos
	if v.at != nil {
		p = v.at(key)
	}
	v.errs = append(v.errs, located{p, &Error{File: v.file, Line: p.line, Key: key, Msg: fmt.Sprintf(format, args...)}})
}

var (
	modelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]*$`)
	topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

// maxGroupLen leaves room for the suffixes of internal topic names
// (<group>-state, <group>-partials, ...) within Kafka's 249.
const maxGroupLen = 200

func (v *validator) config(c *Config) {
	v.kafka(&c.Kafka)
	if err := checkHostPort(c.Listen, false); err != nil {
		v.errorf("listen", "%v", err)
	}
	if c.ProbeListen != "" {
		if err := checkHostPort(c.ProbeListen, false); err != nil {
			v.errorf("probe_listen", "%v", err)
		} else if c.ProbeListen == c.Listen {
			v.errorf("probe_listen", "same address as listen (%s): leave probe_listen out to serve the probes there", c.Listen)
		}
	}
	if c.WebConfigFile != "" {
		if err := checkFile(c.WebConfigFile); err != nil {
			v.errorf("web_config_file", "%v", err)
		}
	}
	v.windows(c.Windows)
	if c.AllowedLateness < 0 {
		v.errorf("allowed_lateness", "must be >= 0, got %s", c.AllowedLateness)
	}
	if c.IdleTimeout <= 0 {
		v.errorf("idle_timeout", "must be > 0, got %s", c.IdleTimeout)
	}
	if c.MaxClockSkew < 0 {
		v.errorf("max_clock_skew", "must be >= 0 (0 disables the check), got %s", c.MaxClockSkew)
	}
	if c.MaxEventAge < 0 {
		v.errorf("max_event_age", "must be >= 0 (0 disables the check), got %s", c.MaxEventAge)
	}
	if c.CommitInterval < 10*time.Millisecond || c.CommitInterval > time.Minute {
		v.errorf("commit_interval", "must be between 10ms and 1m, got %s", c.CommitInterval)
	}
	if c.StateMemory < 16<<20 {
		v.errorf("state_memory", "must be at least 16MiB, got %d bytes", c.StateMemory)
	}
	if c.LabelTTL <= 0 {
		v.errorf("label_ttl", "must be > 0, got %s", c.LabelTTL)
	}
	if c.MaxRecordBytes <= 0 {
		v.errorf("max_record_bytes", "must be > 0, got %d", c.MaxRecordBytes)
	}
	if c.SeriesLimit <= 0 {
		v.errorf("series_limit", "must be > 0, got %d", c.SeriesLimit)
	}
	if c.MaxModelVersions <= 0 {
		v.errorf("max_model_versions", "must be > 0, got %d", c.MaxModelVersions)
	}
	if len(c.Models) == 0 {
		v.errorf("models", "at least one model required")
	}
	grid := shortestWindow(c.Windows)
	gridText := textOf(c.Windows, grid)
	names := make(map[string]int, len(c.Models))
	for i := range c.Models {
		m := &c.Models[i]
		path := itemKey("models", i)
		v.model(m, path, grid, gridText)
		v.learned(m, path, c.Windows)
		if m.Name == "" {
			continue
		}
		if first, dup := names[m.Name]; dup {
			v.errorf(path+".name", "duplicate model name %q (same as models[%d])", m.Name, first)
			continue
		}
		names[m.Name] = i
	}
}

func (v *validator) kafka(k *Kafka) {
	if len(k.Brokers) == 0 {
		v.errorf("kafka.brokers", "at least one broker required")
	}
	seen := make(map[string]int, len(k.Brokers))
	for i, b := range k.Brokers {
		p := itemKey("kafka.brokers", i)
		if err := checkHostPort(b, true); err != nil {
			v.errorf(p, "%v", err)
			continue
		}
		if first, dup := seen[b]; dup {
			v.errorf(p, "duplicate broker %q (same as kafka.brokers[%d])", b, first)
			continue
		}
		seen[b] = i
	}
	switch {
	case k.Group == "":
		v.errorf("kafka.group", "required")
	case len(k.Group) > maxGroupLen || !topicName.MatchString(k.Group):
		v.errorf("kafka.group", "invalid group %q: internal topics are named after it, so it must be at most %d of the characters a-z A-Z 0-9 . _ -", k.Group, maxGroupLen)
	}
	if k.ClientID == "" {
		v.errorf("kafka.client_id", "required")
	}
	if k.InstanceID != "" && (len(k.InstanceID) > maxGroupLen || !topicName.MatchString(k.InstanceID)) {
		v.errorf("kafka.instance_id", "invalid instance id %q: at most %d of the characters a-z A-Z 0-9 . _ -", k.InstanceID, maxGroupLen)
	}
	if k.SessionTimeout < time.Second || k.SessionTimeout > 30*time.Minute {
		v.errorf("kafka.session_timeout", "must be between 1s and 30m, got %s", k.SessionTimeout)
	}
	topics := []struct{ key, name string }{
		{"kafka.predictions_topic", k.PredictionsTopic},
		{"kafka.outcomes_topic", k.OutcomesTopic},
		{"kafka.dead_letter_topic", k.DeadLetterTopic},
		{"kafka.results_topic", k.ResultsTopic},
	}
	used := make(map[string]string, len(topics))
	for _, t := range topics {
		switch {
		case t.name == "":
			v.errorf(t.key, "required")
		case t.name == "." || t.name == ".." || !topicName.MatchString(t.name):
			v.errorf(t.key, "invalid topic name %q: want 1 to 249 of the characters a-z A-Z 0-9 . _ -, not . or ..", t.name)
		default:
			if other, dup := used[t.name]; dup {
				v.errorf(t.key, "topic %q is also %s", t.name, other)
				continue
			}
			used[t.name] = t.key
		}
	}
	if t := k.TLS; t != nil && t.Enabled {
		v.tls(t)
	}
	if s := k.SASL; s != nil {
		switch s.Mechanism {
		case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		case "":
			v.errorf("kafka.sasl.mechanism", "required (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		default:
			v.errorf("kafka.sasl.mechanism", "unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", s.Mechanism)
		}
		if s.Username == "" {
			v.errorf("kafka.sasl.username", "required")
		}
		switch {
		case s.Password != "" && s.PasswordFile != "":
			v.errorf("kafka.sasl.password_file", "set password or password_file, not both")
		case s.Password == "" && s.PasswordFile == "":
			v.errorf("kafka.sasl.password", "required (or password_file, a file holding it)")
		case s.PasswordFile != "":
			if _, err := s.Secret(); err != nil {
				v.errorf("kafka.sasl.password_file", "%v", err)
			}
		}
	}
}

// tls checks that the files of an enabled kafka.tls block exist and hold
// what they should: CA certificates; a client certificate that matches its
// key and is valid now.
func (v *validator) tls(t *TLS) {
	ok := true
	for _, f := range []struct{ key, path string }{
		{"kafka.tls.ca_file", t.CAFile},
		{"kafka.tls.cert_file", t.CertFile},
		{"kafka.tls.key_file", t.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if err := checkFile(f.path); err != nil {
			v.errorf(f.key, "%v", err)
			ok = false
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.errorf("kafka.tls.key_file", "required with cert_file")
		ok = false
	case t.KeyFile != "" && t.CertFile == "":
		v.errorf("kafka.tls.cert_file", "required with key_file")
		ok = false
	}
	if !ok {
		return
	}
	if _, err := t.RootCAs(); err != nil {
		v.errorf("kafka.tls.ca_file", "%v", err)
	}
	cert, err := t.ClientCertificate()
	switch {
	case err != nil:
		v.errorf("kafka.tls.cert_file", "%v", err)
	case cert != nil:
		if err := checkValidity(cert.Leaf, time.Now()); err != nil {
			v.errorf("kafka.tls.cert_file", "file %q: %v", t.CertFile, err)
		}
	}
}

func (v *validator) windows(ws []Window) {
	if len(ws) == 0 {
		v.errorf("windows", "at least one window required")
		return
	}
	shortest := shortestWindow(ws)
	seen := make(map[time.Duration]int, len(ws))
	for i, w := range ws {
		p := itemKey("windows", i)
		switch {
		case w.Length <= 0:
			v.errorf(p, "must be > 0, got %q", w.Text)
		case w.Length%time.Second != 0:
			v.errorf(p, "%q is not a whole number of seconds", w.Text)
		case w.Length%shortest != 0:
			v.errorf(p, "%q is not a multiple of the shortest window %q", w.Text, textOf(ws, shortest))
		default:
			if first, dup := seen[w.Length]; dup {
				v.errorf(p, "duplicate window %q (same length as windows[%d] %q)", w.Text, first, ws[first].Text)
				continue
			}
			seen[w.Length] = i
		}
	}
}

func textOf(ws []Window, l time.Duration) string {
	for _, w := range ws {
		if w.Length == l {
			return w.Text
		}
	}
	return l.String()
}

// shortestWindow is the length of the shortest valid window, 0 if none:
// the length of a pane, and the grid that windows are aligned to.
func shortestWindow(ws []Window) time.Duration {
	var shortest time.Duration
	for _, w := range ws {
		if w.Length > 0 && w.Length%time.Second == 0 && (shortest == 0 || w.Length < shortest) {
			shortest = w.Length
		}
	}
	return shortest
}

// checkGrid checks that t, the bound end ("start" or "stop") of a stream
// reference, lies on the window grid: a whole multiple of grid since the
// Unix epoch. The reference holds whole panes of the shortest window,
// aligned to the epoch, so a bound between two pane edges would silently
// move to the edge inside the range; the message says where, and suggests
// the edges around t.
func (v *validator) checkGrid(key, end string, t time.Time, grid time.Duration, text string) {
	secs := int64(grid / time.Second)
	if secs <= 0 {
		return
	}
	u := t.Unix()
	r := u % secs
	if r < 0 {
		r += secs
	}
	if r == 0 && t.Nanosecond() == 0 {
		return
	}
	below := time.Unix(u-r, 0).UTC()
	above := below.Add(grid)
	moved := above
	if end == "stop" {
		moved = below
	}
	v.errorf(key, "%s is not on the window grid: the reference holds whole panes of the shortest window (%s, aligned to the Unix epoch) and would %s at %s; use %s or %s",
		t.Format(time.RFC3339Nano), text, end, moved.Format(time.RFC3339), below.Format(time.RFC3339), above.Format(time.RFC3339))
}

func (v *validator) model(m *Model, path string, grid time.Duration, gridText string) {
	switch {
	case m.Name == "":
		v.errorf(path+".name", "required")
	case !modelName.MatchString(m.Name):
		v.errorf(path+".name", "invalid model name %q (want ^[a-zA-Z_][a-zA-Z0-9_.:-]*$)", m.Name)
	}
	if !(m.Threshold >= 0 && m.Threshold <= 1) {
		v.errorf(path+".threshold", "must be in [0, 1], got %v", m.Threshold)
	}
	v.kind(m, path)
	switch {
	case m.PositiveLabel != "" && m.NegativeLabel == "":
		v.errorf(path+".negative_label", "required with positive_label")
	case m.NegativeLabel != "" && m.PositiveLabel == "":
		v.errorf(path+".positive_label", "required with negative_label")
	case m.PositiveLabel != "" && m.PositiveLabel == m.NegativeLabel:
		v.errorf(path+".negative_label", "same as positive_label %q", m.PositiveLabel)
	}
	if r := m.Reference; r != nil {
		p := path + ".reference"
		hasRange := !r.From.IsZero() || !r.To.IsZero()
		switch {
		case r.File != "" && hasRange:
			v.errorf(p, "want either {from, to} or {file}, not both")
		case r.File == "" && !hasRange:
			v.errorf(p, "want {from, to} or {file}")
		case r.File != "":
		case r.From.IsZero():
			v.errorf(p+".from", "required with to")
		case r.To.IsZero():
			v.errorf(p+".to", "required with from")
		case !r.From.Before(r.To):
			v.errorf(p+".to", "must be after from (%s), got %s", r.From.Format(time.RFC3339Nano), r.To.Format(time.RFC3339Nano))
		default:
			v.checkGrid(p+".from", "start", r.From, grid, gridText)
			v.checkGrid(p+".to", "stop", r.To, grid, gridText)
		}
	}
	v.drift(&m.Drift, nil, path+".drift")
	names := make(map[string]int, len(m.Features))
	for i := range m.Features {
		f := &m.Features[i]
		p := itemKey(path+".features", i)
		v.feature(f, &m.Drift, p)
		if f.Name == "" {
			continue
		}
		if first, dup := names[f.Name]; dup {
			v.errorf(p+".name", "duplicate feature name %q (same as features[%d])", f.Name, first)
			continue
		}
		names[f.Name] = i
	}
	v.segments(m, path)
	if c := m.Cost; c != nil {
		if !(c.FalsePositive >= 0) || !finite(c.FalsePositive) {
			v.errorf(path+".cost.false_positive", "must be >= 0, got %v", c.FalsePositive)
		}
		if !(c.FalseNegative >= 0) || !finite(c.FalseNegative) {
			v.errorf(path+".cost.false_negative", "must be >= 0, got %v", c.FalseNegative)
		}
	}
	if m.SLO.Latency <= 0 {
		v.errorf(path+".slo.latency", "must be > 0, got %s", m.SLO.Latency)
	}
	if !(m.SLO.Objective > 0 && m.SLO.Objective < 1) {
		v.errorf(path+".slo.objective", "must be in (0, 1), got %v", m.SLO.Objective)
	}
	if m.SLO.Window <= 0 {
		v.errorf(path+".slo.window", "must be > 0, got %s", m.SLO.Window)
	}
}

// kind checks the keys that only some model kinds take: classes for a
// multiclass model (required, non-empty, unique), a threshold, label
// strings and a cost for a binary one.
func (v *validator) kind(m *Model, path string) {
	written := func(key string, set bool) bool {
		if v.has != nil {
			return v.has(path + "." + key)
		}
		return set
	}
	if m.Kind != KindBinary {
		for _, k := range []struct {
			key string
			set bool
		}{
			{"threshold", m.Threshold != DefaultThreshold},
			{"positive_label", m.PositiveLabel != ""},
			{"negative_label", m.NegativeLabel != ""},
			{"cost", m.Cost != nil},
		} {
			if written(k.key, k.set) {
				v.errorf(path+"."+k.key, "only binary models have a %s (this model is %s)", k.key, m.Kind)
			}
		}
	}
	hasClasses := written("classes", m.Classes != nil)
	if m.Kind != KindMulticlass {
		if hasClasses {
			v.errorf(path+".classes", "only multiclass models have classes (this model is %s)", m.Kind)
		}
		return
	}
	p := path + ".classes"
	if len(m.Classes) == 0 {
		if hasClasses {
			v.errorf(p, "empty list (a multiclass model needs its classes)")
		} else {
			v.errorf(p, "required for a multiclass model")
		}
		return
	}
	seen := make(map[string]int, len(m.Classes))
	for i, c := range m.Classes {
		if c == "" {
			v.errorf(itemKey(p, i), "must not be empty")
			continue
		}
		if first, dup := seen[c]; dup {
			v.errorf(itemKey(p, i), "duplicate class %q (same as classes[%d])", c, first)
			continue
		}
		seen[c] = i
	}
}

func (v *validator) feature(f *Feature, model *Drift, path string) {
	switch f.Name {
	case "":
		v.errorf(path+".name", "required")
	case ReservedFeature:
		v.errorf(path+".name", "%q is reserved (the feature label of undeclared features)", f.Name)
	case "_predicted", "_label":
		v.errorf(path+".name", "%q is reserved (the feature label of a multiclass model's undeclared classes)", f.Name)
	}
	switch f.Type {
	case FeatureNumeric, FeatureCategorical:
	case 0:
		v.errorf(path+".type", "required (numeric or categorical)")
	default:
		v.errorf(path+".type", "unknown feature type %s (want numeric or categorical)", f.Type)
	}
	for _, b := range []struct {
		key string
		x   *float64
	}{{"min", f.Min}, {"max", f.Max}} {
		switch {
		case b.x == nil:
		case f.Type == FeatureCategorical:
			v.errorf(path+"."+b.key, "only numeric features have a %s", b.key)
		case !finite(*b.x):
			v.errorf(path+"."+b.key, "must be a finite number, got %v", *b.x)
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		v.errorf(path+".max", "must be >= min (%v), got %v", *f.Min, *f.Max)
	}
	if f.Categories != nil {
		p := path + ".categories"
		switch {
		case f.Type == FeatureNumeric:
			v.errorf(p, "only categorical features have categories")
		case len(f.Categories) == 0:
			v.errorf(p, "empty list (leave categories out to accept any value)")
		}
		seen := make(map[string]int, len(f.Categories))
		for i, c := range f.Categories {
			if first, dup := seen[c]; dup {
				v.errorf(itemKey(p, i), "duplicate category %q (same as categories[%d])", c, first)
				continue
			}
			seen[c] = i
		}
	}
	if f.Drift != nil {
		v.drift(f.Drift, model, path+".drift")
	}
}

// learned checks what learned thresholds and multivariate drift need of
// the model: a reference, for multivariate drift a reference file and two
// features, and a stream reference spanning at least
// sketch.MinLearnedWindows whole windows of every configured length.
func (v *validator) learned(m *Model, path string, windows []Window) {
	key := ""
	if m.Drift.Threshold == sketch.ThresholdLearned {
		key = path + ".drift." + sketch.ParamThreshold.String()
	}
	for i, f := range m.Features {
		if key == "" && f.Drift != nil && f.Drift.Threshold == sketch.ThresholdLearned {
			key = itemKey(path+".features", i) + ".drift." + sketch.ParamThreshold.String()
		}
	}
	mvKey := path + ".drift." + sketch.ParamMultivariate.String()
	if m.Drift.Multivariate {
		switch r := m.Reference; {
		case r == nil:
			v.errorf(mvKey, "multivariate drift needs a reference (reference: {file: …})")
		case r.IsRange():
			v.errorf(mvKey, "multivariate drift needs a reference file (reference: {file: …}) to fit its PCA on; a stream reference {from, to} has no rows")
		}
		if len(m.Features) < 2 {
			v.errorf(mvKey, "multivariate drift needs at least 2 features, the model declares %d", len(m.Features))
		}
	}
	if key == "" {
		return
	}
	r := m.Reference
	if r == nil {
		v.errorf(key, "learned thresholds need a reference (reference: {file} or {from, to})")
		return
	}
	if !r.IsRange() || !r.From.Before(r.To) {
		return // a file's windows are checked when it is loaded
	}
	for _, w := range windows {
		if n := WholeWindows(r.From, r.To, w.Length); w.Length > 0 && n < sketch.MinLearnedWindows {
			v.errorf(path+".reference.to", "the reference spans %d whole %s windows; learned thresholds (%s) need at least %d",
				n, w.Text, key, sketch.MinLearnedWindows)
		}
	}
}

// WholeWindows is the number of whole windows of length l (aligned to the
// Unix epoch) inside [from, to).
func WholeWindows(from, to time.Time, l time.Duration) int64 {
	ms := l.Milliseconds()
	if ms <= 0 {
		return 0
	}
	f, t := from.UnixMilli(), to.UnixMilli()
	first := f - f%ms
	if f%ms < 0 {
		first -= ms
	}
	if first < f {
		first += ms
	}
	if t < first {
		return 0
	}
	return (t - first) / ms
}

// drift checks d through sketch.DriftParams.Check. For a feature's
// override, base is the model's settings: values equal to them were checked
// with the model.
func (v *validator) drift(d *Drift, base *Drift, path string) {
	var bd []*sketch.ParamError
	if base != nil {
		bd = base.Check()
	}
	for _, e := range d.Check() {
		if slices.ContainsFunc(bd, func(b *sketch.ParamError) bool { return b.Param == e.Param && b.Reason == e.Reason }) {
			continue // the model's value, reported there
		}
		v.errorf(path+"."+e.Param.String(), "%s", e.Reason)
	}
}

// checkHostPort checks that s is host:port with a numeric port; the host
// may be empty unless needHost.
func checkHostPort(s string, needHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("invalid address %q: %s (want host:port)", s, ae.Err)
		}
		return fmt.Errorf("invalid address %q (want host:port)", s)
	}
	if needHost && host == "" {
		return fmt.Errorf("invalid address %q: missing host (want host:port)", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port == "" || (needHost && n == 0) {
		return fmt.Errorf("invalid address %q: bad port %q (want host:port)", s, port)
	}
	return nil
}

// checkFile checks that path names an existing regular file (or a link to
// one).
func checkFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fileError(path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("file %q is a directory", path)
	}
	return nil
}
