package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/event"
)

// TestRunTiny runs the whole driver on a tiny input against the embedded
// Kafka (and KAFKA_BROKERS when set) and checks the report's invariants. It
// asserts no timings: only that every record was counted by both phases,
// that the figures are sane, and that the JSON round-trips.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Kafka")
	}
	o := Defaults()
	o.Events = 60_000 // a few batches after the first: the ratio is not all noise
	o.Partitions = 2
	o.LatencyDuration = time.Second
	o.LatencyRate = 2000
	o.ProbeRate = 20
	o.PhaseTimeout = 2 * time.Minute
	o.Profile = false // go test -cpuprofile may own the profiler; breakdown is tested below
	if b := os.Getenv("KAFKA_BROKERS"); b != "" {
		o.Brokers = strings.Split(b, ",")
	}
	var log bytes.Buffer
	o.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if want := 1 + len(o.Brokers); len(r.Targets) != want {
		t.Fatalf("%d targets, want %d", len(r.Targets), want)
	}
	if got := r.Params.Predictions + r.Params.Outcomes; got != uint64(o.Events) {
		t.Errorf("generated %d predictions + %d outcomes, want %d records", r.Params.Predictions, r.Params.Outcomes, o.Events)
	}
	if r.Params.Outcomes == 0 {
		t.Error("no outcomes generated: the join is not exercised")
	}
	for _, tg := range r.Targets {
		for _, ph := range []*Phase{&tg.Ceiling, &tg.Full} {
			if ph.Events != uint64(o.Events) {
				t.Errorf("%s %s: counted %d records, want %d", tg.Kafka, ph.Name, ph.Events, o.Events)
			}
			if ph.DeadLetters != 0 {
				t.Errorf("%s %s: %d dead letters, want 0", tg.Kafka, ph.Name, ph.DeadLetters)
			}
			if !(ph.EventsPerSec > 0) || ph.Measured == 0 || ph.Measured > ph.Events {
				t.Errorf("%s %s: %g records/s over %d of %d records", tg.Kafka, ph.Name, ph.EventsPerSec, ph.Measured, ph.Events)
			}
			if ph.PeakHeapInuse == 0 || ph.PeakSys < ph.PeakHeapInuse {
				t.Errorf("%s %s: peak heap %d, Sys %d", tg.Kafka, ph.Name, ph.PeakHeapInuse, ph.PeakSys)
			}
		}
		// The ratio itself is a timing, which a test must not bound (on 60k
		// records a noisy machine has made it exceed 1.5); only its
		// definition is checked.
		if want := tg.Full.EventsPerSec / tg.Ceiling.EventsPerSec; !(tg.Ratio > 0) || math.Abs(tg.Ratio-want) > 1e-9*want {
			t.Errorf("%s: full/ceiling = %g, want %g (full %g / ceiling %g records/s)", tg.Kafka, tg.Ratio, want, tg.Full.EventsPerSec, tg.Ceiling.EventsPerSec)
		}
		// Probes still invisible 10s after the phase can only be a machine
		// far too busy; some must have been seen.
		if l := tg.Latency; l == nil || l.Probes == 0 || l.Seen == 0 || l.Seen > l.Probes || !(l.P50Ms > 0) || l.P99Ms < l.P50Ms || l.MaxMs < l.P99Ms {
			t.Errorf("%s: latency %+v: want probes seen, 0 < p50 <= p99 <= max", tg.Kafka, l)
		} else if l.Seen < l.Probes {
			t.Logf("%s: only %d of %d probes seen", tg.Kafka, l.Seen, l.Probes)
		}
	}
	if j := r.Join; j.Pending == 0 || j.Held < j.Pending || !(j.BytesPerPending > 0) {
		t.Errorf("join memory %+v", j)
	}
	if s := r.Sketch; s.Predictions == 0 || len(s.Features) != len(o.Traffic.Models[0].Features) || !(s.NumericMean > 0) || !(s.CategoricalMean > 0) {
		t.Errorf("sketch sizes %+v", s)
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not decode: %v", err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("JSON does not round-trip:\n%s", js.String())
	}
	var table bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"records/s", "full/ceiling", "latency produce → /metrics", "bytes per pending prediction", "sketch per feature"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	t.Logf("\n%s", table.String())
}

