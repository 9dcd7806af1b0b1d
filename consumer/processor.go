package consumer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/conceptdrift"
)

// Option configures a Processor.
type Option func(*Processor)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(p *Processor) { p.log = l } }

// WithReadiness sets where readiness is reported (for /readyz).
func WithReadiness(r *exporter.Readiness) Option { return func(p *Processor) { p.ready = r } }

// WithClientOpts appends franz-go options, after reckon's own.
func WithClientOpts(opts ...kgo.Opt) Option {
	return func(p *Processor) { p.extraOpts = append(p.extraOpts, opts...) }
}

// WithPollInterval bounds how long the loop waits for records before it
// advances the watermark of idle partitions (default 500ms).
func WithPollInterval(d time.Duration) Option { return func(p *Processor) { p.pollInterval = d } }

// Processor is one member of reckon's consumer group.
type Processor struct {
	cfg          *config.Config
	m            *exporter.Metrics
	log          *slog.Logger
	ready        *exporter.Readiness
	extraOpts    []kgo.Opt
	maxSkew      time.Duration
	pollInterval time.Duration

	schema     *event.Schema
	layout     windows.Layout
	partitions int // of every input topic, known once Run has checked them
	topics     [numInputTopics]string
	paneLength time.Duration

	// mu guards workers between the rebalance callbacks and the loop. The
	// loop holds it for a whole batch; callbacks cannot run during a batch
	// anyway (BlockRebalanceOnPoll), so it is never contended per event.
	mu      sync.Mutex
	workers map[int32]*worker

	wm  *windows.Watermark
	agg *windows.Aggregator
	// refs are the models' references (nil: none configured) and
	// driftParams each model's per-feature drift parameters.
	refs        []*windows.Reference
	driftParams [][]sketch.DriftParams
	scoreParams []sketch.DriftParams

	// Loop-owned scratch, reused across batches.
	harvest []*windows.Partial
	closed  []*windows.Result
	reports []*windows.DriftReport // parallel to closed; nil without a complete reference
	produce []*kgo.Record

	latency, score, labelDelay []prometheus.Observer // per model
	detectors                  [][]conceptdrift.Detector
	errs                       []joinedError // scratch for feeding detectors
	produceErr                 atomic.Pointer[error]
}

// New returns a processor for cfg exporting to m.
func New(cfg *config.Config, m *exporter.Metrics, opts ...Option) *Processor {
	p := &Processor{
		cfg:          cfg,
		m:            m,
		log:          slog.Default(),
		ready:        new(exporter.Readiness),
		maxSkew:      cfg.MaxClockSkew,
		pollInterval: 500 * time.Millisecond,
		schema:       event.SchemaFromConfig(cfg),
		topics:       [numInputTopics]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic, cfg.Kafka.Group + "-rekey"},
		paneLength:   cfg.Windows[0].Length,
		workers:      make(map[int32]*worker),
		wm:           windows.NewWatermark(cfg.AllowedLateness, cfg.IdleTimeout),
	}
	for _, o := range opts {
		o(p)
	}
	lengths := make([]time.Duration, len(cfg.Windows))
	for i, w := range cfg.Windows {
		lengths[i] = w.Length
	}
	for _, mc := range cfg.Models {
		var cats []bool
		for _, f := range mc.Features {
			cats = append(cats, f.Type == config.FeatureCategorical)
		}
		p.layout = append(p.layout, cats)
	}
	p.agg = windows.NewAggregator(lengths, p.layout)
	p.refs = make([]*windows.Reference, len(cfg.Models))
	for i := range cfg.Models {
		mc := &cfg.Models[i]
		if r := mc.Reference; r != nil && r.IsRange() {
			p.refs[i] = windows.NewStreamReference(p.layout, i, r.From.UnixMilli(), r.To.UnixMilli())
		}
		var ps []sketch.DriftParams
		for fi := range mc.Features {
			ps = append(ps, driftParams(mc.FeatureDrift(fi)))
		}
		p.driftParams = append(p.driftParams, ps)
		p.scoreParams = append(p.scoreParams, driftParams(mc.Drift))
		m.ReferenceComplete.WithLabelValues(mc.Name).Set(0)
	}
	for _, mc := range cfg.Models {
		p.latency = append(p.latency, m.Latency.WithLabelValues(mc.Name))
		p.score = append(p.score, m.Score.WithLabelValues(mc.Name))
		p.labelDelay = append(p.labelDelay, m.LabelDelay.WithLabelValues(mc.Name))
		var ds []conceptdrift.Detector
		for _, name := range conceptdrift.Names() {
			d, err := conceptdrift.New(name)
			if err != nil {
				panic(err) // the names come from the package itself
			}
			ds = append(ds, d)
			m.ConceptDriftActive.WithLabelValues(mc.Name, name).Set(0)
			m.ConceptDrifts.WithLabelValues(mc.Name, name)
		}
		p.detectors = append(p.detectors, ds)
		for _, r := range []string{"joined", "duplicate", "orphaned"} {
			m.Outcomes.WithLabelValues(mc.Name, r)
		}
		m.Expired.WithLabelValues(mc.Name)
		for _, c := range cellNames {
			m.Confusion.WithLabelValues(mc.Name, c)
		}
	}
	for _, t := range p.topics {
		m.RecordsConsumed.WithLabelValues(t)
		for _, r := range event.Reasons() {
			m.DeadLetters.WithLabelValues(t, r.String())
		}
	}
	return p
}

