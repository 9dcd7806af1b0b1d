package alerts

import (
	"slices"
	"strings"

	"github.com/reckonhq/reckon/exporter"
)

// Metric is a metric family that the rules and dashboards reckon ships may
// select: one of the catalogue (exporter.Catalogue), Prometheus's `up`, or
// a recording rule of this package.
type Metric struct {
	Name string
	Kind exporter.Kind
	// Labels are the family's own labels; the target labels job and
	// instance come on top of them, and `le` on a histogram's _bucket series.
	Labels []string
	// Rule is true for a recording rule of this package (not exported by
	// reckon itself, present only where the generated rules are loaded).
	Rule bool
}

// KnownMetrics returns every metric name that the rules and dashboards
// reckon ships may use: the exporter's catalogue, Prometheus's `up`, and
// the recording rules this package defines. The result is a new slice,
// sorted by name, that the caller may keep. Package alerts/promqlcheck
// checks every shipped query against it.
func KnownMetrics() []Metric {
	var ms []Metric
	for _, m := range exporter.Catalogue() {
		ms = append(ms, Metric{Name: m.Name, Kind: m.Kind, Labels: m.Labels})
	}
	// Added by Prometheus to every scrape.
	ms = append(ms, Metric{Name: "up", Kind: exporter.Gauge})
	ms = append(ms, recordingRules()...)
	slices.SortFunc(ms, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// LookupMetric returns the known metric (KnownMetrics) that a series name
// belongs to: the metric itself, or the histogram whose _bucket, _sum or
// _count series it is. The second result reports whether name is a
// histogram's _bucket series, which carries the extra label `le`.
func LookupMetric(name string) (m Metric, bucket, ok bool) {
	known := KnownMetrics()
	find := func(n string) (Metric, bool) {
		i, found := slices.BinarySearchFunc(known, n, func(m Metric, n string) int { return strings.Compare(m.Name, n) })
		if !found {
			return Metric{}, false
		}
		return known[i], true
	}
	if m, ok := find(name); ok {
		return m, false, true
	}
	for _, s := range [...]string{"_bucket", "_sum", "_count"} { // a classic histogram's series
		base, cut := strings.CutSuffix(name, s)
		if !cut {
			continue
		}
		if m, ok := find(base); ok && m.Kind == exporter.Histogram {
			return m, s == "_bucket", true
		}
	}
	return Metric{}, false, false
}
