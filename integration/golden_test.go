package integration

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/results"
)

// goldenConfig is the configuration of TestGoldenSignalsEndToEnd; %s are
// the topics and group.
const goldenConfig = `
kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s
  results_topic: %s
windows: [1m, 5m]
allowed_lateness: 0s
idle_timeout: 2s
max_clock_skew: 0s
models:
  - name: fraud
    threshold: 0.5
    features:
      - {name: amount, type: numeric, min: 0}
      - {name: age, type: numeric, min: 18, max: 120}
      - {name: country, type: categorical, categories: [DE, FR, US]}
      - {name: is_new, type: categorical}
  - name: churn
    threshold: 0.3
`

// truth is the expected outcome of a scenario, tallied by the test from
// what it sends, independently of reckon's code.
type truth struct {
	consumed    map[string]float64 // topic=
	predictions map[string]float64 // model=,model_version=,status=
	violations  map[string]float64 // model=,feature=,kind=
	dead        map[string]float64 // topic=,reason= (non-zero only)
	latencies   []float64          // seconds
	scores      int
	windows     map[string]results.Record // model/window/start
	deadRecords []*kgo.Record             // as produced, with partition and offset
	deadReasons []string
}

func (tr *truth) window(model, win string, length time.Duration, t time.Time) *results.Record {
	start := t.Truncate(length)
	k := model + "/" + win + "/" + start.Format(time.RFC3339)
	r, ok := tr.windows[k]
	if !ok {
		r = results.Record{Model: model, Window: win, Start: start, End: start.Add(length)}
	}
	tr.windows[k] = r
	return &r
}

func (tr *truth) addToWindows(model string, t time.Time, f func(r *results.Record)) {
	for _, w := range []struct {
		text string
		l    time.Duration
	}{{"1m", time.Minute}, {"5m", 5 * time.Minute}} {
		r := tr.window(model, w.text, w.l, t)
		f(r)
		tr.windows[model+"/"+w.text+"/"+r.Start.Format(time.RFC3339)] = *r
	}
}

