package exporter

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/metrics.md from the catalogue")

// metricsDoc is the generated reference of every metric.
const metricsDoc = "../docs/metrics.md"

// TestMetricsDocUpToDate checks that docs/metrics.md is what the catalogue
// makes of it now; `go test ./exporter -update` rewrites it.
func TestMetricsDocUpToDate(t *testing.T) {
	got := catalogueMarkdown()
	if *update {
		if err := os.WriteFile(metricsDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatalf("%v (run `go test ./exporter -update` to generate it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: it differs from what the catalogue (exporter/catalogue.go) makes now; run `go test ./exporter -update` and review the diff", metricsDoc)
	}
}

func catalogueMarkdown() []byte {
	var b bytes.Buffer
	b.WriteString(`# Metrics

<!-- Generated from exporter/catalogue.go by ` + "`go test ./exporter -update`" + `; do not edit. -->

Every metric reckon exports, as declared once in its catalogue
(exporter/catalogue.go). The rules and dashboards reckon ships are checked
against the same catalogue (alerts/promqlcheck): names, labels, and that
rate() and friends take counters, deriv() and friends gauges. The names and
labels are reckon's public interface: they change only with a changelog entry.

Units are base units (seconds, ratios 0..1). No sample carries a
timestamp. Every series also has the target labels job and instance;
histograms have classic buckets (le) and native ones.

Scope says where a series comes from:

- **process**: this process's committed work, or the process itself;
  counters start at zero when the process starts.
- **aggregator**: kept by the member that aggregates the model (the owner
  of its partials partition); deleted when it stops aggregating it.
- **window**: the most recently closed window of the model and window
  length, read off that window's record of the results topic
  ([results.md](results.md)). A value the record leaves out (a rate with
  a zero denominator, drift before the reference is complete) has no
  series, rather than 0 or NaN. Deleted like aggregator series.

A label marked *capped* takes its values from input data: each model
exports at most ` + "`max_model_versions`" + ` (default 100) distinct
values of it; further values are counted under the value
` + "`" + Overflow + "`" + ` and in reckon_label_overflow_total{model,label}. The
configuration key series_limit (default 10000) stays as a global backstop
on the series of such labels over all models; updates beyond it are
dropped and counted in reckon_series_dropped_total.

The label segment splits a model's per-window figures by the values of its
segment features (the model's ` + "`segments`" + `, see
[configuration.md](configuration.md)): ` + "`<feature>=<value>`" + ` for a value kept
apart and ` + "`<feature>=other`" + ` for the rest, at most ` + "`max_values`" + ` values
plus other per feature, so its series are bounded by the configuration
whatever the data; the predictions under other for want of room are
reckon_segment_overflow. The model as a whole has an empty segment, which
Prometheus stores as no label: select it with ` + "`segment=\"\"`" + `.
`)
	for _, s := range []struct {
		scope Scope
		title string
	}{
		{ScopeProcess, "Process"},
		{ScopeAggregator, "Aggregator"},
		{ScopeWindow, "Per closed window"},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n| metric | type | labels | meaning |\n|---|---|---|---|\n", s.title)
		for _, m := range Catalogue() {
			if m.Scope != s.scope {
				continue
			}
			labels := make([]string, len(m.Labels))
			for i, l := range m.Labels {
				labels[i] = l
				if l == m.Capped {
					labels[i] += " (capped)"
				}
			}
			help := m.Help
			if len(m.Buckets) > 0 {
				bs := make([]string, len(m.Buckets))
				for i, v := range m.Buckets {
					bs[i] = strconv.FormatFloat(v, 'g', 6, 64) // ScoreBuckets carry float noise
				}
				help += " Classic buckets: " + strings.Join(bs, ", ") + "."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.Name, m.Kind, strings.Join(labels, ", "), strings.ReplaceAll(help, "|", `\|`))
		}
	}
	return b.Bytes()
}
