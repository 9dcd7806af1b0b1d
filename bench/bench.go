// Package bench is the driver of `reckon bench`: it generates traffic of M
// models with N features (simulate.Bench), publishes it to an in-process
// Kafka (kfake) and, when asked, to a real one, and measures on the same
// records in one run:
//
//   - the ceiling: a franz-go consumer and event.Decoder, one goroutine per
//     partition number per batch as in the processor, nothing else: no
//     windows, join, sketches or metrics, no commits;
//   - the full pipeline: consumer.New(…).Run with the real configuration
//     (windows 5m and 1h, the join with outcomes for a share of the
//     predictions), until reckon_records_consumed_total has counted every
//     record;
//   - end-to-end latency: with the processor caught up, background traffic
//     at a steady rate and probe predictions, each its own series of
//     reckon_predictions_total, timed from the produce call until a scrape
//     of /metrics shows them;
//   - in-process: heap per pending prediction of the join store and the
//     encoded size of a feature-window sketch.
//
// Throughput, CPU and allocations are measured from the end of each phase's
// first batch to the last record, so that group joins and start-up do not
// count; CPU is the process's (getrusage), which with the embedded Kafka
// includes the broker's own work, so a CPU profile of each phase attributes
// it to reckon's worker, its loop, the franz-go client, kfake and the
// runtime.
//
// bench is a measurement tool, not part of the processor: it drives
// package consumer through its exported API only (New with
// WithBatchObserver, NewEmbedded, CreateTopicsOn, NewProducer, ClientOpts),
// and, unlike the rest of reckon outside consumer/, talks to Kafka directly
// where it must measure or clean up without the processor (the ceiling's
// consumer, producer settings, deleting its topics and groups).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/simulate"
)

// Options configure a run. Start from Defaults.
type Options struct {
	// Traffic is what is published: simulate.Bench unless changed (with
	// its Models from simulate.Fleet, which the report's features and
	// models describe).
	Traffic    simulate.Options
	Events     int // records published: predictions and outcomes together
	Partitions int // of each input topic
	// Repeat runs the ceiling and the full pipeline this many times, in
	// turn, on the same records; the run with the median ratio is reported
	// (all ratios are in Target.Ratios). The latency phase follows the last.
	Repeat int
	// Brokers, when set, is a real Kafka to run the same measurements on,
	// before the embedded one (whose log would otherwise inflate the
	// process's Sys and RSS for the rest of the run). Topics named
	// reckon-bench-<run>-… are created there and deleted at the end.
	Brokers []string
	// SkipEmbedded runs against Brokers only.
	SkipEmbedded bool
	// CommitInterval, when positive, replaces the configuration's
	// commit_interval in the full pipeline: commits cost throughput, and
	// their interval bounds how soon counters reach /metrics.
	CommitInterval time.Duration

	// The latency phase: LatencyDuration of background traffic at
	// LatencyRate records per second, with ProbeRate probes per second,
	// /metrics scraped every ScrapeInterval. A zero LatencyDuration skips it.
	LatencyDuration time.Duration
	LatencyRate     float64
	ProbeRate       float64
	ScrapeInterval  time.Duration

	// Profile CPU-profiles each throughput phase to attribute its CPU; a
	// failure to start the profiler (one is running already, under go test
	// -cpuprofile say) only leaves the breakdown out. ProfileDir, when set,
	// receives the profiles as <kafka>-<phase>.pprof.
	Profile    bool
	ProfileDir string

	// Pending, when positive, measures the pipeline on top of that many
	// predictions waiting for labels that never come (see Pending): the
	// ceiling and the in-process join and sketch figures are skipped, and
	// Events records are caught up twice, on SmallPending and on Pending.
	// Traffic.LabelTTL must keep them pending (720h, say).
	Pending int
	// StateMemory, when positive, replaces the configuration's
	// state_memory; StateDir is where state_dir goes (a temporary
	// directory when empty). Both for Pending runs.
	StateMemory int64
	StateDir    string

	// PhaseTimeout bounds each phase.
	PhaseTimeout time.Duration

	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Defaults are the defaults of `reckon bench`: 6,000,000 records of 3 models
// with 10 features over 4 partitions, 10s of latency probes at 20/s under
// 10,000 records/s, profiles on.
func Defaults() Options {
	return Options{
		Traffic:         simulate.Bench(),
		Events:          6_000_000,
		Partitions:      4,
		Repeat:          1,
		LatencyDuration: 10 * time.Second,
		LatencyRate:     10_000,
		ProbeRate:       20,
		ScrapeInterval:  10 * time.Millisecond,
		Profile:         true,
		PhaseTimeout:    5 * time.Minute,
	}
}

// Validate reports options that cannot run.
func (o *Options) Validate() error {
	var errs []error
	if err := o.Traffic.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Events < 1 {
		errs = append(errs, fmt.Errorf("events must be at least 1, got %d", o.Events))
	}
	if o.Repeat < 1 {
		errs = append(errs, fmt.Errorf("repeat must be at least 1, got %d", o.Repeat))
	}
	if o.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions must be at least 1, got %d", o.Partitions))
	}
	if o.SkipEmbedded && len(o.Brokers) == 0 {
		errs = append(errs, errors.New("nothing to measure: the embedded Kafka is skipped and no brokers are given"))
	}
	if o.Pending < 0 {
		errs = append(errs, fmt.Errorf("pending must not be negative, got %d", o.Pending))
	}
	if o.Pending > 0 && o.Repeat > 1 {
		errs = append(errs, errors.New("a pending run is not repeated: it measures both backlogs in one run"))
	}
	if o.CommitInterval < 0 {
		errs = append(errs, fmt.Errorf("commit interval must not be negative, got %s", o.CommitInterval))
	}
	if o.LatencyDuration < 0 || o.LatencyRate < 0 || o.ProbeRate < 0 {
		errs = append(errs, errors.New("latency duration and rates must not be negative"))
	}
	if o.LatencyDuration > 0 && o.ProbeRate <= 0 {
		errs = append(errs, errors.New("a latency phase needs a positive probe rate"))
	}
	if o.LatencyDuration > 0 && o.ScrapeInterval <= 0 {
		errs = append(errs, errors.New("a latency phase needs a positive scrape interval"))
	}
	return errors.Join(errs...)
}