// TestGoldenSignalsEndToEnd produces a known mix of valid and invalid
// records into Kafka, runs reckon as a process, and checks every golden
// signal series, the dead-letter topic and the results topic exactly.
func TestGoldenSignalsEndToEnd(t *testing.T) {
	group := uniqueName("golden")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	deadTopic, resTopic := group+"-dead", group+"-results"
	createTopics(t, 3, predTopic, outTopic)

	tr := &truth{
		consumed:    map[string]float64{},
		predictions: map[string]float64{},
		violations:  map[string]float64{},
		dead:        map[string]float64{},
		windows:     map[string]results.Record{},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var preds, outs []*kgo.Record
	var badReasons []string // parallel to the bad records in preds/outs, by position below

	violation := func(model, feature, kind string) {
		tr.violations["model="+model+",feature="+feature+",kind="+kind]++
	}
	for i := range 600 {
		ts := t0.Add(time.Duration(i) * time.Second)
		model, version := "fraud", "v"+strconv.Itoa(1+i%2)
		if i%3 == 0 {
			model = "churn"
		}
		id := fmt.Sprintf("pred-%04d", i)
		var b strings.Builder
		fmt.Fprintf(&b, `{"prediction_id":%q,"model":%q,"model_version":%q`, id, model, version)
		if i%2 == 0 {
			fmt.Fprintf(&b, `,"timestamp":%q`, ts.Format(time.RFC3339Nano))
		} else {
			fmt.Fprintf(&b, `,"timestamp":%d`, ts.UnixMilli())
		}
		status := "ok"
		if i%17 == 0 {
			status = "error"
			b.WriteString(`,"status":"error","error":"timeout"`)
		}
		lat := float64(i%50) + 0.5
		if i%7 != 0 {
			fmt.Fprintf(&b, `,"latency_ms":%g`, lat)
			tr.latencies = append(tr.latencies, lat/1000)
		}
		if status == "ok" {
			fmt.Fprintf(&b, `,"score":%g`, float64(i%100)/100)
			tr.scores++
			if model == "fraud" {
				// Feature cases by i: each declared feature is missing,
				// mistyped or out of range in a known pattern.
				b.WriteString(`,"features":{`)
				var fs []string
				switch {
				case i%5 == 0:
					violation(model, "amount", "missing")
				case i%5 == 1:
					fs = append(fs, `"amount":"12.5"`)
					violation(model, "amount", "type")
				case i%5 == 2:
					fs = append(fs, `"amount":-3`)
					violation(model, "amount", "range")
				default:
					fs = append(fs, `"amount":`+strconv.Itoa(i))
				}
				if i%11 == 0 {
					fs = append(fs, `"age":null`)
					violation(model, "age", "missing")
				} else {
					fs = append(fs, `"age":`+strconv.Itoa(18+i%90))
				}
				switch {
				case i%13 == 0:
					fs = append(fs, `"country":"BR"`)
					violation(model, "country", "new_category")
				case i%13 == 1:
					fs = append(fs, `"country":42`)
					violation(model, "country", "type")
				default:
					fs = append(fs, `"country":"`+[]string{"DE", "FR", "US"}[i%3]+`"`)
				}
				fs = append(fs, `"is_new":`+strconv.FormatBool(i%4 == 0))
				if i%10 == 0 {
					fs = append(fs, `"shoe_size":44`, `"ref":"x"`)
					violation(model, "_undeclared", "unknown_feature")
					violation(model, "_undeclared", "unknown_feature")
				}
				b.WriteString(strings.Join(fs, ","))
				b.WriteString(`}`)
			}
		}
		b.WriteString(`}`)
		preds = append(preds, &kgo.Record{Topic: predTopic, Key: []byte(id), Value: []byte(b.String())})
		tr.predictions["model="+model+",model_version="+version+",status="+status]++
		tr.addToWindows(model, ts, func(r *results.Record) {
			r.Predictions++
			if status == "error" {
				r.Errors++
			}
		})

		if status == "ok" && i%4 == 0 {
			ot := ts.Add(30 * time.Second)
			label := "0"
			if i%8 == 0 {
				label = "true"
			}
			v := fmt.Sprintf(`{"prediction_id":%q,"model":%q,"timestamp":%q,"label":%s}`, id, model, ot.Format(time.RFC3339), label)
			outs = append(outs, &kgo.Record{Topic: outTopic, Key: []byte(id), Value: []byte(v)})
			tr.addToWindows(model, ot, func(r *results.Record) { r.Outcomes++ })
		}
	}

	// Dead letters: each with the reason reckon must give.
	bad := []struct {
		topic, value, reason string
	}{
		{predTopic, `{"prediction_id":"b1","model":"fraud"`, "invalid_json"},
		{predTopic, `{"prediction_id":"b2","model":"fraud","timestamp":1767225600000,"score":"0.9"}`, "wrong_type"},
		{predTopic, `{"prediction_id":"b3","model":"nope","timestamp":1767225600000,"score":0.9}`, "unknown_model"},
		{predTopic, `{"prediction_id":"b4","model":"fraud","score":0.9}`, "missing_field"},
		{predTopic, "{\"prediction_id\":\"b5\xff\",\"model\":\"fraud\",\"timestamp\":1767225600000,\"score\":0.9}", "invalid_utf8"},
		{predTopic, `{"prediction_id":"b6","model":"fraud","timestamp":1767225600000,"score":1.5}`, "invalid_value"},
		{predTopic, `["not","an","object"]`, "invalid_json"},
		{outTopic, `{"prediction_id":"pred-0000","model":"churn","timestamp":"2026-01-01T00:00:30Z","label":"maybe"}`, "bad_label"},
		{outTopic, `not json at all`, "invalid_json"},
	}
	for _, b := range bad {
		r := &kgo.Record{Topic: b.topic, Key: []byte("bad-key"), Value: []byte(b.value),
			Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}}
		tr.deadRecords = append(tr.deadRecords, r)
		badReasons = append(badReasons, b.reason)
		tr.dead["topic="+b.topic+",reason="+b.reason]++
		if b.topic == predTopic {
			preds = append(preds, r)
		} else {
			outs = append(outs, r)
		}
	}
	tr.deadReasons = badReasons

	// Sentinels: one valid prediction and outcome per partition an hour
	// later, so that the watermark of every partition passes every window
	// above; their own windows stay open.
	sentinel := t0.Add(time.Hour)
	tr.predictions["model=churn,model_version=,status=ok"] += 3
	tr.consumed["topic="+predTopic] = float64(len(preds) + 3)
	tr.consumed["topic="+outTopic] = float64(len(outs) + 3)
	tr.consumed["topic="+group+"-rekey"] = 0 // every record is keyed by its prediction_id

	prod := newClient(t, kgo.DefaultProduceTopic(predTopic))
	produceSync(t, prod, append(preds, outs...)...)
	produceSentinels(t, predTopic, outTopic, 3, "churn", sentinel)

	// Drop the windows that the sentinels' watermark does not close.
	for k, r := range tr.windows {
		if r.End.After(sentinel) {
			delete(tr.windows, k)
		}
	}

	p := startReckon(t, fmt.Sprintf(goldenConfig, group, predTopic, outTopic, deadTopic, resTopic))
	total := tr.consumed["topic="+predTopic] + tr.consumed["topic="+outTopic]
	mfs := p.waitFor(t, 60*time.Second, "every record consumed and every window closed", func(m map[string]*dto.MetricFamily) bool {
		var consumed, closed float64
		for _, v := range series(m, "reckon_records_consumed_total", "topic") {
			consumed += v
		}
		for _, v := range series(m, "reckon_windows_closed_total", "model", "window") {
			closed += v
		}
		return consumed == total && closed == float64(len(tr.windows))
	})

	compare(t, "reckon_records_consumed_total", series(mfs, "reckon_records_consumed_total", "topic"), tr.consumed)
	compare(t, "reckon_predictions_total", series(mfs, "reckon_predictions_total", "model", "model_version", "status"), tr.predictions)
	compare(t, "reckon_schema_violations_total", series(mfs, "reckon_schema_violations_total", "model", "feature", "kind"), tr.violations)
	gotDead := series(mfs, "reckon_dead_letter_total", "topic", "reason")
	for k, v := range gotDead {
		if v == 0 {
			delete(gotDead, k) // pre-created zero series
		}
	}
	compare(t, "reckon_dead_letter_total", gotDead, tr.dead)
	if got := series(mfs, "reckon_late_events_total", "model"); len(got) != 0 {
		t.Errorf("late events %v, want none", got)
	}
	for _, topic := range []string{predTopic, outTopic} {
		for part := range 3 {
			if v, ok := value(mfs, "reckon_consumer_lag_records", map[string]string{"topic": topic, "partition": strconv.Itoa(part)}); !ok || v != 0 {
				t.Errorf("consumer lag of %s/%d = %v (present %v), want 0", topic, part, v, ok)
			}
		}
	}
	if _, ok := value(mfs, "reckon_build_info", map[string]string{}); !ok {
		t.Error("reckon_build_info missing")
	}
	checkHistogram(t, mfs, "reckon_prediction_latency_seconds", tr.latencies, exporter.LatencyBuckets)
	if got := histogramCount(mfs, "reckon_prediction_score"); got != uint64(tr.scores) {
		t.Errorf("reckon_prediction_score count = %d, want %d", got, tr.scores)
	}

	// The dead-letter topic: every bad record, byte for byte, with where it
	// came from and why.
	deadRecs := readTopic(t, deadTopic, len(tr.deadRecords), 30*time.Second)
	if len(deadRecs) != len(tr.deadRecords) {
		t.Fatalf("dead-letter topic holds %d records, want %d", len(deadRecs), len(tr.deadRecords))
	}
	for i, want := range tr.deadRecords {
		var got *kgo.Record
		for _, r := range deadRecs {
			if bytes.Equal(r.Value, want.Value) && header(r, "reckon.source.topic") == want.Topic {
				got = r
			}
		}
		if got == nil {
			t.Errorf("dead letter %q missing", want.Value)
			continue
		}
		if !bytes.Equal(got.Key, want.Key) || header(got, "origin") != "test" {
			t.Errorf("dead letter %q: key %q, origin header %q", want.Value, got.Key, header(got, "origin"))
		}
		if header(got, "reckon.source.partition") != strconv.Itoa(int(want.Partition)) ||
			header(got, "reckon.source.offset") != strconv.FormatInt(want.Offset, 10) {
			t.Errorf("dead letter %q: source %s/%s, want partition %d offset %d", want.Value,
				header(got, "reckon.source.partition"), header(got, "reckon.source.offset"), want.Partition, want.Offset)
		}
		if e := header(got, "reckon.error"); !strings.HasPrefix(e, tr.deadReasons[i]+": ") {
			t.Errorf("dead letter %q: reckon.error %q, want reason %s", want.Value, e, tr.deadReasons[i])
		}
	}

	// The results topic: every closed window once, with exact counts.
	resRecs := readTopic(t, resTopic, len(tr.windows), 30*time.Second)
	got := map[string]results.Record{}
	for _, r := range resRecs {
		rec, err := results.Unmarshal(r.Value)
		if err != nil {
			t.Fatalf("results record %q: %v", r.Value, err)
		}
		k := rec.Model + "/" + rec.Window + "/" + rec.Start.Format(time.RFC3339)
		if _, dup := got[k]; dup {
			t.Errorf("window %s published twice", k)
		}
		if string(r.Key) != rec.Model {
			t.Errorf("results record key %q, want the model %q", r.Key, rec.Model)
		}
		got[k] = *rec
	}
	if len(got) != len(tr.windows) {
		t.Errorf("results topic holds %d windows, want %d", len(got), len(tr.windows))
	}
	for k, want := range tr.windows {
		g, ok := got[k]
		if !ok {
			t.Errorf("window %s missing from the results topic", k)
			continue
		}
		if !g.End.Equal(want.End) || g.Predictions != want.Predictions || g.Errors != want.Errors || g.Outcomes != want.Outcomes {
			t.Errorf("window %s = %+v, want %+v", k, g, want)
		}
	}
	for _, model := range []string{"fraud", "churn"} {
		var last time.Time
		for _, r := range tr.windows {
			if r.Model == model && r.Window == "5m" && r.End.After(last) {
				last = r.End
			}
		}
		v, _ := value(mfs, "reckon_window_end_timestamp_seconds", map[string]string{"model": model, "window": "5m"})
		if want := float64(last.Unix()); v != want {
			t.Errorf("reckon_window_end_timestamp_seconds{model=%s,window=5m} = %v, want %v", model, v, want)
		}
	}
}

