package alerts

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/exporter"
)

// TestKnownMetricsAreExported compares KnownMetrics with what the exporter
// registers: every reckon_* family it lists is exported with exactly those
// labels, and every family reckon exports is listed.
func TestKnownMetricsAreExported(t *testing.T) {
	m := exporter.New(prometheus.NewRegistry(), "test", 0)
	ch := make(chan *prometheus.Desc, 256)
	go func() { m.Describe(ch); close(ch) }()
	// Desc has no accessors; its String form is stable within client_golang.
	re := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	exported := map[string][]string{}
	for d := range ch {
		sm := re.FindStringSubmatch(d.String())
		if sm == nil {
			t.Fatalf("cannot read descriptor %s", d)
		}
		var labels []string
		if sm[2] != "" {
			labels = strings.Split(sm[2], ",")
		}
		slices.Sort(labels)
		exported[sm[1]] = labels
	}
	listed := map[string]bool{}
	for _, k := range KnownMetrics() {
		if k.Rule || !strings.HasPrefix(k.Name, "reckon_") {
			continue
		}
		listed[k.Name] = true
		labels, ok := exported[k.Name]
		if !ok {
			t.Errorf("%s is in KnownMetrics but reckon does not export it", k.Name)
			continue
		}
		want := slices.Clone(k.Labels)
		slices.Sort(want)
		if !slices.Equal(labels, want) {
			t.Errorf("%s: exported with labels %v, KnownMetrics says %v", k.Name, labels, want)
		}
	}
	for name := range exported {
		if !listed[name] {
			t.Errorf("reckon exports %s, which KnownMetrics does not list", name)
		}
	}
}
