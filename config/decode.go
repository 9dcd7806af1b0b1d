package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reckonhq/reckon/sketch"
)

// decoder walks a yaml.Node tree against the schema of the configuration
// file, filling in a Config and collecting an *Error for every key that is
// unknown, duplicated, of the wrong type or unparseable. Range and
// cross-field checks are left to the validator, which finds positions
// through decoder.pos.
type decoder struct {
	filename string
	dir      string // relative paths in the file resolve against dir
	errs     []located
	// lines maps a key path ("models[0].features[1]") to the position of
	// its key, or of its item for list items.
	lines map[string]pos
	// bad holds the key paths with a decode error: validation errors at or
	// under them are consequences and are dropped.
	bad map[string]bool
	// budget counts down the nodes visited; it bounds the work an input
	// can cause through aliases (a list of aliases to lists of aliases...)
	// to a multiple of its size.
	budget int
	spent  bool
}

func newDecoder(file string, size int) *decoder {
	return &decoder{
		filename: file,
		dir:      filepath.Dir(file),
		lines:    make(map[string]pos),
		bad:      make(map[string]bool),
		budget:   20*size + 1<<18,
	}
}

// errorf reports a problem with the value at key; validation errors at or
// under key are then dropped as consequences.
func (d *decoder) errorf(p pos, key, format string, args ...any) {
	d.report(p, key, format, args...)
	d.bad[key] = true
}

// report reports a problem without marking key as failed.
func (d *decoder) report(p pos, key, format string, args ...any) {
	d.errs = append(d.errs, located{p, &Error{File: d.filename, Line: p.line, Key: key, Msg: fmt.Sprintf(format, args...)}})
}

// pos is a position in the file; the zero pos is unknown.
type pos struct{ line, col int }