// Run consumes until ctx ends or a fatal error occurs. On ctx's end it
// finishes the batch in flight, commits it, and leaves the group.
func (p *Processor) Run(ctx context.Context) error {
	base, err := ClientOpts(&p.cfg.Kafka)
	if err != nil {
		return err
	}
	if err := p.loadReferences(); err != nil {
		return err
	}
	if err := p.prepareTopics(ctx, base); err != nil {
		return err
	}
	opts := append(base,
		kgo.ConsumerGroup(p.cfg.Kafka.Group),
		kgo.ConsumeTopics(p.topics[:]...),
		kgo.Balancers(CopartitionBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxPartitionBytes(int32(max(p.cfg.MaxRecordBytes, 1<<20)+64<<10)),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.revoked),
	)
	opts = append(opts, p.extraOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer func() {
		p.ready.Set(false)
		p.m.Ready.Set(0)
		cl.Close() // leaves the group
	}()

	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, p.pollInterval)
		fetches := cl.PollRecords(pctx, 10_000)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
			}
		})
		// The batch is finished even if ctx ended meanwhile: in-flight work
		// is committed before leaving.
		bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := p.batch(bctx, cl, fetches)
		bcancel()
		cl.AllowRebalance()
		if err != nil {
			return err
		}
	}
	return nil
}

// prepareTopics checks that the input topics exist and are co-partitioned,
// and creates the dead-letter and results topics when missing.
func (p *Processor) prepareTopics(ctx context.Context, base []kgo.Opt) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	n, err := CheckCopartitioned(ctx, adm, p.topics[predictionsTopic], p.topics[outcomesTopic])
	if err != nil {
		return err
	}
	if err := EnsureTopics(ctx, adm, n, p.cfg.Kafka.DeadLetterTopic, p.cfg.Kafka.ResultsTopic, p.topics[rekeyTopic]); err != nil {
		return err
	}
	// The re-key topic may predate a change of the inputs' partition count.
	if _, err := CheckCopartitioned(ctx, adm, p.topics[:]...); err != nil {
		return err
	}
	p.partitions = int(n)
	return nil
}

