// Package exporter defines reckon's Prometheus metrics (docs/metrics.md) on an
// explicit registry, and serves them over HTTP with /healthz and /readyz.
//
// Every metric is declared once, in the catalogue (Catalogue,
// catalogue.go): name, help, kind, labels, buckets and scope. Metrics is
// built from it; the rules and dashboards are checked against it (package
// alerts/promqlcheck); docs/metrics.md is generated from it. The metrics
// of a closed window are read off its results record (ApplyWindow), so
// adding one is one catalogue entry plus, if the record lacks it, a field
// of results.Record.
//
// Labels whose values come from input data (model_version) are capped per
// model, with the rest folded into Overflow and counted, behind the global
// series_limit backstop.
//
// Nothing here is on the per-event path: partition workers count into plain
// per-batch structures, and the processor's coordinator applies those counts
// to the metrics below once the batch is committed, so exported counters
// advance only with committed work.
package exporter

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/reckonhq/reckon/results"
)

// Metrics are reckon's metrics, built from the catalogue (Catalogue). The
// fields are the metrics the processor updates directly; use the Add
// methods for the ones with a series budget (Predictions,
// SchemaViolations), ApplyWindow for everything per closed window, and
// ForgetModel when this member stops aggregating a model.
//
// The fields and ApplyWindow are safe for concurrent use with scrapes;
// the Add methods, ApplyWindow and ForgetModel are called from one
// goroutine (the processor's loop).
type Metrics struct {
	Registry *prometheus.Registry

	Predictions      *prometheus.CounterVec // model, model_version, status: use AddPredictions
	Latency          *BatchHistogramVec     // model
	Score            *BatchHistogramVec     // model
	RecordsConsumed  *prometheus.CounterVec // topic
	DeadLetters      *prometheus.CounterVec // topic, reason
	ConsumerLag      *prometheus.GaugeVec   // topic, partition
	SchemaViolations *prometheus.CounterVec // model, feature, kind: use AddSchemaViolations
	LateEvents       *prometheus.CounterVec // model
	MisKeyed         *prometheus.CounterVec // topic
	Rekeyed          *prometheus.CounterVec // topic
	SeriesDropped    prometheus.Counter
	LabelOverflow    *prometheus.CounterVec // model, label
	WindowsClosed    *prometheus.CounterVec // model, window: ApplyWindow counts
	Ready            prometheus.Gauge
	Assigned         prometheus.Gauge

	// The delayed-label join, live.
	Outcomes             *prometheus.CounterVec // model, result = joined | duplicate | orphaned
	Expired              *prometheus.CounterVec // model
	DuplicatePredictions *prometheus.CounterVec // model
	LabelDelay           *BatchHistogramVec     // model
	Confusion            *prometheus.CounterVec // model, outcome = tp | fp | tn | fn
	BusinessCost         *prometheus.CounterVec // model
	Pending              prometheus.Gauge
	StateBytes           *prometheus.GaugeVec   // where = memory | disk
	StateWritten         *prometheus.CounterVec // topic
	ConceptDriftActive   *prometheus.GaugeVec   // model, detector
	ConceptDrifts        *prometheus.CounterVec // model, detector
	ReferenceComplete    *prometheus.GaugeVec   // model
	CalibrationError     *prometheus.GaugeVec   // model, scores = raw | calibrated
	CalibrationShift     *prometheus.GaugeVec   // model, metric
	CalibrationMatters   *prometheus.GaugeVec   // model

	limit    int                 // series_limit; 0 = unlimited
	series   map[string]struct{} // the series admitted under limit
	versions valueCap            // model_version per model

	byID    [numIDs]prometheus.Collector
	windows *windowCollector
}

// Option configures Metrics.
type Option func(*Metrics)

// WithMaxModelVersions caps the distinct model_version values exported per
// model at n (0, the default, is no cap): a model's further versions are
// counted under model_version="_other" (Overflow) and in
// reckon_label_overflow_total{label="model_version"}, so that one model's
// junk versions cannot use up series_limit for every model.
func WithMaxModelVersions(n int) Option { return func(m *Metrics) { m.versions.max = n } }