func at(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// located is an error with the position it is sorted by.
type located struct {
	pos pos
	err *Error
}

// pos returns the position of key, or of its nearest ancestor the file
// has.
// has reports whether the file wrote key.
func (d *decoder) has(key string) bool {
	_, ok := d.lines[key]
	return ok
}

func (d *decoder) pos(key string) pos {
	for {
		if p, ok := d.lines[key]; ok {
			return p
		}
		if key == "" {
			return pos{line: 1}
		}
		key = parentKey(key)
	}
}

// failed reports whether key or one of its ancestors had a decode error.
func (d *decoder) failed(key string) bool {
	for {
		if d.bad[key] {
			return true
		}
		if key == "" {
			return false
		}
		key = parentKey(key)
	}
}

func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// childKey is the path of key k of the mapping at path.
func childKey(path, k string) string {
	if !plainKey.MatchString(k) {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func itemKey(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse parses data as a single YAML document and returns its root node;
// an empty document is an empty mapping.
func (d *decoder) parse(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
	}
	if err != nil {
		d.syntaxError(err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(err)
		return nil, false
	default:
		d.errorf(at(&next), "", "more than one YAML document (want one)")
		return nil, false
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
	}
	return doc.Content[0], true
}

func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errorf(pos{line: line}, "", "%s", m[2])
		return
	}
	d.errorf(pos{}, "", "%s", strings.TrimPrefix(msg, "yaml: "))
}

// deref follows an alias and charges the visit to the budget.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	d.budget--
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// exhausted reports whether the budget is spent, reporting it once.
func (d *decoder) exhausted() bool {
	if d.budget > 0 {
		return false
	}
	if !d.spent {
		d.spent = true
		d.errorf(pos{}, "", "document too large after alias expansion")
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the type and value of n for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		switch tag := n.ShortTag(); tag {
		case "!!str":
			return "string " + strconv.Quote(v)
		case "!!int":
			return "integer " + v
		case "!!float":
			return "number " + v
		case "!!bool":
			return "boolean " + v
		case "!!timestamp":
			return "timestamp " + v
		case "!!null":
			return "null"
		default:
			return tag + " " + strconv.Quote(v)
		}
	}
	return "an alias"
}

// A field decodes the value v of the key at path. v is dereferenced and not
// null.
type field func(v *yaml.Node, path string)

// fields maps the keys of a mapping to their decoders.
type fields map[string]field

type pair struct{ key, val *yaml.Node }

// mapping decodes mapping n at path with fs. Unknown keys, duplicate keys
// and keys that are not strings are errors; a null value is skipped, so
// that the field keeps its default.
func (d *decoder) mapping(n *yaml.Node, path string, fs fields) {
	if n.Kind != yaml.MappingNode {
		d.errorf(at(n), path, "want a mapping, got %s", describe(n))
		return
	}
	for _, p := range d.pairs(n, path) {
		kp := childKey(path, p.key.Value)
		f, ok := fs[p.key.Value]
		if !ok {
			d.errorf(at(p.key), kp, "unknown key%s", suggest(p.key.Value, fs))
			continue
		}
		d.lines[kp] = at(p.key)
		v := d.deref(p.val)
		if isNull(v) {
			continue
		}
		f(v, kp)
	}
}

// pairs returns the key/value pairs of mapping n, explicit keys first in
// document order, then the keys of merge keys (<<) not already present, in
// YAML merge order.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	seen := make(map[string]int)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content) && !d.exhausted(); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.report(at(k), path, "mapping key is %s (want a string)", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(at(k), childKey(path, k.Value), "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	visited := map[*yaml.Node]bool{n: true}
	for _, m := range merges {
		out = d.merge(out, m, path, seen, visited)
	}
	return out
}

func (d *decoder) merge(out []pair, m *yaml.Node, path string, seen map[string]int, visited map[*yaml.Node]bool) []pair {
	mpos := at(m)
	m = d.deref(m)
	switch m.Kind {
	case yaml.MappingNode:
		if visited[m] {
			return out
		}
		visited[m] = true
		var sub []*yaml.Node
		for i := 0; i+1 < len(m.Content) && !d.exhausted(); i += 2 {
			k, v := d.deref(m.Content[i]), m.Content[i+1]
			switch {
			case k.Kind != yaml.ScalarNode:
				d.report(at(k), path, "mapping key is %s (want a string)", describe(k))
			case k.ShortTag() == "!!merge":
				sub = append(sub, v)
			default:
				if _, ok := seen[k.Value]; !ok {
					seen[k.Value] = k.Line
					out = append(out, pair{k, v})
				}
			}
		}
		for _, s := range sub {
			out = d.merge(out, s, path, seen, visited)
		}
	case yaml.SequenceNode:
		for _, item := range m.Content {
			if d.exhausted() {
				break
			}
			if it := d.deref(item); it.Kind != yaml.MappingNode {
				d.errorf(at(item), path, "merge (<<) of %s (want a mapping or a list of mappings)", describe(it))
				continue
			}
			out = d.merge(out, item, path, seen, visited)
		}
	default:
		d.errorf(mpos, path, "merge (<<) of %s (want a mapping or a list of mappings)", describe(m))
	}
	return out
}

// suggest returns " (did you mean "x"?)" for the known key closest to k, if
// one is close.
func suggest(k string, fs fields) string {
	best, bestDist := "", 3
	for name := range fs {
		if dist := editDistance(strings.ToLower(k), name); dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
	}
	if best == "" || bestDist > 2 || bestDist >= len(k) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// items returns the items of sequence n at path, recording their lines.
func (d *decoder) items(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(at(n), path, "want a list, got %s", describe(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for i, it := range n.Content {
		if d.exhausted() {
			break
		}
		d.lines[itemKey(path, i)] = at(it)
		out = append(out, d.deref(it))
	}
	return out
}

// Scalar decoders. Each reports a type error and returns ok == false.

func (d *decoder) stringValue(v *yaml.Node, path string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		d.errorf(at(v), path, "want a string, got %s", describe(v))
		return "", false
	}
	return v.Value, true
}

func (d *decoder) floatValue(v *yaml.Node, path string) (float64, bool) {
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!int", "!!float":
			if x, ok := parseFloat(v.Value); ok {
				return x, true
			}
		}
	}
	d.errorf(at(v), path, "want a number, got %s", describe(v))
	return 0, false
}

func parseFloat(s string) (float64, bool) {
	switch strings.ToLower(s) {
	case ".inf", "+.inf":
		return math.Inf(1), true
	case "-.inf":
		return math.Inf(-1), true
	case ".nan":
		return math.NaN(), true
	}
	if x, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return x, true
	}
	if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64); err == nil {
		return float64(i), true
	}
	return 0, false
}