func compare(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s{%s} = %v, want %v", name, k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s{%s} = %v, want no such series", name, k, g)
		}
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func histogramCount(mfs map[string]*dto.MetricFamily, name string) uint64 {
	var n uint64
	for _, m := range mfs[name].GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// checkHistogram compares a histogram's count, sum and every classic
// bucket with the observations the test made.
func checkHistogram(t *testing.T, mfs map[string]*dto.MetricFamily, name string, obs []float64, buckets []float64) {
	t.Helper()
	var count uint64
	var sum float64
	got := make([]uint64, len(buckets))
	for _, m := range mfs[name].GetMetric() {
		h := m.GetHistogram()
		count += h.GetSampleCount()
		sum += h.GetSampleSum()
		for i, b := range h.GetBucket() {
			if i < len(buckets) { // the text format adds +Inf
				got[i] += b.GetCumulativeCount()
			}
		}
	}
	var wantSum float64
	for _, o := range obs {
		wantSum += o
	}
	if count != uint64(len(obs)) || math.Abs(sum-wantSum) > 1e-9*wantSum {
		t.Errorf("%s count %d sum %v, want %d and %v", name, count, sum, len(obs), wantSum)
	}
	for i, le := range buckets {
		want := uint64(0)
		for _, o := range obs {
			if o <= le {
				want++
			}
		}
		if got[i] != want {
			t.Errorf("%s bucket le=%g = %d, want %d", name, le, got[i], want)
		}
	}
}