func (p *Processor) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for topic, parts := range assigned {
		ti := p.topicIndex(topic)
		if ti < 0 {
			continue
		}
		for _, part := range parts {
			w := p.workers[part]
			if w == nil {
				w = newWorker(part, p.partitions, &p.topics, p.cfg.Kafka.DeadLetterTopic, p.schema, p.layout, p.paneLength, p.cfg.LabelTTL, p.cfg.MaxRecordBytes, now)
				for mi, ref := range p.refs {
					if ref != nil && ref.Complete {
						w.calibrators[mi] = ref.Calibrator
					}
				}
				p.workers[part] = w
			}
			w.assigned[ti] = true
			w.sources[ti] = windows.NewSource(now)
			p.m.ConsumerLag.WithLabelValues(topic, strconv.Itoa(int(part))).Set(0)
		}
	}
	p.m.Assigned.Set(float64(len(p.workers)))
	p.log.Info("partitions assigned", "assigned", assigned)
	p.ready.Set(true)
	p.m.Ready.Set(1)
}

// revoked drops the state of partitions this member no longer owns. Every
// processed record was committed at the end of its batch, so nothing
// consumed is lost; state in open panes is (until checkpointing lands).
func (p *Processor) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for topic, parts := range revoked {
		ti := p.topicIndex(topic)
		if ti < 0 {
			continue
		}
		for _, part := range parts {
			p.m.ConsumerLag.DeleteLabelValues(topic, strconv.Itoa(int(part)))
			w := p.workers[part]
			if w == nil {
				continue
			}
			w.assigned[ti] = false
			if w.assigned == [numInputTopics]bool{} {
				delete(p.workers, part)
			}
		}
	}
	p.m.Assigned.Set(float64(len(p.workers)))
	p.log.Info("partitions revoked", "revoked", revoked)
}

func (p *Processor) topicIndex(topic string) int {
	for i, t := range p.topics {
		if t == topic {
			return i
		}
	}
	return -1
}

// batch processes one poll's records and everything that follows from
// them, then commits. See the package documentation for the sequence.
func (p *Processor) batch(ctx context.Context, cl *kgo.Client, fetches kgo.Fetches) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	watermark := p.wm.Current()

	var lags []lagUpdate
	fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
		w, ti := p.workers[ft.Partition], p.topicIndex(ft.Topic)
		if w == nil || ti < 0 || len(ft.Records) == 0 {
			return
		}
		w.recs[ti] = ft.Records
		last := ft.Records[len(ft.Records)-1]
		lag := max(ft.HighWatermark-(last.Offset+1), 0)
		w.sources[ti].Fetched(now, lag == 0)
		lags = append(lags, lagUpdate{ft.Topic, ft.Partition, lag})
	})

	maxTime := int64(0)
	if p.maxSkew > 0 {
		maxTime = now.Add(p.maxSkew).UnixMilli()
	}
	var wg sync.WaitGroup
	for _, w := range p.workers {
		if !w.hasInput() {
			continue
		}
		w.watermark = watermark
		wg.Go(func() { w.process(maxTime) })
	}
	wg.Wait()

	// Dead letters first, so that they are durable before their offsets
	// are committed.
	p.produce = p.produce[:0]
	for _, w := range p.workers {
		p.produce = append(p.produce, w.dead...)
		p.produce = append(p.produce, w.forward...)
	}

	// Advance event time over every owned input partition, then close
	// what it passed.
	var sources []*windows.Source
	for _, w := range p.workers {
		for ti, ok := range w.assigned {
			if ok && ti != rekeyTopic { // see worker.prediction
				sources = append(sources, w.sources[ti])
			}
		}
	}
	wm := p.wm.Advance(now, sources)
	late := make(map[int]uint64)
	for _, w := range p.workers {
		p.harvest = w.panes.Harvest(wm, p.harvest[:0])
		for _, part := range p.harvest {
			if ref := p.refs[part.Model]; ref != nil {
				if err := ref.Offer(part); err != nil {
					return fmt.Errorf("reference of model %s: %w", p.schema.Model(part.Model).Name, err)
				}
			}
			ok, err := p.agg.Add(part)
			if err != nil {
				return err
			}
			if !ok {
				late[part.Model] += part.Predictions + part.Outcomes
			}
		}
		w.panes.Release(p.harvest)
	}
	p.closed = p.agg.Close(wm, p.closed[:0])
	p.completeReferences(wm)
	p.reports = p.reports[:0]
	for _, r := range p.closed {
		p.reports = append(p.reports, p.compare(r))
	}
	// Each worker's join state is its own: expire in parallel.
	p.eachWorker(func(w *worker) { w.join.Advance(wm, w) })
	pending := 0
	for _, w := range p.workers {
		pending += w.join.Pending()
	}
	for i, r := range p.closed {
		rec, err := p.resultRecord(r, p.reports[i])
		if err != nil {
			return err
		}
		p.produce = append(p.produce, rec)
	}

	if len(p.produce) > 0 {
		p.produceErr.Store(nil)
		for _, r := range p.produce {
			cl.Produce(ctx, r, p.onProduced)
		}
		if err := cl.Flush(ctx); err != nil {
			return fmt.Errorf("flushing dead letters and results: %w", err)
		}
		if perr := p.produceErr.Load(); perr != nil {
			return fmt.Errorf("producing dead letters and results: %w", *perr)
		}
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		return fmt.Errorf("committing offsets: %w", err)
	}

	// Committed: now the batch may count. Histogram observations are
	// lock-free and the bulk of it, so each worker's run in parallel.
	p.eachWorker(p.observe)
	for _, w := range p.workers {
		p.apply(w)
	}
	for model, n := range late {
		p.m.LateEvents.WithLabelValues(p.schema.Model(model).Name).Add(float64(n))
	}
	p.feedDetectors()
	p.m.Pending.Set(float64(pending))
	for _, l := range lags {
		p.m.ConsumerLag.WithLabelValues(l.topic, strconv.Itoa(int(l.partition))).Set(float64(l.lag))
	}
	for i, r := range p.closed {
		p.publishWindow(r, p.reports[i])
	}
	return nil
}

