package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/simulate"
)

// SmallPending is the backlog of pending predictions the first catch-up of
// a --pending run is measured on, the reference its throughput ratio is
// taken against.
const SmallPending = 100_000

// PendingEventRate is the event-time rate of the pending predictions
// loaded before the measured traffic (predictions per second of event
// time): dense, so that 100 million span about three hours, well within
// any label_ttl the bench is run with.
const PendingEventRate = 10_000

// Pending is what a --pending run measured on one Kafka: the pipeline
// catching up Options.Events records on top of SmallPending and then of
// Options.Pending predictions waiting for labels that never come, at a
// steady rate on top of those, and restarting on the same disk (warm) and
// on an empty one (cold).
type Pending struct {
	// Requested is Options.Pending; Small the first backlog.
	Requested int `json:"requested"`
	Small     int `json:"small"`
	// ProduceSeconds is how long publishing every record took (for
	// information); BaselineRSS the process's resident set, and
	// BaselineHeap its Go heap in use, after publishing them and before
	// the processor started: with the embedded Kafka, its log of every
	// record is most of it.
	ProduceSeconds float64 `json:"produce_seconds"`
	BaselineRSS    uint64  `json:"baseline_rss_bytes"`
	BaselineHeap   uint64  `json:"baseline_heap_inuse_bytes"`
	// Phases, in the order the processor met them: loading the small
	// backlog, catching up Events records on it, loading the rest of the
	// backlog, catching up Events records on it.
	LoadSmall Phase `json:"load_small"`
	AtSmall   Phase `json:"at_small"`
	LoadBig   Phase `json:"load_big"`
	AtBig     Phase `json:"at_big"`
	// ReadySeconds is how long the processor of each phase took to be
	// ready: each phase's records are published while none runs, and the
	// processor started again on the committed state (warm).
	ReadySeconds []float64 `json:"ready_seconds"`
	// RestoreSeconds is the restore part of each, as the processor logs
	// it.
	RestoreSeconds []float64 `json:"restore_seconds"`
	// Ratio is AtBig.EventsPerSec / AtSmall.EventsPerSec.
	Ratio float64 `json:"ratio"`
	// Changelog bytes (keys and values) per record processed, to
	// <group>-state and <group>-join, in each catch-up phase.
	AtSmallState float64 `json:"at_small_state_bytes_per_record"`
	AtSmallJoin  float64 `json:"at_small_join_bytes_per_record"`
	AtBigState   float64 `json:"at_big_state_bytes_per_record"`
	AtBigJoin    float64 `json:"at_big_join_bytes_per_record"`
	// Commits while catching up at the big backlog, and at the steady
	// rate.
	CommitsAtBig  Durations `json:"commits_at_big"`
	CommitsSteady Durations `json:"commits_steady"`
	// PendingAfter is reckon_pending_predictions once every record was
	// committed.
	PendingAfter float64 `json:"pending_after"`
	// StateMemory is state_memory; JoinMemory and JoinDisk are
	// reckon_state_bytes{where=memory|disk} at the end of the steady
	// phase; StateDirBytes the size of state_dir's files then, and
	// DiskBytesPerPending that over PendingAfter.
	StateMemory         int64   `json:"state_memory_bytes"`
	JoinMemory          float64 `json:"join_memory_bytes"`
	JoinDisk            float64 `json:"join_disk_bytes"`
	StateDirBytes       int64   `json:"state_dir_bytes"`
	DiskBytesPerPending float64 `json:"disk_bytes_per_pending"`
	// The process's resident set (sampled every 100ms): its peak from the
	// processor's start to the end of the steady phase, and its median
	// and peak during the steady phase.
	RSSPeak       uint64 `json:"rss_peak_bytes"`
	RSSSteady     uint64 `json:"rss_steady_bytes"`
	RSSSteadyPeak uint64 `json:"rss_steady_peak_bytes"`
	// Steady is the latency phase at Options.LatencyRate.
	Steady *Latency `json:"steady"`
	// Warm and Cold are the restarts.
	Warm Restart `json:"warm"`
	Cold Restart `json:"cold"`
}

