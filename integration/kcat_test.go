package integration

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kcatConfig is the configuration of TestKcatProducerInterop; %s are the
// group and topics.
const kcatConfig = `
kafka:
  group: %s
  predictions_topic: %s
  outcomes_topic: %s
  dead_letter_topic: %s
  results_topic: %s
windows: [1m]
allowed_lateness: 0s
idle_timeout: 2s
max_clock_skew: 0s
models:
  - name: fraud
    threshold: 0.5
    features:
      - {name: amount, type: numeric, min: 0}
`

// TestKcatProducerInterop produces predictions and outcomes with kcat, i.e.
// librdkafka, the client most model servers outside the JVM and Go use,
// configured as docs/events.md asks (partitioner=murmur2_random, Kafka's
// default partitioner), into co-partitioned topics. It checks that every
// key's prediction and outcome land in the same partition number, the one
// franz-go's (and the Java client's) default partitioner picks, and that
// reckon consumes and counts every record exactly.
func TestKcatProducerInterop(t *testing.T) {
	kcat := kcatPath(t)
	const partitions = 4
	group := uniqueName("kcat")
	predTopic, outTopic := group+"-predictions", group+"-outcomes"
	controlTopic := group + "-control"
	createTopics(t, partitions, predTopic, outTopic, controlTopic)

	// The records, with the counts reckon must report.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 400
	var predLines, outLines []string
	predValues, outValues := map[string]string{}, map[string]string{}
	wantPredictions := map[string]float64{}
	for i := range n {
		id := fmt.Sprintf("kc-%d-%x", i, i*2654435761)
		ts := t0.Add(time.Duration(i) * time.Second)
		version := "v" + fmt.Sprint(1+i%3)
		status := "ok"
		var v string
		if i%13 == 0 {
			status = "error"
			v = fmt.Sprintf(`{"prediction_id":%q,"model":"fraud","model_version":%q,"timestamp":%q,"status":"error","error":"timeout","latency_ms":%d}`,
				id, version, ts.Format(time.RFC3339Nano), 100+i)
		} else {
			v = fmt.Sprintf(`{"prediction_id":%q,"model":"fraud","model_version":%q,"timestamp":%d,"features":{"amount":%d},"score":%g,"latency_ms":%g}`,
				id, version, ts.UnixMilli(), i, float64(i%100)/100, float64(i%40)+0.5)
			o := fmt.Sprintf(`{"prediction_id":%q,"model":"fraud","timestamp":%q,"label":%d}`, id, ts.Add(30*time.Second).Format(time.RFC3339), i%2)
			outLines = append(outLines, id+"\t"+o)
			outValues[id] = o
		}
		predLines = append(predLines, id+"\t"+v)
		predValues[id] = v
		wantPredictions["model=fraud,model_version="+version+",status="+status]++
	}

	kcatProduce(t, kcat, predTopic, true, predLines)
	kcatProduce(t, kcat, outTopic, true, outLines)

	// Read back what kcat wrote, with franz-go, to learn the partitions
	// librdkafka chose; compare with the partition franz-go's default
	// partitioner (murmur2, as Java's) chooses for the same key.
	franz := kgo.StickyKeyPartitioner(nil).ForTopic(predTopic)
	murmur2 := func(key string) int32 {
		return int32(franz.Partition(&kgo.Record{Key: []byte(key)}, partitions))
	}
	predParts := readPartitions(t, predTopic, predValues)
	outParts := readPartitions(t, outTopic, outValues)
	used := map[int32]bool{}
	var mismatches int
	for id := range predValues {
		want := murmur2(id)
		used[want] = true
		if got := predParts[id]; got != want {
			mismatches++
			t.Errorf("prediction %s: kcat chose partition %d, franz-go's default (murmur2) partitioner %d", id, got, want)
		}
		if _, ok := outValues[id]; !ok {
			continue
		}
		if got := outParts[id]; got != predParts[id] {
			mismatches++
			t.Errorf("key %s: prediction in partition %d but outcome in partition %d: the topics are not co-partitioned", id, predParts[id], got)
		}
		if mismatches > 10 {
			t.Fatal("too many partition mismatches; stopping")
		}
	}
	if len(used) != partitions {
		t.Errorf("the keys fall into %d of %d partitions; the test needs keys in every partition", len(used), partitions)
	}

	// Negative control: librdkafka's default partitioner (consistent_random,
	// a CRC32 of the key) scatters the same keys differently, which is why
	// docs/events.md asks librdkafka producers for murmur2_random. Without
	// that setting the check above must fail, or it proves nothing.
	kcatProduce(t, kcat, controlTopic, false, predLines)
	ctrlParts := readPartitions(t, controlTopic, predValues)
	var differ, crcAgrees int
	for id := range predValues {
		if ctrlParts[id] != murmur2(id) {
			differ++
		}
		if ctrlParts[id] == int32(crc32.ChecksumIEEE([]byte(id))%partitions) {
			crcAgrees++
		}
	}
	if differ == 0 {
		t.Errorf("kcat's default partitioner put all %d keys where murmur2 does; the co-partitioning check above cannot tell the partitioners apart", n)
	}
	t.Logf("negative control: with librdkafka's default partitioner %d of %d keys land elsewhere than with murmur2 (%d where CRC32 puts them)", differ, n, crcAgrees)

	// reckon consumes every record kcat produced and counts it.
	p := startReckon(t, fmt.Sprintf(kcatConfig, group, predTopic, outTopic, group+"-dead", group+"-results"))
	wantConsumed := map[string]float64{
		"topic=" + predTopic:        float64(len(predLines)),
		"topic=" + outTopic:         float64(len(outLines)),
		"topic=" + group + "-rekey": 0, // kcat keyed every record by its prediction_id
	}
	total := float64(len(predLines) + len(outLines))
	mfs := p.waitFor(t, 30*time.Second, fmt.Sprintf("reckon to consume all %v records kcat produced", total), func(m map[string]*dto.MetricFamily) bool {
		var consumed float64
		for _, v := range series(m, "reckon_records_consumed_total", "topic") {
			consumed += v
		}
		return consumed >= total
	})
	compare(t, "reckon_records_consumed_total", series(mfs, "reckon_records_consumed_total", "topic"), wantConsumed)
	compare(t, "reckon_predictions_total", series(mfs, "reckon_predictions_total", "model", "model_version", "status"), wantPredictions)
	for k, v := range series(mfs, "reckon_miskeyed_records_total", "topic") {
		if v != 0 {
			t.Errorf("reckon_miskeyed_records_total{%s} = %v, want 0: kcat's keys are the prediction_ids", k, v)
		}
	}
	for k, v := range series(mfs, "reckon_dead_letter_total", "topic", "reason") {
		if v != 0 {
			t.Errorf("reckon_dead_letter_total{%s} = %v, want 0: every record kcat produced is valid", k, v)
		}
	}
	// Co-partitioned by librdkafka's murmur2, every outcome meets its
	// prediction inside reckon.
	if v, _ := value(mfs, "reckon_outcomes_total", map[string]string{"model": "fraud", "result": "joined"}); v != float64(len(outLines)) {
		t.Errorf("reckon_outcomes_total{result=joined} = %v, want %d: every outcome should join its prediction", v, len(outLines))
	}
}

