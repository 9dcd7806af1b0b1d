package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/alerts"
	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/dashboards"
)

// dashboardsConfig is the configuration of TestDashboardsReturnData: %[1]s
// is the group, also the topics' prefix and the model's name (unique, so
// that the model-scoped queries and the per-model recording rules see this
// test's series only); %[2]s and %[3]s the reference range. Event time runs
// 20 times faster than the wall clock (dashTick); allowed_lateness and
// label_ttl are in event time, idle_timeout in wall time.
const dashboardsConfig = `
kafka:
  group: %[1]s
  predictions_topic: %[1]s-predictions
  outcomes_topic: %[1]s-outcomes
  dead_letter_topic: %[1]s-dead
  results_topic: %[1]s-results
windows: [1m, 5m]
allowed_lateness: 30s
idle_timeout: 5s
label_ttl: 2m
models:
  - name: %[1]s
    threshold: 0.5
    reference: {from: %[2]q, to: %[3]q}
    features:
      - {name: amount, type: numeric, min: 0}
      - {name: age, type: numeric}
      - {name: country, type: categorical}
      - {name: is_new, type: categorical}
    segments: [{feature: country}]
    drift: {numeric_test: ks, categorical_test: chi2, p_value: 0.01}
    cost: {false_positive: 1.5, false_negative: 10}
    slo: {latency: 250ms, objective: 0.99, window: 30d}
`

// The scenario's stream: every dashTick of wall time, one second of event
// time (20× the wall clock) with dashPerTick predictions.
const (
	dashTick    = 50 * time.Millisecond
	dashPerTick = 8
	// dashRateInterval is what $__rate_interval becomes. Grafana makes it
	// max($__interval + scrape interval, 4 × scrape interval), the scrape
	// interval being the data source's; against CI's Prometheus (scrape
	// every 1s) and a dashboard over the last few minutes that is about
	// 4s. 15s keeps some 15 scrapes in every range, so that a rate exists
	// whatever the scrape jitter, and is still short enough that a rate
	// returned is one of the live stream, not of something long gone.
	dashRateInterval = "15s"
	// dashTimeout bounds the wait, from the start of the stream, for every
	// query to return data at one instant. The test starts asking once the
	// first 5m window after the reference has closed, some 20s into the
	// stream.
	dashTimeout = 75 * time.Second
)