// Report is the result of a run; it is what --json writes.
type Report struct {
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	Params  Params    `json:"params"`
	Targets []*Target `json:"targets"`
	// Join is the heap per held id of the delayed-label join.
	Join JoinMemory `json:"join"`
	// Sketch is the encoded size of the sketches of one feature in one
	// window.
	Sketch SketchSizes `json:"sketch"`
	// MaxRSSBytes is the process's peak resident set (getrusage), over the
	// whole run: embedded Kafka and generated data included.
	MaxRSSBytes uint64   `json:"max_rss_bytes"`
	Notes       []string `json:"notes"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUModel   string `json:"cpu_model"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	// LoadAvg is the 1-minute load average (/proc/loadavg) when the run
	// started and ended: other work on the machine skews every figure.
	LoadAvgStart float64 `json:"loadavg_start"`
	LoadAvgEnd   float64 `json:"loadavg_end"`
}

// Params are the run's parameters.
type Params struct {
	Features        int     `json:"features"`
	Models          int     `json:"models"`
	Events          int     `json:"events"`
	Predictions     uint64  `json:"predictions"`
	Outcomes        uint64  `json:"outcomes"`
	Partitions      int     `json:"partitions"`
	Repeat          int     `json:"repeat"`
	LabelRate       float64 `json:"label_rate"`
	ErrorRate       float64 `json:"error_rate"`
	MissingRate     float64 `json:"missing_rate"`
	EventRate       float64 `json:"event_rate"`
	Seed            uint64  `json:"seed"`
	MeanRecordBytes float64 `json:"mean_record_bytes"`
	LatencySeconds  float64 `json:"latency_seconds"`
	LatencyRate     float64 `json:"latency_rate"`
	ProbeRate       float64 `json:"probe_rate"`
	// CommitInterval is the full pipeline's commit_interval, seconds.
	CommitInterval float64 `json:"commit_interval_seconds"`
}