// TestBreakdown checks the profile reader on a real CPU profile.
func TestBreakdown(t *testing.T) {
	m := startMeter("busy", true, os.Stderr)
	if !m.profiling {
		m.finish(0, "")
		t.Skip("the CPU profiler is in use")
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x += len(strings.Repeat("x", 100))
	}
	ph := m.finish(1000, "")
	b := ph.CPU
	if b == nil || b.Samples == 0 || !(b.Seconds > 0) || len(b.Top) == 0 {
		t.Fatalf("breakdown %+v", b)
	}
	var share float64
	for _, c := range b.Components {
		share += c.Share
	}
	if share < 0.999 || share > 1.001 {
		t.Errorf("shares add up to %g", share)
	}
	found := false
	for _, f := range b.Top {
		found = found || strings.HasPrefix(f.Name, "strings.") || strings.HasPrefix(f.Name, "runtime.")
	}
	if !found {
		t.Errorf("top functions %+v lack the busy loop's", b.Top)
	}
}

func TestPercentileAndProbes(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(xs, 0.5); p != 5 {
		t.Errorf("p50 = %g", p)
	}
	if p := percentile(xs, 0.99); p != 10 {
		t.Errorf("p99 = %g", p)
	}
	body := "# HELP x\nreckon_predictions_total{model=\"probe\",model_version=\"p12\",status=\"ok\"} 1\n" +
		"reckon_predictions_total{model=\"model-0\",model_version=\"v12\",status=\"ok\"} 9\n"
	if got := probeSeqs(body); !reflect.DeepEqual(got, []int{12}) {
		t.Errorf("probeSeqs = %v", got)
	}
}

// TestMeterInterval checks the measured interval: from the first count
// observed to the observation of the final one (later work, such as the
// full pipeline's last commit, is not measured), or the whole phase when
// there was a single count.
func TestMeterInterval(t *testing.T) {
	for _, tc := range []struct {
		name         string
		counts       []uint64
		final        uint64
		wantMeasured uint64
	}{
		{"batches", []uint64{100, 200, 300}, 300, 200},
		{"repeated counts", []uint64{100, 100, 250, 250, 300}, 300, 200},
		{"one count", []uint64{300}, 300, 300},
		{"stopped short", []uint64{100, 200}, 250, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMeter(tc.name, false, io.Discard)
			for _, n := range tc.counts {
				m.observe(n)
			}
			first, last := m.first, m.last
			time.Sleep(5 * time.Millisecond) // a final commit, say
			ph := m.finish(tc.final, "")
			if ph.Measured != tc.wantMeasured {
				t.Errorf("measured %d, want %d", ph.Measured, tc.wantMeasured)
			}
			if ph.Counts != len(slices.Compact(slices.Clone(tc.counts))) {
				t.Errorf("counts %d, want the distinct counts of %v", ph.Counts, tc.counts)
			}
			if want := last.t.Sub(first.t).Seconds(); tc.final == last.n && len(tc.counts) > 1 && ph.Seconds != want {
				t.Errorf("the interval is %gs, want %gs: from the first count to the last", ph.Seconds, want)
			}
		})
	}
}

func TestValidateRejectsNegativeCommitInterval(t *testing.T) {
	o := Defaults()
	o.CommitInterval = -time.Second
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "commit interval") {
		t.Errorf("Validate = %v, want a commit interval error", err)
	}
}

// TestComponentRulesMatchFunctionNames checks the profile rules against the
// names the runtime gives the functions they are about, so that moving a
// package cannot silently move CPU to another component.
func TestComponentRulesMatchFunctionNames(t *testing.T) {
	name := func(fn any) string { return runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name() }
	ceiling, decode := name((*ceilPart).process), name((*event.Decoder).DecodePrediction)
	for _, tc := range []struct {
		stack []string
		want  string
	}{
		{[]string{decode, ceiling, "runtime.goexit"}, "ceiling: decode"},
		{[]string{"runtime.memmove", ceiling}, "ceiling: other"},
		{[]string{name(runCeiling)}, "bench harness"},
		{[]string{decode, name((*consumer.Processor).Run), name(runFull)}, "reckon loop"},
	} {
		if got := componentRules[componentOf(strings.Join(tc.stack, "\n"))].name; got != tc.want {
			t.Errorf("%q is attributed to %q, want %q", tc.stack, got, tc.want)
		}
	}
}