// TestDashboardsReturnData lets the real Prometheus scrape reckon, with the
// recording rules generated for the configuration loaded, while a scenario
// streams through it: predictions ok and failed, with latencies and scores,
// a stream reference and drift after it, delayed outcomes joined (and some
// never sent, duplicated or orphaned), schema violations, late events,
// dead letters and mis-keyed records. Then every query of every generated
// dashboard — each panel target and each query variable — with Grafana's
// variables substituted by the scenario's values (every value of $window,
// $method and $slo; $feature as Grafana's All; $__rate_interval as
// dashRateInterval), must return data from one and the same instant: an
// instant vector with at least one sample that is not NaN.
//
// Each query is evaluated twice: exactly as the dashboard has it, and
// restricted to this test's reckon (instance="…" added to every selector of
// a series reckon exports; the recording rules aggregate the instances away
// and are selected by this test's model). Prometheus is shared by the tests
// and keeps the series of earlier ones, so only the second proves that the
// data comes from this scenario; the first, that the query as shipped
// works.
//
// The SLO dashboard reads the recording rules of `reckon rules`: the test
// writes the rules generated for its configuration (alerts.Rules) into
// RECKON_PROM_RULES_DIR, which the Prometheus under test loads rule files
// from (.ci/prometheus.sh), and POSTs /-/reload. Recording rules over long
// ranges (the SLO window's 30d, the 3d burn rate) return data as soon as
// the series they read have two samples in range; a panel over them
// "returns data" in that sense, as on a freshly deployed Prometheus.
func TestDashboardsReturnData(t *testing.T) {
	prom := promEnv(t)
	rulesDir := os.Getenv("RECKON_PROM_RULES_DIR")
	if rulesDir == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but RECKON_PROM_RULES_DIR is not set: the SLO dashboard needs the generated recording rules loaded into the Prometheus under test (see .ci/run)")
	}

	group := uniqueName("dash")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	const parts = 3
	createTopics(t, parts, predTopic, outTopic)

	// Event time starts an hour ago, in the last minute of a 5m window: the
	// reference is that minute, and the features shift after it. The first
	// 5m window after the reference closes 6m30s of event time (the
	// watermark lags by allowed_lateness), some 20s, into the stream.
	t0 := time.Now().UTC().Truncate(5 * time.Minute).Add(-time.Hour)
	start, refTo := t0.Add(4*time.Minute), t0.Add(5*time.Minute)
	yaml := fmt.Sprintf(dashboardsConfig, group, start.Format(time.RFC3339), refTo.Format(time.RFC3339))
	cfg, err := config.Parse("dashboards.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	model := cfg.Models[0].Name
	files, err := dashboards.Dashboards(cfg)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := dashboards.Queries(files)
	if err != nil {
		t.Fatal(err)
	}
	if rulesDir != "" {
		rules, err := alerts.Rules(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := rules.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range out {
			prom.loadRules(t, rulesDir, group+"-"+name, data, len(rules[name].Groups))
		}
	}

	p := startReckon(t, yaml)
	instance := uniqueName("reckon-dash")
	prom.promTarget(t, p.addr, instance)
	waitProm(t, 20*time.Second, fmt.Sprintf("up{instance=%q} == 1", instance), func() (bool, string) {
		v, ok := prom.queryValue(t, fmt.Sprintf("up{instance=%q}", instance), time.Now())
		return ok && v == 1, fmt.Sprintf("%v (present %v)", v, ok)
	})

	ctx, stop := context.WithCancel(context.Background())
	s := &dashScenario{
		model: model, predTopic: predTopic, outTopic: outTopic, start: start,
		cl:  newClient(t, kgo.ProducerLinger(0)),
		rng: rand.New(rand.NewPCG(2026, 7)),
	}
	done := make(chan struct{})
	go func() { defer close(done); s.run(ctx) }()
	stopStream := func() { stop(); <-done }
	t.Cleanup(stopStream)
	streamStart := time.Now()

	// Wait until the first 5m window after the reference has closed (the
	// one before it is the reference's), so that every per-window series
	// describes a window after the reference and the drift panels show the
	// shift, not the reference compared with itself.
	p.waitFor(t, dashTimeout, "the first 5m window after the reference to close", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_windows_closed_total", map[string]string{"model": model, "window": "5m"})
		return v >= 2
	})

	// Every round evaluates every check at one instant; the first round in
	// which all return data ends the wait.
	base := map[string]string{
		"datasource":      "prometheus",
		"model":           model,
		"__rate_interval": dashRateInterval,
		// The dashboards' default time range, now-6h.
		"__range": "6h", "__range_s": "21600",
	}
	var (
		checks []*dashCheck
		at     time.Time
		rounds int
	)
	for {
		rounds++
		at = time.Now()
		checks = dashChecks(t, prom, queries, cfg, base, instance, rulesDir != "", at)
		prom.evaluate(checks, at)
		if !slices.ContainsFunc(checks, func(c *dashCheck) bool { return !c.ok() }) || time.Since(streamStart) > dashTimeout {
			break
		}
		time.Sleep(time.Second)
	}
	stopStream()
	if err := s.err(); err != nil {
		t.Fatalf("producing the scenario: %v", err)
	}
	t.Logf("scenario: %d predictions, %d outcomes, %d late, %d dead letters, %d mis-keyed over %v (%v of event time); evaluated at %s, round %d, %v into the stream",
		s.predictions, s.outcomes, s.late, s.dead, s.misKeyed, time.Since(streamStart).Round(time.Millisecond),
		time.Duration(s.ticks)*time.Second, at.UTC().Format(time.RFC3339Nano), rounds, at.Sub(streamStart).Round(time.Millisecond))

	for _, file := range slices.Sorted(maps.Keys(files)) {
		t.Run(file, func(t *testing.T) {
			var targets, variables int
			for _, q := range queries {
				switch {
				case q.File != file:
				case q.RefID == "":
					variables++
				default:
					targets++
				}
			}
			if file == dashboards.SLOFile && rulesDir == "" {
				t.Skipf("skipping its %d panel targets: RECKON_PROM_RULES_DIR is not set, so the Prometheus under test has none of the recording rules this dashboard reads (start it with the variable set, as .ci/run does)", targets)
			}
			var n, passed int
			for _, c := range checks {
				if c.q.File != file {
					continue
				}
				n++
				if c.ok() {
					passed++
					t.Logf("ok: %s: %s; scoped: %s", c, c.exact.why, c.scoped.why)
					continue
				}
				t.Errorf("%s returns no data\n  as in the dashboard: %s\n    -> %s\n  scoped to this test's reckon: %s\n    -> %s",
					c, c.exact.expr, c.exact.why, c.scoped.expr, c.scoped.why)
			}
			if targets == 0 {
				t.Fatalf("no panel targets in %s", file)
			}
			t.Logf("%s: %d of %d queries return data (%d panel targets and %d variable queries, the targets once per value of $window, $method and $slo they use)",
				file, passed, n, targets, variables)
		})
	}
}

