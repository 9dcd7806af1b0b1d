package integration

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/exporter"
)

// promConfig is the configuration of TestPrometheusScrapesGoldenSignals;
// %s are the group and topics.
const promConfig = `
kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s
  results_topic: %s
windows: [1m]
allowed_lateness: 10s
idle_timeout: 2s
max_clock_skew: 0s
models:
  - name: fraud
    threshold: 0.5
`

// The stream of TestPrometheusScrapesGoldenSignals: streamRate predictions
// per second for streamSeconds, produced streamBatch at a time.
const (
	streamRate    = 200
	streamSeconds = 20
	streamBatch   = 2
	streamTotal   = streamRate * streamSeconds
	// rateRange is the range of the rate() query, evaluated rateAt into
	// the stream.
	rateRange = 10 * time.Second
	rateAt    = 15 * time.Second
)

// streamPrediction returns the i-th prediction of the stream: its value, and
// what the test expects from it: whether it is an error, and its latency in
// seconds (NaN when it reports none).
func streamPrediction(i int, ts time.Time) (value []byte, isError bool, latency float64) {
	// Latencies k/2 + 0.25 ms never fall on a bucket boundary, so that the
	// expected bucket of each does not hinge on float rounding; one in 40
	// is a slow 1.8 s, above p95's bucket; one in 9 reports no latency.
	latencyMS := math.NaN()
	switch {
	case i%9 == 4:
	case i%40 == 0:
		latencyMS = 1800.25
	default:
		latencyMS = float64((i*7919)%1000)/2 + 0.25
	}
	isError = i%23 == 5
	v := fmt.Appendf(nil, `{"prediction_id":"p-%d","model":"fraud","model_version":"v1","timestamp":%d`, i, ts.UnixMilli())
	if isError {
		v = append(v, `,"status":"error","error":"timeout"`...)
	} else {
		v = fmt.Appendf(v, `,"score":%g`, float64(i%100)/100)
	}
	if !math.IsNaN(latencyMS) {
		v = fmt.Appendf(v, `,"latency_ms":%g`, latencyMS)
	}
	return append(v, '}'), isError, latencyMS / 1000
}