// feedDetectors runs each model's concept-drift detectors over the batch's
// joined error stream. Detectors cannot be merged and depend on order, so
// the stream is sorted by outcome time, then prediction time, whatever the
// partition it came from.
func (p *Processor) feedDetectors() {
	for mi, ds := range p.detectors {
		p.errs = p.errs[:0]
		for _, w := range p.workers {
			ms := &w.stats.models[mi]
			p.errs = append(p.errs, ms.errors...)
			ms.errors = ms.errors[:0]
		}
		if len(p.errs) == 0 {
			continue
		}
		slices.SortFunc(p.errs, func(a, b joinedError) int {
			return cmp.Or(cmp.Compare(a.OutcomeTimeMs, b.OutcomeTimeMs), cmp.Compare(a.PredTimeMs, b.PredTimeMs), cmpBool(a.Wrong, b.Wrong))
		})
		name := p.schema.Model(mi).Name
		for _, d := range ds {
			for _, e := range p.errs {
				x := 0.0
				if e.Wrong {
					x = 1
				}
				if d.Update(x) {
					p.m.ConceptDrifts.WithLabelValues(name, d.Name()).Inc()
				}
			}
			active := 0.0
			if d.InDrift() {
				active = 1
			}
			p.m.ConceptDriftActive.WithLabelValues(name, d.Name()).Set(active)
		}
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

type lagUpdate struct {
	topic     string
	partition int32
	lag       int64
}

func (p *Processor) onProduced(r *kgo.Record, err error) {
	if err != nil {
		err = fmt.Errorf("topic %s: %w", r.Topic, err)
		p.produceErr.CompareAndSwap(nil, &err)
	}
}

// observe adds a committed batch's histogram observations of w to the
// metrics. It touches only w and the (concurrency-safe) histograms, so the
// loop runs it for all workers in parallel.
func (p *Processor) observe(w *worker) {
	for mi := range w.stats.models {
		ms := &w.stats.models[mi]
		for _, v := range ms.latencies {
			p.latency[mi].Observe(v)
		}
		for _, v := range ms.scores {
			p.score[mi].Observe(v)
		}
		for _, v := range ms.labelDelays {
			p.labelDelay[mi].Observe(v)
		}
		ms.latencies, ms.scores, ms.labelDelays = ms.latencies[:0], ms.scores[:0], ms.labelDelays[:0]
	}
}

// eachWorker runs fn for every worker, in parallel when there are several.
// Each call may touch only its own worker.
func (p *Processor) eachWorker(fn func(w *worker)) {
	if len(p.workers) == 1 {
		for _, w := range p.workers {
			fn(w)
		}
		return
	}
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Go(func() { fn(w) })
	}
	wg.Wait()
}

// apply adds a committed batch's counts to the metrics and resets them.
func (p *Processor) apply(w *worker) {
	s := &w.stats
	for ti, topic := range p.topics {
		if n := s.consumed[ti]; n > 0 {
			p.m.RecordsConsumed.WithLabelValues(topic).Add(float64(n))
		}
		for r, n := range s.dead[ti] {
			if n > 0 {
				p.m.DeadLetters.WithLabelValues(topic, event.Reason(r).String()).Add(float64(n))
			}
		}
		if n := s.misKeyed[ti]; n > 0 {
			p.m.MisKeyed.WithLabelValues(topic).Add(float64(n))
		}
		if n := s.rekeyed[ti]; n > 0 {
			p.m.Rekeyed.WithLabelValues(topic).Add(float64(n))
		}
	}
	s.consumed, s.dead = [numInputTopics]uint64{}, [numInputTopics][event.NumReasons]uint64{}
	s.misKeyed, s.rekeyed = [numInputTopics]uint64{}, [numInputTopics]uint64{}
	for mi := range s.models {
		ms := &s.models[mi]
		spec := p.schema.Model(mi)
		for version, c := range ms.versions {
			for st, status := range [2]string{"ok", "error"} {
				if c[st] > 0 && p.m.SeriesAllowed("reckon_predictions_total", spec.Name, version, status) {
					p.m.Predictions.WithLabelValues(spec.Name, version, status).Add(float64(c[st]))
				}
			}
			*c = [2]uint64{}
		}
		for _, o := range [...]struct {
			result string
			n      *uint64
		}{{"joined", &ms.joined}, {"duplicate", &ms.dupOutcomes}, {"orphaned", &ms.orphaned}} {
			if *o.n > 0 {
				p.m.Outcomes.WithLabelValues(spec.Name, o.result).Add(float64(*o.n))
				*o.n = 0
			}
		}
		if ms.expired > 0 {
			p.m.Expired.WithLabelValues(spec.Name).Add(float64(ms.expired))
			ms.expired = 0
		}
		if ms.dupPredictions > 0 {
			p.m.DuplicatePredictions.WithLabelValues(spec.Name).Add(float64(ms.dupPredictions))
			ms.dupPredictions = 0
		}
		for c, n := range ms.confusion {
			if n > 0 {
				p.m.Confusion.WithLabelValues(spec.Name, cellNames[c]).Add(float64(n))
			}
		}
		if cost := p.cfg.Models[mi].Cost; cost != nil {
			if v := float64(ms.confusion[cellFP])*cost.FalsePositive + float64(ms.confusion[cellFN])*cost.FalseNegative; v > 0 {
				p.m.BusinessCost.WithLabelValues(spec.Name).Add(v)
			}
		}
		ms.confusion = [4]uint64{}
		if ms.late > 0 {
			p.m.LateEvents.WithLabelValues(spec.Name).Add(float64(ms.late))
			ms.late = 0
		}
		for fi := range ms.violations {
			feature := config.ReservedFeature
			if fi > 0 {
				feature = spec.Features[fi-1].Name
			}
			for k, n := range ms.violations[fi] {
				if n > 0 {
					kind := event.ViolationKind(k).String()
					if p.m.SeriesAllowed("reckon_schema_violations_total", spec.Name, feature, kind) {
						p.m.SchemaViolations.WithLabelValues(spec.Name, feature, kind).Add(float64(n))
					}
				}
			}
			ms.violations[fi] = [event.NumViolationKinds]uint64{}
		}
	}
	w.dead, w.forward = w.dead[:0], w.forward[:0]
}