// New registers the catalogue's metrics, the Go and process collectors, and
// reckon_build_info on reg. seriesLimit caps the number of label sets of
// the metrics with input-data labels, over all models (0 = unlimited): a
// global backstop behind the per-model caps of the options; a refused
// update is counted in reckon_series_dropped_total.
func New(reg *prometheus.Registry, version string, seriesLimit int, opts ...Option) *Metrics {
	m := &Metrics{Registry: reg, limit: seriesLimit, series: make(map[string]struct{})}
	for _, o := range opts {
		o(m)
	}
	m.Predictions = m.counterVec(Predictions)
	m.Latency = m.histogram(PredictionLatency)
	m.Score = m.histogram(PredictionScore)
	m.Outcomes = m.counterVec(Outcomes)
	m.Expired = m.counterVec(PredictionsExpired)
	m.LabelDelay = m.histogram(LabelDelay)
	m.Confusion = m.counterVec(Confusion)
	m.WindowsClosed = m.counterVec(WindowsClosed)
	m.ConceptDriftActive = m.gaugeVec(ConceptDriftActive)
	m.ConceptDrifts = m.counterVec(ConceptDrifts)
	m.SchemaViolations = m.counterVec(SchemaViolations)
	m.RecordsConsumed = m.counterVec(RecordsConsumed)
	m.DeadLetters = m.counterVec(DeadLetters)
	m.LateEvents = m.counterVec(LateEvents)
	m.ConsumerLag = m.gaugeVec(ConsumerLag)
	m.Pending = m.gauge(Pending)
	m.StateBytes = m.gaugeVec(StateBytes)
	m.StateWritten = m.counterVec(StateWritten)
	m.gaugeVec(BuildInfo).WithLabelValues(version, runtime.Version()).Set(1)
	m.Ready = m.gauge(Ready)
	m.Assigned = m.gauge(AssignedPartitions)
	m.MisKeyed = m.counterVec(MisKeyed)
	m.Rekeyed = m.counterVec(Rekeyed)
	m.SeriesDropped = m.counter(SeriesDropped)
	m.LabelOverflow = m.counterVec(LabelOverflow)
	m.DuplicatePredictions = m.counterVec(DuplicatePredictions)
	m.BusinessCost = m.counterVec(BusinessCost)
	m.ReferenceComplete = m.gaugeVec(ReferenceComplete)
	m.CalibrationError = m.gaugeVec(ReferenceCalibrationError)
	m.CalibrationShift = m.gaugeVec(ReferenceCalibrationShift)
	m.CalibrationMatters = m.gaugeVec(ReferenceCalibrationMatters)
	for id, c := range m.byID {
		if c == nil {
			panic(fmt.Sprintf("exporter: catalogue metric %s has no field in Metrics", ID(id)))
		}
	}
	m.windows = newWindowCollector(perWindow)
	reg.MustRegister(m.windows)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// register records c as id's collector and registers it, checking that the
// catalogue declares the kind the field has.
func (m *Metrics) register(id ID, kind Kind, c prometheus.Collector) {
	if d := live[id]; d.Kind != kind {
		panic(fmt.Sprintf("exporter: %s is a %s in the catalogue, built as a %s", d.Name, d.Kind, kind))
	}
	m.byID[id] = c
	m.Registry.MustRegister(c)
}

func (m *Metrics) counterVec(id ID) *prometheus.CounterVec {
	d := live[id]
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: d.Help}, d.Labels)
	m.register(id, Counter, c)
	return c
}

func (m *Metrics) counter(id ID) prometheus.Counter {
	d := live[id]
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: d.Name, Help: d.Help})
	m.register(id, Counter, c)
	return c
}

func (m *Metrics) gaugeVec(id ID) *prometheus.GaugeVec {
	d := live[id]
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: d.Name, Help: d.Help}, d.Labels)
	m.register(id, Gauge, g)
	return g
}

func (m *Metrics) gauge(id ID) prometheus.Gauge {
	d := live[id]
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: d.Name, Help: d.Help})
	m.register(id, Gauge, g)
	return g
}

// histogram builds a histogram with the catalogue's classic buckets and
// native ones (factor 1.1). Histograms are observed a committed transaction
// at a time, so in batches: see BatchHistogramVec, whose output is
// client_golang's.
func (m *Metrics) histogram(id ID) *BatchHistogramVec {
	d := live[id]
	h := NewBatchHistogramVec(prometheus.HistogramOpts{
		Name: d.Name, Help: d.Help, Buckets: d.Buckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, d.Labels)
	m.register(id, Histogram, h)
	return h
}

// Describe sends the descriptors of every catalogue metric, whether or not
// it has series yet.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.byID {
		c.Describe(ch)
	}
	m.windows.Describe(ch)
}

