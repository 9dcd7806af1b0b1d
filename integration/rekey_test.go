package integration

import (
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
)

const rekeyConfig = `
kafka:
  group: %[1]s
  predictions_topic: %[1]s-predictions
  outcomes_topic: %[1]s-outcomes
  dead_letter_topic: %[1]s-dead
  results_topic: %[1]s-results
windows: [1m]
allowed_lateness: 5m
idle_timeout: 60s
max_clock_skew: 0s
models:
  - name: m
`

// TestMisKeyedRecordsStillJoin produces predictions keyed by something
// other than their prediction_id, so that most land in another partition
// than their outcome (docs/events.md): each must still join, through the
// re-key topic, and be counted.
func TestMisKeyedRecordsStillJoin(t *testing.T) {
	group := uniqueName("rekey")
	const parts, n = 4, 400
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	createTopics(t, parts, predTopic, outTopic)
	murmur2 := kgo.StickyKeyPartitioner(nil).ForTopic(predTopic)
	partition := func(key string) int { return murmur2.Partition(&kgo.Record{Key: []byte(key)}, parts) }

	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var preds, outs []*kgo.Record
	moved := 0
	for i := range n {
		id, key := fmt.Sprintf("id-%04d", i), fmt.Sprintf("session-%04d", i*7)
		if partition(id) != partition(key) {
			moved++
		}
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		preds = append(preds, &kgo.Record{Topic: predTopic, Key: []byte(key), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"m","timestamp":%d,"score":0.7}`, id, ts.UnixMilli())})
		outs = append(outs, &kgo.Record{Topic: outTopic, Key: []byte(id), Value: fmt.Appendf(nil,
			`{"prediction_id":%q,"model":"m","timestamp":%d,"label":1}`, id, ts.Add(time.Second).UnixMilli())})
	}
	if moved == 0 || moved == n {
		t.Fatalf("%d of %d predictions move partition: the test needs some of both", moved, n)
	}
	produceSync(t, newClient(t), append(preds, outs...)...)

	p := startReckon(t, fmt.Sprintf(rekeyConfig, group))
	mfs := p.waitFor(t, 60*time.Second, "every outcome joined", func(m map[string]*dto.MetricFamily) bool {
		v, _ := value(m, "reckon_outcomes_total", map[string]string{"model": "m", "result": "joined"})
		return v == n
	})
	compare(t, "reckon_rekeyed_records_total", series(mfs, "reckon_rekeyed_records_total", "topic"),
		map[string]float64{"topic=" + predTopic: float64(moved)})
	compare(t, "reckon_miskeyed_records_total", series(mfs, "reckon_miskeyed_records_total", "topic"),
		map[string]float64{"topic=" + predTopic: n})
	compare(t, "reckon_records_consumed_total", series(mfs, "reckon_records_consumed_total", "topic"), map[string]float64{
		"topic=" + predTopic: n, "topic=" + outTopic: n, "topic=" + group + "-rekey": float64(moved),
	})
	compare(t, "reckon_predictions_total", series(mfs, "reckon_predictions_total", "model", "status"),
		map[string]float64{"model=m,status=ok": n})
	if v, _ := value(mfs, "reckon_confusion_total", map[string]string{"model": "m", "outcome": "tp"}); v != n {
		t.Errorf("reckon_confusion_total{tp} = %v, want %d", v, n)
	}
	t.Logf("%d of %d mis-keyed predictions were re-keyed to another partition; all joined", moved, n)
}