func (d *decoder) intValue(v *yaml.Node, path string) (int, bool) {
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, strconv.IntSize); err == nil {
				return int(i), true
			}
			d.errorf(at(v), path, "integer %s out of range", v.Value)
			return 0, false
		case "!!float":
			// 1e6 is an integer too.
			if x, ok := parseFloat(v.Value); ok && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), true
			}
		}
	}
	d.errorf(at(v), path, "want an integer, got %s", describe(v))
	return 0, false
}

func (d *decoder) boolValue(v *yaml.Node, path string) (bool, bool) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		if b, err := strconv.ParseBool(v.Value); err == nil {
			return b, true
		}
	}
	d.errorf(at(v), path, "want true or false, got %s", describe(v))
	return false, false
}

func (d *decoder) durationValue(v *yaml.Node, path string) (time.Duration, bool) {
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!str":
			x, err := ParseDuration(v.Value)
			if err != nil {
				d.errorf(at(v), path, "%v", err)
				return 0, false
			}
			return x, true
		case "!!int":
			if v.Value == "0" {
				return 0, true
			}
			d.errorf(at(v), path, "want a duration such as 30s or 5m, got integer %s (missing unit)", v.Value)
			return 0, false
		}
	}
	d.errorf(at(v), path, "want a duration such as 30s or 5m, got %s", describe(v))
	return 0, false
}

func (d *decoder) timeValue(v *yaml.Node, path string) (time.Time, bool) {
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!str", "!!timestamp":
			if t, err := time.Parse(time.RFC3339Nano, v.Value); err == nil {
				return t, true
			}
			d.errorf(at(v), path, "invalid time %q (want RFC 3339, like 2026-11-01T00:00:00Z)", v.Value)
			return time.Time{}, false
		}
	}
	d.errorf(at(v), path, "want an RFC 3339 time, got %s", describe(v))
	return time.Time{}, false
}

// Field constructors, storing into dst when the value decodes.

func (d *decoder) str(dst *string) field {
	return func(v *yaml.Node, path string) {
		if s, ok := d.stringValue(v, path); ok {
			*dst = s
		}
	}
}

// file is str for a file path, resolved against the configuration file's
// directory.
func (d *decoder) file(dst *string) field {
	return func(v *yaml.Node, path string) {
		if s, ok := d.stringValue(v, path); ok {
			*dst = resolve(d.dir, s)
		}
	}
}

func (d *decoder) float(dst *float64) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.floatValue(v, path); ok {
			*dst = x
		}
	}
}

func (d *decoder) floatPtr(dst **float64) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.floatValue(v, path); ok {
			*dst = &x
		}
	}
}

func (d *decoder) int(dst *int) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.intValue(v, path); ok {
			*dst = x
		}
	}
}

func (d *decoder) bool(dst *bool) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.boolValue(v, path); ok {
			*dst = x
		}
	}
}

// bytes is a size: an integer of bytes, or a number with a unit (KiB,
// MiB, GiB, TiB; KB, MB, GB, TB), "1GiB".
func (d *decoder) bytes(dst *int64) field {
	return func(v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode {
			if n, err := parseBytes(v.Value); err == nil {
				*dst = n
				return
			} else if v.ShortTag() == "!!str" {
				d.errorf(at(v), path, "%v", err)
				return
			}
		}
		d.errorf(at(v), path, "want a size such as 1GiB or 536870912, got %s", describe(v))
	}
}