// kcatPath returns the kcat binary. Without one the test fails under
// CI=true (CI installs Debian's kcat) and is skipped elsewhere.
func kcatPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but kcat is not on PATH (%v): CI must run the librdkafka interoperability test; .ci/run installs Debian's kcat", err)
		}
		t.Skipf("skipping: kcat is not on PATH (%v); install it (Debian: apt-get install kcat) to test producing with librdkafka", err)
	}
	return path
}

// kcatProduce produces lines ("key\tvalue") to topic with kcat, reading
// them from stdin; with murmur2 it uses librdkafka's Java-compatible
// partitioner, else librdkafka's default.
func kcatProduce(t *testing.T, kcat, topic string, murmur2 bool, lines []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	args := []string{"-P", "-b", strings.Join(brokers, ","), "-t", topic, "-K", `\t`,
		"-m", "15", "-X", "message.timeout.ms=30000", "-X", "acks=all"}
	if murmur2 {
		args = append(args, "-X", "partitioner=murmur2_random")
	}
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Logf("kcat %s:\n%s", strings.Join(args, " "), s)
	}
}

// readPartitions reads topic back with franz-go and returns the partition
// of each record by key, checking that the records are exactly want (key →
// value), each once.
func readPartitions(t *testing.T, topic string, want map[string]string) map[string]int32 {
	t.Helper()
	recs := readTopic(t, topic, len(want), 30*time.Second)
	parts := make(map[string]int32, len(recs))
	for _, r := range recs {
		k := string(r.Key)
		if _, dup := parts[k]; dup {
			t.Errorf("%s: key %q twice", topic, k)
		}
		parts[k] = r.Partition
		if w, ok := want[k]; !ok {
			t.Errorf("%s: unexpected record, key %q", topic, k)
		} else if string(r.Value) != w {
			t.Errorf("%s: key %q has value %q, want %q", topic, k, r.Value, w)
		}
	}
	if len(parts) != len(want) {
		t.Fatalf("%s: read back %d distinct keys of the %d kcat produced", topic, len(parts), len(want))
	}
	return parts
}