// TestPrometheusScrapesGoldenSignals lets a real Prometheus scrape reckon
// while predictions stream in at a known rate, and checks through
// Prometheus' HTTP API that the golden-signal queries a user writes (rate
// of predictions, error ratio, p95 latency) give what the test computes
// from what it produced.
//
// Totals, ratios of totals and quantiles of the final histogram are exact:
// they are functions of counts, and reckon's counters count every
// committed record exactly. A rate is not: rate() divides the increase of
// a counter between the first and last samples in its range by their
// distance and extrapolates to the range's edges, and those samples are
// taken at scrape times (every 1s, jittered) that are not aligned with when
// records were produced, while reckon's counters advance in steps, once per
// committed batch (every poll, up to 500ms). So the rate is checked within
// a tolerance, against the rate at which the test produced over the same
// range.
func TestPrometheusScrapesGoldenSignals(t *testing.T) {
	prom := promEnv(t)
	group := uniqueName("prom")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	createTopics(t, 3, predTopic, outTopic)

	p := startReckon(t, fmt.Sprintf(promConfig, group, predTopic, outTopic, group+"-dead", group+"-results"))
	instance := uniqueName("reckon-prom")
	prom.promTarget(t, p.addr, instance)
	sel := fmt.Sprintf(`instance=%q`, instance)
	waitProm(t, 20*time.Second, fmt.Sprintf("up{%s} == 1 (reckon at %s scraped through %s)", sel, p.addr, prom.sdFile), func() (bool, string) {
		v, ok := prom.queryValue(t, "up{"+sel+"}", time.Now())
		return ok && v == 1, fmt.Sprintf("%v (present %v)", v, ok)
	})

	// Stream: streamBatch records every tick, so streamRate per second.
	cl := newClient(t, kgo.DefaultProduceTopic(predTopic), kgo.ProducerLinger(0))
	var (
		errMu      sync.Mutex
		produceErr error
		nErrors    int
		latencies  []float64
		sentAt     []time.Time // when each tick's records were handed to the producer
	)
	ticker := time.NewTicker(time.Second * streamBatch / streamRate)
	start := time.Now()
	for i := 0; i < streamTotal; {
		now := <-ticker.C
		for range streamBatch {
			v, isErr, lat := streamPrediction(i, now)
			if isErr {
				nErrors++
			}
			if !math.IsNaN(lat) {
				latencies = append(latencies, lat)
			}
			cl.Produce(t.Context(), &kgo.Record{Key: fmt.Appendf(nil, "p-%d", i), Value: v}, func(_ *kgo.Record, err error) {
				if err != nil {
					errMu.Lock()
					produceErr = err
					errMu.Unlock()
				}
			})
			sentAt = append(sentAt, now)
			i++
		}
	}
	ticker.Stop()
	if err := cl.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	errMu.Lock()
	err := produceErr
	errMu.Unlock()
	if err != nil {
		t.Fatalf("producing the stream: %v", err)
	}
	t.Logf("produced %d predictions in %v (%d errors, %d latencies)", streamTotal, time.Since(start).Round(time.Millisecond), nErrors, len(latencies))

	// reckon has counted everything, then Prometheus has scraped it: from
	// then on every query below is evaluated at that one time, final.
	p.waitFor(t, 20*time.Second, fmt.Sprintf("reckon to count all %d predictions", streamTotal), func(m map[string]*dto.MetricFamily) bool {
		var n float64
		for _, v := range series(m, "reckon_predictions_total", "model", "model_version", "status") {
			n += v
		}
		return n == streamTotal && histogramCount(m, "reckon_prediction_latency_seconds") == uint64(len(latencies))
	})
	totalQ := fmt.Sprintf(`sum(reckon_predictions_total{%s})`, sel)
	countQ := fmt.Sprintf(`sum(reckon_prediction_latency_seconds_count{%s})`, sel)
	var final time.Time
	waitProm(t, 15*time.Second, "Prometheus to scrape the final counts", func() (bool, string) {
		final = time.Now()
		n, _ := prom.queryValue(t, totalQ, final)
		c, _ := prom.queryValue(t, countQ, final)
		return n == streamTotal && c == float64(len(latencies)),
			fmt.Sprintf("%s = %v (want %d), %s = %v (want %d)", totalQ, n, streamTotal, countQ, c, len(latencies))
	})

	// The target is up and says which reckon it is.
	if v, ok := prom.queryValue(t, "up{"+sel+"}", final); !ok || v != 1 {
		t.Errorf("up{%s} = %v (present %v), want 1", sel, v, ok)
	}
	if v, ok := prom.queryValue(t, "reckon_build_info{"+sel+"}", final); !ok || v != 1 {
		t.Errorf("reckon_build_info{%s} = %v (present %v), want 1", sel, v, ok)
	}

	// Total: exact.
	if v, _ := prom.queryValue(t, totalQ, final); v != streamTotal {
		t.Errorf("%s = %v, want exactly %d, the number produced", totalQ, v, streamTotal)
	}

	// Error ratio: exact, a ratio of two exact counts.
	ratioQ := fmt.Sprintf(`sum(reckon_predictions_total{status="error",%s}) / sum(reckon_predictions_total{%s})`, sel, sel)
	wantRatio := float64(nErrors) / float64(streamTotal)
	if v, ok := prom.queryValue(t, ratioQ, final); !ok || math.Abs(v-wantRatio) > 1e-12 {
		t.Errorf("error ratio %s = %v (present %v), want %v (%d errors of %d)", ratioQ, v, ok, wantRatio, nErrors, streamTotal)
	}

	// p95 latency: Prometheus' interpolation over the classic buckets,
	// against the same interpolation over the buckets the test expects.
	wantBuckets := cumulativeBuckets(latencies, exporter.LatencyBuckets)
	bucketsQ := fmt.Sprintf(`sum by (le) (reckon_prediction_latency_seconds_bucket{%s})`, sel)
	res, err := prom.query(bucketsQ, final)
	if err != nil {
		t.Fatal(err)
	}
	gotBuckets := map[float64]float64{}
	for _, s := range res {
		le, err := strconv.ParseFloat(s.Metric["le"], 64)
		if err != nil {
			t.Fatalf("%s: bad le %q", bucketsQ, s.Metric["le"])
		}
		gotBuckets[le] = s.Value
	}
	if len(gotBuckets) != len(wantBuckets) {
		t.Errorf("%s: %d buckets %v, want %d", bucketsQ, len(gotBuckets), sortedBuckets(gotBuckets), len(wantBuckets))
	}
	for _, b := range wantBuckets {
		if got, ok := gotBuckets[b.le]; !ok || got != b.count {
			t.Errorf("%s{le=%g} = %v (present %v), want %v", bucketsQ, b.le, got, ok, b.count)
		}
	}
	p95Q := fmt.Sprintf(`histogram_quantile(0.95, %s)`, bucketsQ)
	wantP95 := classicQuantile(0.95, wantBuckets)
	if v, ok := prom.queryValue(t, p95Q, final); !ok || math.Abs(v-wantP95) > 1e-9 {
		t.Errorf("p95 latency %s = %v (present %v), want %v", p95Q, v, ok, wantP95)
	} else {
		t.Logf("%s = %v s, error ratio %v", p95Q, v, wantRatio)
	}

	// Rate of predictions, in the middle of the stream: within a tolerance
	// (see above) of the rate produced over the same range.
	at := start.Add(rateAt)
	var inRange int
	for _, s := range sentAt {
		if s.After(at.Add(-rateRange)) && !s.After(at) {
			inRange++
		}
	}
	wantRate := float64(inRange) / rateRange.Seconds()
	rateQ := fmt.Sprintf(`sum(rate(reckon_predictions_total{%s}[%s]))`, sel, rateRange)
	if v, ok := prom.queryValue(t, rateQ, at); !ok || math.Abs(v-wantRate) > 0.25*wantRate {
		t.Errorf("%s at %s (%v into the stream) = %v (present %v), want %v ± 25%% (nominal %d/s)",
			rateQ, at.Format(time.RFC3339Nano), rateAt, v, ok, wantRate, streamRate)
	} else {
		t.Logf("%s at %v into the stream = %.2f/s, produced %.2f/s", rateQ, rateAt, v, wantRate)
	}
}

func sortedBuckets(m map[float64]float64) []promBucket {
	var out []promBucket
	for le, c := range m {
		out = append(out, promBucket{le, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}