// dashCheck is one dashboard query with the variables substituted, and
// what Prometheus returned for it.
type dashCheck struct {
	q    dashboards.Query
	vars map[string]string // the values of the multi-valued variables it uses
	// label is the label of a variable's label_values query; want are
	// values it must return (the scenario's model, its features).
	label string
	want  []string
	// The query as the dashboard has it, and restricted to this test's
	// reckon.
	exact, scoped dashResult
}

// dashResult is one query's outcome.
type dashResult struct {
	expr string
	n    int    // samples that are not NaN
	why  string // what came back, or why nothing did
	ok   bool
}

func (c *dashCheck) ok() bool { return c.exact.ok && c.scoped.ok }

func (c *dashCheck) String() string {
	what := fmt.Sprintf("panel %q %s", c.q.Panel, c.q.RefID)
	if c.q.RefID == "" {
		what = "variable " + c.q.Panel
	}
	if len(c.vars) == 0 {
		return what
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.vars)) {
		parts = append(parts, "$"+k+"="+c.vars[k])
	}
	return what + " (" + strings.Join(parts, ", ") + ")"
}

// grafanaVarRef matches the variable references Interpolate substitutes.
var grafanaVarRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// dashChecks returns the checks of every query, each panel target once for
// every combination of the values of the multi-valued variables it uses.
// The values of the query variables ($feature, $method) are what their
// label_values queries return for this test's reckon now, as in Grafana.
func dashChecks(t *testing.T, prom *promServer, qs []dashboards.Query, cfg *config.Config, base map[string]string, instance string, withRules bool, at time.Time) []*dashCheck {
	t.Helper()
	values := map[string][]string{"slo": {alerts.SLOErrors, alerts.SLOLatency}}
	for _, w := range cfg.Windows {
		values["window"] = append(values["window"], w.Text)
	}
	var checks []*dashCheck
	add := func(q dashboards.Query, vars map[string]string, expr string) *dashCheck {
		c := &dashCheck{q: q, vars: vars, exact: dashResult{expr: expr}}
		scoped, err := scopeToInstance(expr, instance)
		if err != nil {
			t.Fatalf("%s: %s: %v", q.File, q.Panel, err)
		}
		c.scoped.expr = scoped
		checks = append(checks, c)
		return c
	}
	// Query variables first: their checks, and their values.
	for _, q := range qs {
		if q.RefID != "" {
			continue
		}
		sel, label, ok := dashboards.VariableSelector(q.Expr)
		if !ok {
			t.Fatalf("%s: variable %s: query %q is not label_values(selector, label)", q.File, q.Panel, q.Expr)
		}
		c := add(q, nil, dashboards.Interpolate(sel, base))
		c.label = label
		name := strings.TrimPrefix(q.Panel, "$")
		switch name {
		case "model":
			c.want = []string{base["model"]}
			continue // this test's model, in base
		case "feature":
			for _, f := range cfg.Models[0].Features {
				c.want = append(c.want, f.Name)
			}
		}
		res, err := prom.query(c.scoped.expr, at)
		if err != nil {
			continue // reported by the check
		}
		seen := map[string]bool{}
		for _, s := range res {
			if v := s.Metric[label]; v != "" {
				seen[v] = true
			}
		}
		vs := slices.Sorted(maps.Keys(seen))
		switch name {
		case "feature":
			// Grafana's All of a multi-value variable, in a regex matcher.
			for i, v := range vs {
				vs[i] = regexp.QuoteMeta(v)
			}
			if len(vs) > 0 {
				values[name] = []string{"(" + strings.Join(vs, "|") + ")"}
			}
		default:
			values[name] = vs
		}
	}
	for _, q := range qs {
		if q.RefID == "" {
			continue
		}
		if q.File == dashboards.SLOFile && !withRules {
			continue
		}
		// The multi-valued variables the query uses.
		var multi []string
		for _, m := range grafanaVarRef.FindAllStringSubmatch(q.Expr, -1) {
			name := m[1] + m[2] + m[3]
			if _, ok := base[name]; ok || slices.Contains(multi, name) {
				continue
			}
			multi = append(multi, name)
		}
		combos := []map[string]string{{}}
		for _, name := range multi {
			vs, ok := values[name]
			if !ok || len(vs) == 0 {
				vs = []string{"$" + name} // unresolved: left in, and fails to parse
			}
			var next []map[string]string
			for _, c := range combos {
				for _, v := range vs {
					m := maps.Clone(c)
					m[name] = v
					next = append(next, m)
				}
			}
			combos = next
		}
		for _, vars := range combos {
			all := maps.Clone(base)
			maps.Copy(all, vars)
			add(q, vars, dashboards.Interpolate(q.Expr, all))
		}
	}
	return checks
}