// parseBytes parses a size of bytes with an optional unit.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	t := strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil || x < 0 || math.IsInf(x, 0) || x*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	return int64(x * mult), nil
}

func (d *decoder) duration(dst *time.Duration) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.durationValue(v, path); ok {
			*dst = x
		}
	}
}

func (d *decoder) time(dst *time.Time) field {
	return func(v *yaml.Node, path string) {
		if x, ok := d.timeValue(v, path); ok {
			*dst = x
		}
	}
}

// The schema.

func (d *decoder) config(root *yaml.Node) *Config {
	c := Default()
	c.StateDir = resolve(d.dir, DefaultStateDir)
	d.lines[""] = at(root)
	d.mapping(root, "", fields{
		"kafka":              func(v *yaml.Node, p string) { d.kafka(v, p, &c.Kafka) },
		"listen":             d.str(&c.Listen),
		"probe_listen":       d.str(&c.ProbeListen),
		"web_config_file":    d.file(&c.WebConfigFile),
		"windows":            func(v *yaml.Node, p string) { c.Windows = d.windows(v, p) },
		"allowed_lateness":   d.duration(&c.AllowedLateness),
		"idle_timeout":       d.duration(&c.IdleTimeout),
		"label_ttl":          d.duration(&c.LabelTTL),
		"max_clock_skew":     d.duration(&c.MaxClockSkew),
		"max_event_age":      d.duration(&c.MaxEventAge),
		"commit_interval":    d.duration(&c.CommitInterval),
		"max_record_bytes":   d.int(&c.MaxRecordBytes),
		"series_limit":       d.int(&c.SeriesLimit),
		"max_model_versions": d.int(&c.MaxModelVersions),
		"state_dir":          d.file(&c.StateDir),
		"state_memory":       d.bytes(&c.StateMemory),
		"models":             func(v *yaml.Node, p string) { c.Models = d.models(v, p) },
	})
	return c
}

func (d *decoder) kafka(n *yaml.Node, path string, k *Kafka) {
	d.mapping(n, path, fields{
		"brokers":           func(v *yaml.Node, p string) { k.Brokers = d.strings(v, p) },
		"group":             d.str(&k.Group),
		"client_id":         d.str(&k.ClientID),
		"predictions_topic": d.str(&k.PredictionsTopic),
		"outcomes_topic":    d.str(&k.OutcomesTopic),
		"dead_letter_topic": d.str(&k.DeadLetterTopic),
		"results_topic":     d.str(&k.ResultsTopic),
		"instance_id":       d.str(&k.InstanceID),
		"session_timeout":   d.duration(&k.SessionTimeout),
		"tls": func(v *yaml.Node, p string) {
			t := &TLS{Enabled: true}
			d.mapping(v, p, fields{
				"enabled":              d.bool(&t.Enabled),
				"ca_file":              d.file(&t.CAFile),
				"cert_file":            d.file(&t.CertFile),
				"key_file":             d.file(&t.KeyFile),
				"insecure_skip_verify": d.bool(&t.InsecureSkipVerify),
			})
			if t.Enabled {
				k.TLS = t
			}
		},
		"sasl": func(v *yaml.Node, p string) {
			s := &SASL{}
			d.mapping(v, p, fields{
				"mechanism":     d.str(&s.Mechanism),
				"username":      d.str(&s.Username),
				"password":      d.str(&s.Password),
				"password_file": d.file(&s.PasswordFile),
			})
			k.SASL = s
		},
	})
}

// strings decodes a list of strings; an item of the wrong type is left
// empty so that later items keep their index.
func (d *decoder) strings(n *yaml.Node, path string) []string {
	items := d.items(n, path)
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = d.stringValue(it, itemKey(path, i))
	}
	return out
}