// TestNotesFlagStaleTaskRule checks that a full-pipeline profile without a
// sample under the partition tasks is called out, and one with is not.
func TestNotesFlagStaleTaskRule(t *testing.T) {
	stale := func(comps ...string) bool {
		tg := &Target{Kafka: "k", Full: Phase{Seconds: 100, CPU: &CPUBreakdown{Samples: 10}}}
		for _, c := range comps {
			tg.Full.CPU.Components = append(tg.Full.CPU.Components, Component{Name: c})
		}
		for _, n := range notes(&Report{Targets: []*Target{tg}}) {
			if strings.Contains(n, "no longer match") {
				return true
			}
		}
		return false
	}
	if !stale("reckon loop", "franz-go client") {
		t.Error("a profile with no task samples is not flagged")
	}
	if stale("reckon worker: decode", "reckon loop") {
		t.Error("a profile with task samples is flagged")
	}
}

// TestRunPending runs a tiny --pending run on kfake: the backlog is held
// and counted, both catch-ups measured, the state directory measured, and
// both restarts come back ready with the backlog.
func TestRunPending(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Kafka")
	}
	o := Defaults()
	o.Pending = SmallPending + 20_000
	o.Events = 20_000
	o.Partitions = 2
	o.Traffic.LabelTTL = 720 * time.Hour
	o.LatencyDuration = time.Second
	o.LatencyRate = 1000
	o.PhaseTimeout = 2 * time.Minute
	o.Profile = false
	var log bytes.Buffer
	o.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	p := r.Targets[0].PendingRun
	if p == nil {
		t.Fatal("no pending report")
	}
	if p.PendingAfter < float64(o.Pending) {
		t.Errorf("reckon_pending_predictions %v, want at least the backlog's %d", p.PendingAfter, o.Pending)
	}
	for _, ph := range []*Phase{&p.LoadSmall, &p.AtSmall, &p.LoadBig, &p.AtBig} {
		if ph.DeadLetters != 0 || !(ph.EventsPerSec > 0) {
			t.Errorf("%s: %g records/s, %d dead letters", ph.Name, ph.EventsPerSec, ph.DeadLetters)
		}
	}
	if want := [4]uint64{SmallPending, 20_000, 20_000, 20_000}; [4]uint64{p.LoadSmall.Events, p.AtSmall.Events, p.LoadBig.Events, p.AtBig.Events} != want {
		t.Errorf("phases counted %d, %d, %d, %d records, want %v", p.LoadSmall.Events, p.AtSmall.Events, p.LoadBig.Events, p.AtBig.Events, want)
	}
	if p.Ratio != p.AtBig.EventsPerSec/p.AtSmall.EventsPerSec {
		t.Errorf("ratio %g is not %g / %g", p.Ratio, p.AtBig.EventsPerSec, p.AtSmall.EventsPerSec)
	}
	if !(p.AtBigJoin > 0) || p.StateDirBytes <= 0 || p.DiskBytesPerPending != float64(p.StateDirBytes)/p.PendingAfter {
		t.Errorf("join %g B/record, state_dir %d B, %g B per pending", p.AtBigJoin, p.StateDirBytes, p.DiskBytesPerPending)
	}
	for _, rs := range []Restart{p.Warm, p.Cold} {
		if !(rs.ReadySeconds > 0) || rs.RestoreSeconds > rs.ReadySeconds || rs.StateDirBytes <= 0 {
			t.Errorf("restart: ready %gs, restore %gs, state_dir %d B", rs.ReadySeconds, rs.RestoreSeconds, rs.StateDirBytes)
		}
	}
	if p.RSSPeak == 0 || p.Steady == nil {
		t.Errorf("RSS peak %d, steady phase %v", p.RSSPeak, p.Steady)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, r); err != nil || !strings.Contains(out.String(), "cold restore") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
}