// evaluate runs every check's two queries at time at, a few at a time. A
// query returns data when it gives at least one sample that is not NaN
// (Grafana draws nothing for NaN); a variable's query, when its label
// takes every wanted value as well.
func (p *promServer) evaluate(checks []*dashCheck, at time.Time) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, c := range checks {
		for _, r := range []*dashResult{&c.exact, &c.scoped} {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r.n, r.why, r.ok = 0, "", false
				if strings.Contains(r.expr, "$") {
					r.why = "a variable is left unsubstituted"
					return
				}
				res, err := p.query(r.expr, at)
				if err != nil {
					r.why = err.Error()
					return
				}
				seen := map[string]bool{}
				for _, s := range res {
					if !math.IsNaN(s.Value) {
						r.n++
						seen[s.Metric[c.label]] = true
					}
				}
				switch {
				case len(res) == 0:
					r.why = "empty result"
				case r.n == 0:
					r.why = fmt.Sprintf("%d samples, all NaN", len(res))
				default:
					r.why = fmt.Sprintf("%d samples", r.n)
					r.ok = true
					for _, v := range c.want {
						if !seen[v] {
							r.why += fmt.Sprintf(", but none with %s=%q", c.label, v)
							r.ok = false
						}
					}
				}
			}()
		}
	}
	wg.Wait()
}

// scopeToInstance returns expr with instance="…" added to every selector
// of a series reckon exports. Recording rules (names with a colon) have no
// instance: they aggregate it away.
func scopeToInstance(expr, instance string) (string, error) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", expr, err)
	}
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && !strings.Contains(vs.Name, ":") {
			vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, "instance", instance))
		}
		return nil
	})
	return ast.String(), nil
}