func (d *decoder) windows(n *yaml.Node, path string) []Window {
	items := d.items(n, path)
	out := make([]Window, len(items))
	for i, it := range items {
		if l, ok := d.durationValue(it, itemKey(path, i)); ok {
			out[i] = Window{Text: it.Value, Length: l}
		}
	}
	return out
}

func (d *decoder) models(n *yaml.Node, path string) []Model {
	items := d.items(n, path)
	out := make([]Model, len(items))
	for i, it := range items {
		out[i] = DefaultModel("")
		d.model(it, itemKey(path, i), &out[i])
	}
	return out
}

func (d *decoder) model(n *yaml.Node, path string, m *Model) {
	// Features inherit the model's drift settings, which may come after
	// them in the file: decode them last.
	var features *yaml.Node
	var featuresPath string
	d.mapping(n, path, fields{
		"name": d.str(&m.Name),
		"kind": func(v *yaml.Node, p string) {
			if s, ok := d.stringValue(v, p); ok {
				k, err := ParseModelKind(s)
				if err != nil {
					d.errorf(at(v), p, "%v", err)
					return
				}
				m.Kind = k
			}
		},
		"classes":        func(v *yaml.Node, p string) { m.Classes = d.categories(v, p) },
		"threshold":      d.float(&m.Threshold),
		"positive_label": d.str(&m.PositiveLabel),
		"negative_label": d.str(&m.NegativeLabel),
		"reference": func(v *yaml.Node, p string) {
			r := &Reference{}
			n := len(d.errs)
			d.mapping(v, p, fields{
				"from": d.time(&r.From),
				"to":   d.time(&r.To),
				"file": d.file(&r.File),
			})
			if len(d.errs) > n {
				d.bad[p] = true // which form was meant is unknown
			}
			m.Reference = r
		},
		"features": func(v *yaml.Node, p string) { features, featuresPath = v, p },
		"segments": func(v *yaml.Node, p string) { m.Segments = d.segments(v, p) },
		"drift":    func(v *yaml.Node, p string) { d.drift(v, p, &m.Drift, false, 0) },
		"cost": func(v *yaml.Node, p string) {
			c := &Cost{}
			var fp, fn bool
			d.mapping(v, p, fields{
				"false_positive": func(v *yaml.Node, p string) { fp = true; d.float(&c.FalsePositive)(v, p) },
				"false_negative": func(v *yaml.Node, p string) { fn = true; d.float(&c.FalseNegative)(v, p) },
			})
			if v.Kind == yaml.MappingNode {
				if !fp {
					d.errorf(d.pos(p), childKey(p, "false_positive"), "required")
				}
				if !fn {
					d.errorf(d.pos(p), childKey(p, "false_negative"), "required")
				}
			}
			m.Cost = c
		},
		"slo": func(v *yaml.Node, p string) {
			d.mapping(v, p, fields{
				"latency":   d.duration(&m.SLO.Latency),
				"objective": d.float(&m.SLO.Objective),
				"window":    d.duration(&m.SLO.Window),
			})
		},
	})
	if features != nil {
		items := d.items(features, featuresPath)
		m.Features = make([]Feature, len(items))
		for i, it := range items {
			d.feature(it, itemKey(featuresPath, i), &m.Features[i], m.Drift)
		}
	}
}

func (d *decoder) feature(n *yaml.Node, path string, f *Feature, model Drift) {
	// The drift override depends on the type, which may come after it.
	var drift *yaml.Node
	var driftPath string
	d.mapping(n, path, fields{
		"name": d.str(&f.Name),
		"type": func(v *yaml.Node, p string) {
			if s, ok := d.stringValue(v, p); ok {
				t, err := ParseFeatureType(s)
				if err != nil {
					d.errorf(at(v), p, "%v", err)
					return
				}
				f.Type = t
			}
		},
		"min":        d.floatPtr(&f.Min),
		"max":        d.floatPtr(&f.Max),
		"categories": func(v *yaml.Node, p string) { f.Categories = d.categories(v, p) },
		"drift":      func(v *yaml.Node, p string) { drift, driftPath = v, p },
	})
	if drift != nil {
		dr := model
		d.drift(drift, driftPath, &dr, true, f.Type)
		f.Drift = &dr
	}
}

