package consumer

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
)

// TestStreamReferenceLivesWithItsModel is the regression test of a bug the
// exactly-once tests found: every merger built every model's stream
// reference, so mergers that never saw the model's panes completed an empty
// reference and broadcast a nil calibrator that could overwrite the real
// one, making estimates depend on arrival order.
func TestStreamReferenceLivesWithItsModel(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(`
windows: [1m]
models:
  - name: fraud
    reference: {from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z"}
    features: [{name: x, type: numeric}]
  - name: churn
    features: [{name: x, type: numeric}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := New(cfg, exporter.New(prometheus.NewRegistry(), "test", 0), WithLogger(slog.New(slog.DiscardHandler)))
	p.partitions, p.modelPartition = 4, []int32{2, 0}
	for part := range int32(4) {
		m := newMerger(p, part)
		if got, want := m.refs[0] != nil, part == 2; got != want {
			t.Errorf("merger %d has fraud's stream reference: %v, want %v", part, got, want)
		}
		if m.refs[1] != nil {
			t.Errorf("merger %d has a reference for churn, which has none", part)
		}
	}
}