// Target is what was measured on one Kafka.
type Target struct {
	Kafka    string `json:"kafka"`
	Embedded bool   `json:"embedded"`
	// ProduceEventsPerSec is how fast the records were published (for
	// information: producer and broker on this machine).
	ProduceEventsPerSec float64 `json:"produce_events_per_sec"`
	Ceiling             Phase   `json:"ceiling"`
	Full                Phase   `json:"full"`
	// Ratio is Full.EventsPerSec / Ceiling.EventsPerSec, of the run with the
	// median ratio when there were several (Options.Repeat); Ratios are all
	// of them, in run order.
	Ratio  float64   `json:"ratio"`
	Ratios []float64 `json:"ratios"`
	// Pending is reckon_pending_predictions when the full pipeline had
	// counted every record.
	Pending float64 `json:"pending"`
	// StateBytesPerEvent and JoinBytesPerEvent are the bytes of key and
	// value the full pipeline wrote to <group>-state (panes, windows,
	// models) and to <group>-join (the join's changes) per record consumed
	// (reckon_state_written_bytes_total): what a commit costs.
	StateBytesPerEvent float64  `json:"state_bytes_per_event"`
	JoinBytesPerEvent  float64  `json:"join_bytes_per_event"`
	Latency            *Latency `json:"latency,omitempty"`
	// PendingRun is what a run with Options.Pending measured.
	PendingRun *Pending `json:"pending_run,omitempty"`
}

// Phase is one throughput measurement.
type Phase struct {
	Name string `json:"name"`
	// Events is the number of records counted; Measured those after the
	// first batch, up to the end of the batch that processed the last
	// record, over Seconds, which the rates and per-event figures use.
	Events   uint64 `json:"events"`
	Measured uint64 `json:"measured"`
	// Counts is how many batches the phase observed.
	Counts       int     `json:"counts"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// CPUMicrosPerEvent is process CPU time (user + system) per record:
	// with the embedded Kafka it includes the broker's work.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// AllocsPerEvent and AllocBytesPerEvent are process-wide heap
	// allocations per record (runtime.MemStats), broker and client included.
	AllocsPerEvent     float64 `json:"allocs_per_event"`
	AllocBytesPerEvent float64 `json:"alloc_bytes_per_event"`
	// Heap in use when the phase started (after a GC: the embedded Kafka's
	// log is in it) and its peak during the phase; peak Sys (all memory
	// obtained from the OS). Sampled every 20ms.
	HeapInuseStart uint64 `json:"heap_inuse_start_bytes"`
	PeakHeapInuse  uint64 `json:"peak_heap_inuse_bytes"`
	PeakSys        uint64 `json:"peak_sys_bytes"`
	GCCycles       uint32 `json:"gc_cycles"`
	DeadLetters    uint64 `json:"dead_letters"`
	// CPU is the phase's CPU profile, attributed to components; nil when
	// not profiled.
	CPU *CPUBreakdown `json:"cpu,omitempty"`
}

// Latency is the end-to-end latency from a probe's produce call to the
// first scrape of /metrics that shows it.
type Latency struct {
	LoadRate       float64 `json:"load_rate"` // background records per second achieved
	Probes         int     `json:"probes"`
	Seen           int     `json:"seen"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	ScrapeInterval float64 `json:"scrape_interval_ms"`
	ScrapeP50Ms    float64 `json:"scrape_p50_ms"` // duration of one scrape
	// StateBytesPerEvent and JoinBytesPerEvent are as Target's, over the
	// records of this phase: at a steady rate rather than catching up, a
	// commit holds fewer records, and what it rewrites costs more each.
	StateBytesPerEvent float64 `json:"state_bytes_per_event"`
	JoinBytesPerEvent  float64 `json:"join_bytes_per_event"`
}