// categories decodes a list of category values: strings, or booleans
// written as "true" and "false" (as booleans in events are categorical).
func (d *decoder) categories(n *yaml.Node, path string) []string {
	items := d.items(n, path)
	out := make([]string, len(items))
	for i, it := range items {
		p := itemKey(path, i)
		if it.Kind == yaml.ScalarNode && it.ShortTag() == "!!bool" {
			b, _ := d.boolValue(it, p)
			out[i] = strconv.FormatBool(b)
			continue
		}
		if it.Kind == yaml.ScalarNode && slices.Contains([]string{"!!int", "!!float"}, it.ShortTag()) {
			d.errorf(at(it), p, "want a string, got %s (numbers in events are numeric; quote it if the value is a string)", describe(it))
			continue
		}
		out[i], _ = d.stringValue(it, p)
	}
	return out
}

// drift decodes a drift block into dst, which holds the inherited values.
// The scalar "auto" means DefaultDrift(). A feature's block (onFeature) may
// not set dataset_share or multivariate, nor the test of the other feature
// type.
func (d *decoder) drift(n *yaml.Node, path string, dst *Drift, onFeature bool, feature FeatureType) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == sketch.MethodAuto.String() {
		*dst = DefaultDrift()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(at(n), path, "want a mapping or \"auto\", got %s", describe(n))
		return
	}
	fs := fields{
		sketch.ParamNumeric.String():           d.method(&dst.Numeric, sketch.KindNumeric),
		sketch.ParamCategorical.String():       d.method(&dst.Categorical, sketch.KindCategorical),
		sketch.ParamPValue.String():            d.float(&dst.PValue),
		sketch.ParamPSIThreshold.String():      d.float(&dst.PSIThreshold),
		sketch.ParamDistanceThreshold.String(): d.float(&dst.DistanceThreshold),
		sketch.ParamDatasetShare.String():      d.float(&dst.DatasetShare),
		sketch.ParamThreshold.String(): func(v *yaml.Node, p string) {
			if s, ok := d.stringValue(v, p); ok {
				t, err := sketch.ParseThreshold(s)
				if err != nil {
					d.errorf(at(v), p, "%v", err)
					return
				}
				dst.Threshold = t
			}
		},
		sketch.ParamK.String():            d.float(&dst.K),
		sketch.ParamMultivariate.String(): d.bool(&dst.Multivariate),
	}
	if onFeature {
		for _, param := range []sketch.Param{sketch.ParamDatasetShare, sketch.ParamMultivariate} {
			fs[param.String()] = func(v *yaml.Node, p string) {
				d.errorf(d.pos(p), p, "%s is a model-level setting", param)
			}
		}
	}
	notFor := func(key string, t FeatureType) {
		set := fs[key]
		fs[key] = func(v *yaml.Node, p string) {
			if feature == t {
				d.errorf(d.pos(p), p, "does not apply to a %s feature", t)
				return
			}
			set(v, p)
		}
	}
	notFor(sketch.ParamNumeric.String(), FeatureCategorical)
	notFor(sketch.ParamCategorical.String(), FeatureNumeric)
	d.mapping(n, path, fs)
}

// method decodes the name of a drift test for features of kind k into dst,
// as sketch.ParseMethodFor accepts it.
func (d *decoder) method(dst *sketch.Method, k sketch.FeatureKind) func(*yaml.Node, string) {
	return func(v *yaml.Node, p string) {
		s, ok := d.stringValue(v, p)
		if !ok {
			return
		}
		m, err := sketch.ParseMethodFor(s, k)
		var me *sketch.MethodError
		if errors.As(err, &me) {
			d.errorf(at(v), p, "%s", me.Reason())
			return
		}
		*dst = m
	}
}
