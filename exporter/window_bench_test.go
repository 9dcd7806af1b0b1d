package exporter

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/results"
)

// benchRecords are 3 models × 2 window lengths, each with 10 features (5
// numeric, 5 categorical) and every field set: about the bench generator's
// fleet.
func benchRecords() []*results.Record {
	var rs []*results.Record
	for mi := range 3 {
		for _, w := range []string{"5m", "1h"} {
			r := fullRecord()
			r.Model, r.Window = fmt.Sprintf("model%d", mi), w
			num, cat := r.Features["amount"], r.Features["country"]
			r.Features = map[string]results.Feature{}
			for fi := range 5 {
				r.Features[fmt.Sprintf("num%d", fi)] = num
				r.Features[fmt.Sprintf("cat%d", fi)] = cat
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// BenchmarkApplyWindow is the cost of one closed window's metrics: its
// samples are built here, once.
func BenchmarkApplyWindow(b *testing.B) {
	m := New(prometheus.NewRegistry(), "bench", 0)
	rs := benchRecords()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.ApplyWindow(rs[i%len(rs)])
		i++
	}
}

// BenchmarkGatherWindows is a scrape of the per-window metrics of
// benchRecords (the window collector alone, as the registry gathers it).
func BenchmarkGatherWindows(b *testing.B) {
	c := newWindowCollector(perWindow)
	for _, r := range benchRecords() {
		c.apply(r)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
