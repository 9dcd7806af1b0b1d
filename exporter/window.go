package exporter

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/results"
)

// windowCollector exports the per-window metrics (ScopeWindow) from the
// latest results record of each model and window length. Keeping the
// record, rather than one gauge per series, means a scrape sees one
// window's figures or the next's, never a mix; a value the new record lacks
// is gone, with no delete list to keep in step with the metrics.
type windowCollector struct {
	metrics []Metric
	descs   []*prometheus.Desc // per metric

	mu   sync.RWMutex
	recs map[windowKey]*results.Record
}

type windowKey struct{ model, window string }

func newWindowCollector(ms []Metric) *windowCollector {
	c := &windowCollector{metrics: ms, recs: make(map[windowKey]*results.Record)}
	for _, m := range ms {
		if m.Kind != Gauge || m.window == nil {
			panic("exporter: per-window metric " + m.Name + " must be a gauge with a window reader")
		}
		c.descs = append(c.descs, prometheus.NewDesc(m.Name, m.Help, m.Labels, nil))
	}
	return c
}

func (c *windowCollector) apply(rec *results.Record) {
	c.mu.Lock()
	c.recs[windowKey{rec.Model, rec.Window}] = rec
	c.mu.Unlock()
}

func (c *windowCollector) forget(model string) {
	c.mu.Lock()
	for k := range c.recs {
		if k.model == model {
			delete(c.recs, k)
		}
	}
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *windowCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A sample whose label values do
// not fit its metric (a catalogue bug) is sent as an invalid metric, which
// fails the scrape's gathering with a clear error rather than panicking.
func (c *windowCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, m := range c.metrics {
		d := c.descs[i]
		emit := func(v float64, lvs ...string) {
			s, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, lvs...)
			if err != nil {
				s = prometheus.NewInvalidMetric(d, err)
			}
			ch <- s
		}
		for _, r := range c.recs {
			m.window(r, emit)
		}
	}
}
