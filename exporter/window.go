package exporter

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/results"
)

// windowCollector exports the per-window metrics (ScopeWindow) of the
// latest results record of each model and window length. It turns a record
// into its samples once, when applied, and replaces the window's previous
// samples as a whole: a scrape sees one window's figures or the next's,
// never a mix, and a value the new record lacks is gone, with no delete
// list to keep in step with the metrics.
type windowCollector struct {
	metrics []Metric
	descs   []*prometheus.Desc // per metric

	mu      sync.RWMutex
	samples map[windowKey][]prometheus.Metric
}

type windowKey struct{ model, window string }

func newWindowCollector(ms []Metric) *windowCollector {
	c := &windowCollector{metrics: ms, samples: make(map[windowKey][]prometheus.Metric)}
	for _, m := range ms {
		if m.Kind != Gauge || m.window == nil {
			panic("exporter: per-window metric " + m.Name + " must be a gauge with a window reader")
		}
		c.descs = append(c.descs, prometheus.NewDesc(m.Name, m.Help, m.Labels, nil))
	}
	return c
}

// apply replaces the samples of rec's model and window with rec's. A sample
// whose label values do not fit its metric (a catalogue bug) becomes an
// invalid metric, which fails gathering with a clear error rather than
// panicking.
func (c *windowCollector) apply(rec *results.Record) {
	var ss []prometheus.Metric
	for i, m := range c.metrics {
		d := c.descs[i]
		m.window(rec, func(v float64, lvs ...string) {
			s, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, lvs...)
			if err != nil {
				s = prometheus.NewInvalidMetric(d, err)
			}
			ss = append(ss, s)
		})
	}
	c.mu.Lock()
	c.samples[windowKey{rec.Model, rec.Window}] = ss
	c.mu.Unlock()
}

func (c *windowCollector) forget(model string) {
	c.mu.Lock()
	for k := range c.samples {
		if k.model == model {
			delete(c.samples, k)
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

// Collect implements prometheus.Collector.
func (c *windowCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ss := range c.samples {
		for _, s := range ss {
			ch <- s
		}
	}
}