// loadRules writes a rule file named name, with groups rule groups, into
// dir, from which the Prometheus under test loads *.yml rule files
// (RECKON_PROM_RULES_DIR of .ci/prometheus.sh); reloads Prometheus (POST
// /-/reload: the lifecycle API is on); and checks that it loaded them. The
// file is removed, and Prometheus reloaded, when the test ends.
func (p *promServer) loadRules(t *testing.T, dir, name string, data []byte, groups int) {
	t.Helper()
	if !filepath.IsAbs(dir) {
		// Prometheus resolves a relative rule_files pattern against its
		// configuration file's directory, not ours.
		t.Fatalf("RECKON_PROM_RULES_DIR=%q: want an absolute path", dir)
	}
	path := filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name))+".yml")
	tmp := path + ".tmp" // not *.yml: never loaded half-written
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Error(err)
		}
		if err := p.reload(); err != nil {
			t.Errorf("reloading Prometheus after removing %s: %v", path, err)
		}
	})
	if err := p.reload(); err != nil {
		t.Fatalf("reloading Prometheus with %s: %v", path, err)
	}
	resp, err := http.Get(p.url + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Name string `json:"name"`
				File string `json:"file"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("GET /api/v1/rules: %s: %v", resp.Status, err)
	}
	loaded := 0
	for _, g := range r.Data.Groups {
		if g.File == path {
			loaded++
		}
	}
	if loaded != groups {
		t.Fatalf("Prometheus at %s lists %d rule groups from %s after a reload, want %d: is it started with RECKON_PROM_RULES_DIR=%s (.ci/prometheus.sh)?",
			p.url, loaded, path, groups, dir)
	}
}

// reload asks Prometheus to reload its configuration and rule files.
func (p *promServer) reload() error {
	resp, err := http.PostForm(p.url+"/-/reload", url.Values{})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST /-/reload: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// dashScenario streams the scenario of TestDashboardsReturnData.
type dashScenario struct {
	model, predTopic, outTopic string
	start                      time.Time // event time of the first tick
	cl                         *kgo.Client
	rng                        *rand.Rand

	// Counts, read after run returns.
	ticks, predictions, outcomes, late, dead, misKeyed int

	mu       sync.Mutex
	firstErr error
}

func (s *dashScenario) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

func (s *dashScenario) produce(ctx context.Context, r *kgo.Record) {
	s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		if err != nil && ctx.Err() == nil {
			s.mu.Lock()
			if s.firstErr == nil {
				s.firstErr = err
			}
			s.mu.Unlock()
		}
	})
}

// run produces until ctx ends: each tick, one second of event time with
// dashPerTick predictions, the outcomes that fall due, and now and then a
// late event, a dead letter, a mis-keyed record, a duplicate and an orphan.
//
//   - Predictions: 1 in 25 fails (status error, no score or features); ok
//     ones have a uniform score and a latency of 5–85 ms, 1 in 100 400 ms
//     (above the 250ms latency SLO). Version v1, then v2 after the reference.
//   - Features: amount (numeric, min 0) and country (categorical) shift
//     after the reference, age and is_new do not; 1 in 20 has amount null
//     (missing), 1 in 50 a negative amount (range), 1 in 40 a string age
//     (type), 1 in 30 an undeclared feature.
//   - Outcomes: 9 in 10 ok predictions get one, 2–20 event seconds later,
//     labelled 1 with probability score; the rest expire after label_ttl.
func (s *dashScenario) run(ctx context.Context) {
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.cl.Flush(ctx)
	}()
	type due struct {
		id    string
		label int
	}
	pending := map[int][]due{}
	ticker := time.NewTicker(dashTick)
	defer ticker.Stop()
	pick := func(probs []float64, vals []string) string {
		u := s.rng.Float64()
		for i, p := range probs {
			if u < p {
				return vals[i]
			}
			u -= p
		}
		return vals[len(vals)-1]
	}
	// pred returns the i-th prediction, and its score (NaN for an error).
	pred := func(id, key string, ts time.Time, shifted bool, i int) (*kgo.Record, float64) {
		version := "v1"
		if shifted {
			version = "v2"
		}
		v := fmt.Appendf(nil, `{"prediction_id":%q,"model":%q,"model_version":%q,"timestamp":%d`, id, s.model, version, ts.UnixMilli())
		latency := 5 + 80*s.rng.Float64()
		if i%100 == 3 {
			latency = 400
		}
		if i%25 == 7 {
			return &kgo.Record{Topic: s.predTopic, Key: []byte(key),
				Value: fmt.Appendf(v, `,"status":"error","error":"timeout","latency_ms":%.3f}`, latency)}, math.NaN()
		}
		amount := fmt.Sprintf("%.2f", math.Exp(3+0.5*s.rng.NormFloat64()))
		country := pick([]float64{.5, .3, .2}, []string{"DE", "FR", "IT"})
		if shifted {
			amount = fmt.Sprintf("%.2f", math.Exp(3.8+0.5*s.rng.NormFloat64()))
			country = pick([]float64{.2, .3, .5}, []string{"DE", "FR", "IT"})
		}
		switch {
		case i%20 == 1:
			amount = "null"
		case i%50 == 2:
			amount = "-1"
		}
		age := fmt.Sprintf("%.1f", 40+10*s.rng.NormFloat64())
		if i%40 == 5 {
			age = `"old"`
		}
		extra := ""
		if i%30 == 4 {
			extra = `,"channel":"web"`
		}
		score := math.Round(s.rng.Float64()*1e4) / 1e4
		return &kgo.Record{Topic: s.predTopic, Key: []byte(key), Value: fmt.Appendf(v,
			`,"score":%g,"latency_ms":%.3f,"features":{"amount":%s,"age":%s,"country":%q,"is_new":%t%s}}`,
			score, latency, amount, age, country, s.rng.Float64() < 0.3, extra)}, score
	}
	outcome := func(id string, ts time.Time, label int) *kgo.Record {
		return &kgo.Record{Topic: s.outTopic, Key: []byte(id),
			Value: fmt.Appendf(nil, `{"prediction_id":%q,"model":%q,"timestamp":%d,"label":%d}`, id, s.model, ts.UnixMilli(), label)}
	}
	refEnd := s.start.Add(time.Minute)
	var lastOutcome due
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		s.ticks = tick + 1
		ts := s.start.Add(time.Duration(tick) * time.Second)
		shifted := !ts.Before(refEnd)
		for j := range dashPerTick {
			i := tick*dashPerTick + j
			id := fmt.Sprintf("%s-%d", s.model, i)
			r, score := pred(id, id, ts.Add(time.Duration(j)*time.Second/dashPerTick), shifted, i)
			s.produce(ctx, r)
			s.predictions++
			if math.IsNaN(score) || i%10 == 9 {
				continue // errors get no outcome; 1 in 10 ok ones expire
			}
			label := 0
			if s.rng.Float64() < score {
				label = 1
			}
			d := tick + 2 + s.rng.IntN(19)
			pending[d] = append(pending[d], due{id, label})
		}
		for _, o := range pending[tick] {
			s.produce(ctx, outcome(o.id, ts, o.label))
			s.outcomes++
			lastOutcome = o
		}
		delete(pending, tick)
		switch {
		case tick%20 == 10 && tick >= 100:
			// Late: an event ~minutes older than the watermark.
			id := fmt.Sprintf("%s-late-%d", s.model, tick)
			r, _ := pred(id, id, s.start, shifted, 11)
			s.produce(ctx, r)
			s.late++
		case tick%25 == 12:
			// Dead letters: not JSON, and a score that is a string.
			s.produce(ctx, &kgo.Record{Topic: s.predTopic, Key: fmt.Appendf(nil, "dead-%d", tick), Value: []byte("{not json")})
			s.produce(ctx, &kgo.Record{Topic: s.predTopic, Key: fmt.Appendf(nil, "dead-%d-b", tick), Value: fmt.Appendf(nil,
				`{"prediction_id":"dead-%d-b","model":%q,"timestamp":%d,"score":"high"}`, tick, s.model, ts.UnixMilli())})
			s.dead += 2
		case tick%30 == 14:
			// Mis-keyed: the key is not the prediction_id.
			id := fmt.Sprintf("%s-mis-%d", s.model, tick)
			r, _ := pred(id, "not-"+id, ts, shifted, 13)
			s.produce(ctx, r)
			s.misKeyed++
		case tick%30 == 16:
			// An orphan outcome, and duplicates of the tick's last
			// prediction and of the last outcome.
			s.produce(ctx, outcome(fmt.Sprintf("%s-orphan-%d", s.model, tick), ts, tick%2))
			id := fmt.Sprintf("%s-%d", s.model, (tick+1)*dashPerTick-1)
			r, _ := pred(id, id, ts, shifted, (tick+1)*dashPerTick-1)
			s.produce(ctx, r)
			if lastOutcome.id != "" {
				s.produce(ctx, outcome(lastOutcome.id, ts, 1-lastOutcome.label))
			}
			s.outcomes += 2
		}
	}
}