// Run measures what o asks for. Progress goes to o.Log.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	o.Log = logw
	r := &Report{
		Started: time.Now().UTC(),
		Machine: Machine{
			CPUModel: cpuModel(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
			LoadAvgStart: loadAvg(),
		},
		Params: Params{
			Features: len(o.Traffic.Models[0].Features), Models: len(o.Traffic.Models), Events: o.Events, Partitions: o.Partitions, Repeat: o.Repeat,
			LabelRate: o.Traffic.LabelRate, ErrorRate: o.Traffic.ErrorRate, MissingRate: o.Traffic.MissingRate,
			EventRate: o.Traffic.EventRate, Seed: o.Traffic.Seed,
			LatencySeconds: o.LatencyDuration.Seconds(), LatencyRate: o.LatencyRate, ProbeRate: o.ProbeRate,
		},
	}
	type kafka struct {
		name     string
		brokers  []string
		embedded bool
	}
	var targets []kafka
	if len(o.Brokers) > 0 {
		targets = append(targets, kafka{name: "kafka " + strings.Join(o.Brokers, ","), brokers: o.Brokers})
	}
	if !o.SkipEmbedded {
		targets = append(targets, kafka{name: "kfake (in-process)", embedded: true})
	}
	for _, k := range targets {
		t := &Target{Kafka: k.name, Embedded: k.embedded}
		brokers := k.brokers
		var emb *consumer.Embedded
		if k.embedded {
			var err error
			if emb, err = consumer.NewEmbedded(0); err != nil {
				return nil, err
			}
			brokers = emb.Brokers()
		}
		fmt.Fprintf(logw, "bench: %s\n", k.name)
		var err error
		if o.Pending > 0 {
			err = runPending(ctx, &o, t, brokers, r)
		} else {
			err = runTarget(ctx, &o, t, brokers, r)
		}
		if emb != nil {
			emb.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.name, err)
		}
		r.Targets = append(r.Targets, t)
	}

	if o.Pending == 0 {
		fmt.Fprintln(logw, "bench: join and sketch memory (in-process)")
		var err error
		if r.Join, err = measureJoin(o); err != nil {
			return nil, err
		}
		if r.Sketch, err = measureSketches(o); err != nil {
			return nil, err
		}
	}
	r.MaxRSSBytes = maxRSS()
	r.Machine.LoadAvgEnd = loadAvg()
	r.Notes = notes(r)
	return r, nil
}

func notes(r *Report) []string {
	n := []string{
		"events are Kafka records of both input topics (predictions and outcomes); rates and per-event figures are over the records after each phase's first batch, up to the end of the batch that processed the last one (the full pipeline's batches are reported by consumer.WithBatchObserver; its phase ends when every record is committed, and the final commit, which waits for commit_interval, is not measured)",
		"process CPU and allocations are process-wide: with the embedded Kafka they include the broker (kfake) and the producer-side bookkeeping of the bench; the profile breakdown separates reckon's own code",
		"reckon CPU µs/event = profile samples under the partition workers (decode, validate, panes, join) plus reckon's loop (harvest, aggregate, apply to metrics), over all records of the phase",
		"latency: probe predictions (model \"probe\", each its own model_version series) produced one by one (no linger) while background traffic runs; visible = the first GET /metrics that contains the series; the figure includes the scrape and is at most one scrape interval late",
		"peak heap and Sys include the embedded Kafka's log (see heap in use at start); Sys never shrinks within a process and ru_maxrss is the whole run's",
	}
	for _, t := range r.Targets {
		if t.Full.Seconds < 4*r.Params.CommitInterval {
			n = append(n, fmt.Sprintf("%s: the full pipeline's measured interval (%.1fs) spans fewer than four commit intervals, too few for a steady rate: raise --events", t.Kafka, t.Full.Seconds))
		}
		if c := t.Full.CPU; c != nil && c.Samples > 0 && !slices.ContainsFunc(c.Components, func(c Component) bool { return strings.HasPrefix(c.Name, "reckon worker") }) {
			n = append(n, fmt.Sprintf("%s: no CPU sample of the full pipeline is under the partition tasks (%s): the profile rules of bench/pprof.go no longer match the processor's code, and its work is counted as reckon's loop", t.Kafka, taskFrame))
		}
	}
	return n
}

// loadAvg is the 1-minute load average (Linux), else 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	x, _ := strconv.ParseFloat(f, 64)
	return x
}

// cpuModel reads the CPU model from /proc/cpuinfo (Linux), else "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