// AddModel creates model's reckon_label_overflow_total series at zero, one
// per capped label, so that increase() sees its first fold and dashboards
// show that nothing was folded.
func (m *Metrics) AddModel(model string) {
	for _, d := range live {
		if d.Capped != "" {
			m.LabelOverflow.WithLabelValues(model, d.Capped)
		}
	}
}

// AddPredictions adds n prediction events of model with the given
// model_version and status. A version beyond the model's cap
// (WithMaxModelVersions) is counted under Overflow and in
// reckon_label_overflow_total; folded reports that, and stays true for that
// version from then on, so the caller may forget it. An update refused by
// series_limit is counted in reckon_series_dropped_total.
func (m *Metrics) AddPredictions(model, version, status string, n uint64) (folded bool) {
	if !m.versions.admit(model, version) {
		version, folded = Overflow, true
		m.LabelOverflow.WithLabelValues(model, live[Predictions].Capped).Add(float64(n))
	}
	if m.allowed(Predictions, model, version, status) {
		m.Predictions.WithLabelValues(model, version, status).Add(float64(n))
	}
	return folded
}

// AddSchemaViolations adds n schema violations of kind for a feature of
// model, within series_limit.
func (m *Metrics) AddSchemaViolations(model, feature, kind string, n uint64) {
	if m.allowed(SchemaViolations, model, feature, kind) {
		m.SchemaViolations.WithLabelValues(model, feature, kind).Add(float64(n))
	}
}

// allowed reports whether a series of metric id with the given label
// values may be created or updated, admitting new series only while fewer
// than series_limit exist. A refused update is counted in
// reckon_series_dropped_total. It is called per batch, not per event.
func (m *Metrics) allowed(id ID, labels ...string) bool {
	if m.limit <= 0 {
		return true
	}
	var b strings.Builder
	b.WriteString(live[id].Name)
	for _, l := range labels {
		b.WriteByte(0)
		b.WriteString(l)
	}
	k := b.String()
	if _, ok := m.series[k]; ok {
		return true
	}
	if len(m.series) >= m.limit {
		m.SeriesDropped.Inc()
		return false
	}
	m.series[k] = struct{}{}
	return true
}

// valueCap admits at most max distinct values of one label per model (0:
// no cap). The first values seen are kept for the life of the process, as
// their counters are: which ones those are depends on arrival order, so two
// members may fold different versions.
type valueCap struct {
	max  int
	seen map[string]map[string]struct{} // model → admitted values
}

// admit reports whether value is (or now becomes) one of model's admitted
// values.
func (c *valueCap) admit(model, value string) bool {
	if c.max <= 0 {
		return true
	}
	vs := c.seen[model]
	if _, ok := vs[value]; ok {
		return true
	}
	if len(vs) >= c.max {
		return false
	}
	if vs == nil {
		if c.seen == nil {
			c.seen = make(map[string]map[string]struct{})
		}
		vs = make(map[string]struct{})
		c.seen[model] = vs
	}
	vs[value] = struct{}{}
	return true
}

// ApplyWindow makes a closed window's results record what the per-window
// metrics (ScopeWindow) of its model and window length show, replacing the
// previous window's, and counts it in reckon_windows_closed_total. Series
// of values that rec leaves out disappear. rec is read, not kept.
func (m *Metrics) ApplyWindow(rec *results.Record) {
	m.windows.apply(rec)
	m.WindowsClosed.WithLabelValues(rec.Model, rec.Window).Inc()
}

// ForgetModel deletes the series of model that only the member aggregating
// it exports (ScopeAggregator and ScopeWindow): this member no longer does.
func (m *Metrics) ForgetModel(model string) {
	m.windows.forget(model)
	l := prometheus.Labels{"model": model}
	for id, c := range m.byID {
		if live[id].Scope != ScopeAggregator {
			continue
		}
		c.(interface {
			DeletePartialMatch(prometheus.Labels) int
		}).DeletePartialMatch(l)
	}
}

// Version is reckon's version as stamped in the binary's build info.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