// Durations summarises commit durations, seconds.
type Durations struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

func summarise(ds []float64) Durations {
	slices.Sort(ds)
	d := Durations{N: len(ds), P50: percentile(ds, 0.5), P99: percentile(ds, 0.99)}
	if len(ds) > 0 {
		d.Max = ds[len(ds)-1]
	}
	return d
}

// Restart is a processor started again on the committed state.
type Restart struct {
	// ReadySeconds is from Run to /readyz ready: the group join, the
	// restore of <group>-state and of the join.
	ReadySeconds float64 `json:"ready_seconds"`
	// RestoreSeconds is the restore alone, as the processor logs it.
	RestoreSeconds float64 `json:"restore_seconds"`
	// PendingPerSec is PendingAfter / RestoreSeconds.
	PendingPerSec float64 `json:"pending_per_sec"`
	// RSSPeak is the process's peak resident set during the restore.
	RSSPeak uint64 `json:"rss_peak_bytes"`
	// StateDirBytes is state_dir's size once ready.
	StateDirBytes int64 `json:"state_dir_bytes"`
}

// pendingRecord encodes the i-th pending prediction of a run: no features
// (each counts as missing), a score, no outcome ever.
func pendingRecord(r *simulate.Record, run string, i int, models int, ms int64) {
	r.Topic, r.TimeMs, r.Model = simulate.Predictions, ms, i%models
	r.Key = append(append(append(r.Key[:0], "pend-"...), run...), '-')
	r.Key = strconv.AppendInt(r.Key, int64(i), 36)
	b := append(r.Value[:0], `{"prediction_id":"`...)
	b = append(b, r.Key...)
	b = append(b, `","model":"`...)
	b = append(b, simulate.ModelName(r.Model)...)
	b = append(b, `","timestamp":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, `,"score":0.`...)
	b = strconv.AppendInt(b, int64(100+(uint64(i)*2654435761)%900), 10)
	r.Value = append(b, '}')
}

// segment is a run of records to publish: count pending predictions (from
// just after the last event time published), or count records of a
// generator.
type segment struct {
	count int
	gen   *simulate.Generator
	first int // index of the first pending prediction
}

// runPending publishes SmallPending pending predictions, Events records of
// traffic, the rest of the Pending predictions and Events more records, in
// event-time order, and measures the processor through them, then at a
// steady rate, then restarting warm and cold.
func runPending(ctx context.Context, o *Options, t *Target, brokers []string, r *Report) error {
	cfg, err := simulate.Config(o.Traffic, true)
	if err != nil {
		return err
	}
	if o.CommitInterval > 0 {
		cfg.CommitInterval = o.CommitInterval
	}
	if o.StateMemory > 0 {
		cfg.StateMemory = o.StateMemory
	}
	r.Params.CommitInterval = cfg.CommitInterval.Seconds()
	k := benchKafka(&cfg.Kafka, brokers)
	stateRoot := o.StateDir
	if stateRoot == "" {
		if stateRoot, err = os.MkdirTemp("", "reckon-bench-state-"); err != nil {
			return err
		}
		defer os.RemoveAll(stateRoot)
	}
	cfg.StateDir = filepath.Join(stateRoot, k.Group)
	defer os.RemoveAll(cfg.StateDir)
	if err := consumer.CreateTopicsOn(ctx, brokers, int32(o.Partitions), k.PredictionsTopic, k.OutcomesTopic); err != nil {
		return err
	}
	if !t.Embedded {
		defer deleteAll(brokers, []string{k.Group}, o.Log, k.PredictionsTopic, k.OutcomesTopic, k.DeadLetterTopic, k.ResultsTopic, k.Group+"-state", k.Group+"-join")
	}
	pr := &Pending{Requested: o.Pending, Small: min(SmallPending, o.Pending), StateMemory: cfg.StateMemory}
	t.PendingRun = pr

	// Event times: the small backlog just before the traffic's start, the
	// rest after the first traffic, the second traffic after that. Each
	// segment is published while the processor is stopped, and consumed
	// by a processor started on the committed state (a warm restart), so
	// that each catch-up is measured on records already in Kafka.
	stepMs := 1000.0 / PendingEventRate
	pp := &pendingProducer{o: o, cfg: cfg, stepMs: stepMs, run: strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36), 36)}
	if pp.p, err = consumer.NewProducer(cfg.Kafka.Brokers, kgo.MaxBufferedRecords(100_000)); err != nil {
		return err
	}
	defer pp.p.Close()
	small, big := pr.Small, o.Pending-pr.Small
	start := o.Traffic.Start.UnixMilli()
	pp.lastMs = start - int64(float64(small)*stepMs) - 2000
	segs := []segment{{count: small}, {count: o.Events}}
	if big > 0 {
		segs = append(segs, segment{count: big, first: small}, segment{count: o.Events})
	}
	names := []string{"load small backlog", "catch-up at small backlog", "load backlog", "catch-up at backlog"}
	phases := make([]Phase, len(segs))
	written := make([][2]float64, len(segs))
	var readies, restoresSecs []float64
	var run *procRun
	var g *simulate.Generator
	rss := startRSS(100 * time.Millisecond)
	defer func() {
		if run != nil {
			run.close()
		}
	}()
	for i := range segs {
		s := &segs[i]
		if i%2 == 1 {
			tr := o.Traffic
			if i > 1 {
				tr.Start = time.UnixMilli(pp.lastMs + 1000).UTC()
				tr.Seed++
			}
			s.gen = simulate.New(tr)
			g = s.gen
		}
		fmt.Fprintf(o.Log, "bench:   producing %d %s\n", s.count, map[bool]string{true: "records of traffic", false: "pending predictions"}[s.gen != nil])
		t0 := time.Now()
		if err := pp.produce(ctx, s); err != nil {
			return err
		}
		pr.ProduceSeconds += time.Since(t0).Seconds()
		// Give the producer's buffers back to the OS, so that the resident
		// set measures the processor (and, embedded, kfake's log), not
		// memory the runtime keeps after publishing.
		debug.FreeOSMemory()
		if i == len(segs)-1 {
			pr.BaselineHeap = heapInuse()
			pr.BaselineRSS = currentRSS()
		}
		catchUp := i%2 == 1
		if run, err = startProc(ctx, o, cfg); err != nil {
			return err
		}
		m := startMeter(names[i], o.Profile && catchUp, o.Log)
		ready, err := run.wait(ctx, o, uint64(s.count), m)
		if err != nil {
			m.finish(run.processed.Load(), "")
			return fmt.Errorf("%s: %w", names[i], err)
		}
		readies = append(readies, ready)
		restoresSecs = append(restoresSecs, run.restores.seconds())
		phases[i] = m.finish(uint64(s.count), profilePath(o.ProfileDir, t.Kafka, fmt.Sprintf("pending-%d", i), 0, 1))
		written[i] = run.written()
		if i == 3 {
			pr.CommitsAtBig = summarise(run.takeCommits())
		}
		fmt.Fprintf(o.Log, "bench:   %s: %.0f records/s (ready after %.2fs)\n", names[i], phases[i].EventsPerSec, ready)
		if i < len(segs)-1 {
			if err := run.close(); err != nil {
				return err
			}
			run = nil
		}
	}
	p1, o1 := segs[1].gen.Emitted()
	r.Params.Predictions, r.Params.Outcomes = p1+uint64(o.Pending), o1
	if big > 0 {
		p2, o2 := segs[3].gen.Emitted()
		r.Params.Predictions, r.Params.Outcomes = r.Params.Predictions+p2, o1+o2
	}
	r.Params.MeanRecordBytes = float64(pp.bytes) / float64(pp.records)
	t.ProduceEventsPerSec = float64(pp.records) / pr.ProduceSeconds
	pr.LoadSmall, pr.AtSmall = phases[0], phases[1]
	pr.AtSmallState, pr.AtSmallJoin = written[1][0], written[1][1]
	t.Full = phases[1]
	if big > 0 {
		pr.LoadBig, pr.AtBig = phases[2], phases[3]
		pr.AtBigState, pr.AtBigJoin = written[3][0], written[3][1]
		t.Full = phases[3]
		if pr.AtSmall.EventsPerSec > 0 {
			pr.Ratio = pr.AtBig.EventsPerSec / pr.AtSmall.EventsPerSec
		}
	}
	pr.ReadySeconds, pr.RestoreSeconds = readies, restoresSecs
	pr.PendingAfter = metricValue(run.met.Pending)
	t.Pending = pr.PendingAfter
	t.StateBytesPerEvent, t.JoinBytesPerEvent = written[len(segs)-1][0], written[len(segs)-1][1]

	if o.LatencyDuration > 0 {
		fmt.Fprintf(o.Log, "bench:   steady: %s at %g records/s\n", o.LatencyDuration, o.LatencyRate)
		run.takeCommits()
		c0, s0, j0 := sumCounters(run.consumed), metricValue(run.stateW), metricValue(run.joinW)
		rss.mark()
		lat, err := runLatency(ctx, o, cfg, g, run.reg, run.ready)
		if err != nil {
			return fmt.Errorf("steady rate: %w", err)
		}
		pr.RSSSteady, pr.RSSSteadyPeak = rss.sinceMark()
		if n := sumCounters(run.consumed) - c0; n > 0 {
			lat.StateBytesPerEvent = (metricValue(run.stateW) - s0) / n
			lat.JoinBytesPerEvent = (metricValue(run.joinW) - j0) / n
		}
		pr.CommitsSteady = summarise(run.takeCommits())
		pr.Steady = lat
		t.Latency = lat
	}
	pr.JoinMemory = metricValue(run.met.StateBytes.WithLabelValues("memory"))
	pr.JoinDisk = metricValue(run.met.StateBytes.WithLabelValues("disk"))
	pr.RSSPeak = rss.stop()
	err = run.close()
	pr.PendingAfter = metricValue(run.met.Pending) // the final commit's
	run = nil
	if err != nil {
		return err
	}
	pr.StateDirBytes = dirBytes(cfg.StateDir)
	if pr.PendingAfter > 0 {
		pr.DiskBytesPerPending = float64(pr.StateDirBytes) / pr.PendingAfter
	}

	fmt.Fprintln(o.Log, "bench:   warm restart (same state_dir)")
	if pr.Warm, err = restart(ctx, o, cfg, pr.PendingAfter); err != nil {
		return fmt.Errorf("warm restart: %w", err)
	}
	fmt.Fprintf(o.Log, "bench:   warm: ready in %.2fs (restore %.2fs)\n", pr.Warm.ReadySeconds, pr.Warm.RestoreSeconds)
	fmt.Fprintln(o.Log, "bench:   cold restore (empty state_dir)")
	if err := os.RemoveAll(cfg.StateDir); err != nil {
		return err
	}
	if pr.Cold, err = restart(ctx, o, cfg, pr.PendingAfter); err != nil {
		return fmt.Errorf("cold restore: %w", err)
	}
	fmt.Fprintf(o.Log, "bench:   cold: ready in %.2fs (restore %.2fs, %.0f pending/s)\n", pr.Cold.ReadySeconds, pr.Cold.RestoreSeconds, pr.Cold.PendingPerSec)
	return nil
}

// procRun is a processor running for the bench, with its hooks: records
// processed, commit durations, the restore time it logs.
type procRun struct {
	reg       *prometheus.Registry
	met       *exporter.Metrics
	ready     *exporter.Readiness
	restores  *restoreLog
	processed atomic.Uint64
	consumed  []prometheus.Counter
	stateW    prometheus.Counter
	joinW     prometheus.Counter
	cmu       sync.Mutex
	commits   []float64
	start     time.Time
	stop      context.CancelFunc
	done      chan error
	stopped   bool
}

func startProc(ctx context.Context, o *Options, cfg *config.Config) (*procRun, error) {
	r := &procRun{reg: prometheus.NewRegistry(), ready: new(exporter.Readiness), restores: newRestoreLog(o.Log), done: make(chan error, 1)}
	r.met = exporter.New(r.reg, "bench", cfg.SeriesLimit, exporter.WithMaxModelVersions(cfg.MaxModelVersions))
	k := &cfg.Kafka
	r.consumed = []prometheus.Counter{
		r.met.RecordsConsumed.WithLabelValues(k.PredictionsTopic),
		r.met.RecordsConsumed.WithLabelValues(k.OutcomesTopic),
	}
	r.stateW, r.joinW = r.met.StateWritten.WithLabelValues(k.Group+"-state"), r.met.StateWritten.WithLabelValues(k.Group+"-join")
	proc := consumer.New(cfg, r.met, consumer.WithLogger(slog.New(r.restores)), consumer.WithReadiness(r.ready),
		consumer.WithBatchObserver(func(n int) { r.processed.Add(uint64(n)) }),
		consumer.WithCommitObserver(func(d time.Duration, ok bool) {
			if ok {
				r.cmu.Lock()
				r.commits = append(r.commits, d.Seconds())
				r.cmu.Unlock()
			}
		}))
	rctx, stop := context.WithCancel(ctx)
	r.stop = stop
	r.start = time.Now()
	go func() { r.done <- proc.Run(rctx) }()
	return r, nil
}

// wait follows the processor until it has committed n records, feeding m,
// and returns how long it took to be ready.
func (r *procRun) wait(ctx context.Context, o *Options, n uint64, m *meter) (readySecs float64, err error) {
	pctx, cancel := context.WithTimeout(ctx, o.PhaseTimeout)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if readySecs == 0 && r.ready.Ready() {
			readySecs = time.Since(r.start).Seconds()
		}
		m.observe(min(r.processed.Load(), n))
		if c := uint64(sumCounters(r.consumed)); c >= n {
			return readySecs, nil
		}
		select {
		case err := <-r.done:
			r.stopped = true
			return readySecs, fmt.Errorf("the processor stopped after %d of %d records: %v", r.processed.Load(), n, err)
		case <-pctx.Done():
			return readySecs, fmt.Errorf("%d of %d records after %s: %w", r.processed.Load(), n, o.PhaseTimeout, pctx.Err())
		case <-tick.C:
		}
	}
}

// written is the changelog bytes per record committed so far, to
// <group>-state and <group>-join.
func (r *procRun) written() [2]float64 {
	n := sumCounters(r.consumed)
	if n == 0 {
		return [2]float64{}
	}
	return [2]float64{metricValue(r.stateW) / n, metricValue(r.joinW) / n}
}

func (r *procRun) takeCommits() []float64 {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	c := r.commits
	r.commits = nil
	return c
}

// close stops the processor (it commits what it holds and leaves).
func (r *procRun) close() error {
	r.stop()
	if r.stopped {
		return nil
	}
	r.stopped = true
	if err := <-r.done; err != nil {
		return fmt.Errorf("processor: %w", err)
	}
	return nil
}

// pendingProducer publishes the segments of a pending run, in event-time
// order.
type pendingProducer struct {
	o              *Options
	cfg            *config.Config
	p              *consumer.Producer
	stepMs         float64
	run            string
	lastMs         int64
	bytes, records int
}

// produce publishes a segment: s.count records of s.gen, or pending
// predictions from just after the last event time published.
func (pp *pendingProducer) produce(ctx context.Context, s *segment) error {
	topics := [2]string{pp.cfg.Kafka.PredictionsTopic, pp.cfg.Kafka.OutcomesTopic}
	fromMs := pp.lastMs + 1000
	every := max(s.count/10, 1)
	for j := range s.count {
		var rec simulate.Record // fresh buffers: the producer keeps them until acknowledged
		if s.gen != nil {
			s.gen.Next(&rec)
		} else {
			pendingRecord(&rec, pp.run, s.first+j, len(pp.o.Traffic.Models), fromMs+int64(float64(j)*pp.stepMs))
		}
		pp.lastMs = max(pp.lastMs, rec.TimeMs)
		pp.bytes += len(rec.Value)
		pp.records++
		pp.p.Send(ctx, topics[rec.Topic], rec.Key, rec.Value)
		if j%every == every-1 && s.count >= 1_000_000 {
			fmt.Fprintf(pp.o.Log, "bench:     %d of %d\n", j+1, s.count)
		}
	}
	if err := pp.p.Flush(ctx); err != nil {
		return fmt.Errorf("producing: %w", err)
	}
	return nil
}

// restart runs a processor on cfg until it is ready and times it.
func restart(ctx context.Context, o *Options, cfg *config.Config, pending float64) (Restart, error) {
	reg := prometheus.NewRegistry()
	met := exporter.New(reg, "bench", cfg.SeriesLimit, exporter.WithMaxModelVersions(cfg.MaxModelVersions))
	ready := new(exporter.Readiness)
	restores := newRestoreLog(o.Log)
	proc := consumer.New(cfg, met, consumer.WithLogger(slog.New(restores)), consumer.WithReadiness(ready))
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	rss := startRSS(20 * time.Millisecond)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- proc.Run(rctx) }()
	var res Restart
	pctx, cancel := context.WithTimeout(ctx, o.PhaseTimeout)
	defer cancel()
	for !ready.Ready() {
		select {
		case err := <-done:
			rss.stop()
			return res, fmt.Errorf("the processor stopped before it was ready: %v", err)
		case <-pctx.Done():
			stop()
			<-done
			rss.stop()
			return res, pctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	res.ReadySeconds = time.Since(start).Seconds()
	res.RestoreSeconds = restores.seconds()
	if res.RestoreSeconds > 0 {
		res.PendingPerSec = pending / res.RestoreSeconds
	}
	res.RSSPeak = rss.stop()
	res.StateDirBytes = dirBytes(cfg.StateDir)
	stop()
	if err := <-done; err != nil {
		return res, err
	}
	return res, nil
}

// restoreLog passes warnings on and keeps the restore_seconds of the
// processor's "partitions assigned" line.
type restoreLog struct {
	inner slog.Handler
	*restoreSecs
}

type restoreSecs struct {
	mu   sync.Mutex
	secs float64
}

func newRestoreLog(w io.Writer) *restoreLog {
	return &restoreLog{inner: slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}), restoreSecs: new(restoreSecs)}
}

func (h *restoreLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *restoreLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "partitions assigned" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "restore_seconds" {
				h.mu.Lock()
				h.secs += a.Value.Float64()
				h.mu.Unlock()
			}
			return true
		})
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

func (h *restoreLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &restoreLog{inner: h.inner.WithAttrs(as), restoreSecs: h.restoreSecs}
}

func (h *restoreLog) WithGroup(name string) slog.Handler {
	return &restoreLog{inner: h.inner.WithGroup(name), restoreSecs: h.restoreSecs}
}

func (h *restoreLog) seconds() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.secs
}

// dirBytes is the size of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// rssSampler samples the process's resident set.
type rssSampler struct {
	stopc   chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	peak    uint64
	marked  bool
	samples []uint64 // since mark
}

func startRSS(every time.Duration) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{})}
	sample := func() {
		v := currentRSS()
		s.mu.Lock()
		s.peak = max(s.peak, v)
		if s.marked {
			s.samples = append(s.samples, v)
		}
		s.mu.Unlock()
	}
	sampleEvery(&s.wg, s.stopc, every, sample)
	return s
}

// mark starts the samples sinceMark summarises.
func (s *rssSampler) mark() {
	s.mu.Lock()
	s.marked, s.samples = true, nil
	s.mu.Unlock()
}

// sinceMark returns the median and the peak of the samples since mark.
func (s *rssSampler) sinceMark() (median, peak uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	xs := slices.Clone(s.samples)
	s.marked = false
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2], xs[len(xs)-1]
}

func (s *rssSampler) stop() uint64 {
	close(s.stopc)
	s.wg.Wait()
	return s.peak
}

// currentRSS is the process's resident set now (Linux /proc), else 0.
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res uint64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * uint64(os.Getpagesize())
}

// heapInuse is the Go heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
