package consumer

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/conceptdrift"
	"github.com/reckonhq/reckon/windows/perf"
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

// WithBatchObserver calls fn, on the processor's loop, after each batch with
// the number of input records (predictions and outcomes topics) the batch
// processed. The records are not committed yet: it is for measuring the
// pipeline's throughput (reckon bench), not for counting; it must return
// quickly.
func WithBatchObserver(fn func(records int)) Option {
	return func(p *Processor) { p.onBatch = fn }
}

// Processor is one member of reckon's consumer group.
type Processor struct {
	cfg          *config.Config
	m            *exporter.Metrics
	log          *slog.Logger
	ready        *exporter.Readiness
	extraOpts    []kgo.Opt
	maxSkew      time.Duration
	pollInterval time.Duration
	// topicWait bounds how long start-up waits for a missing topic to
	// appear in metadata.
	topicWait time.Duration
	onBatch   func(records int)
	// afterBatch, for tests, runs on the loop after each batch, with mu
	// held and the workers idle.
	afterBatch func(*Processor)

	schema     *event.Schema
	layout     windows.Layout
	lengths    []time.Duration
	partitions int // of every input topic, known once Run has checked them
	topics     [numInputTopics]string
	paneLength time.Duration
	// The internal topics (DESIGN.md §2): harvested panes and progress
	// between members, and state checkpoints.
	partialsTopic, stateTopic string
	// modelPartition is the partials partition of each model: where its
	// panes meet and its windows close.
	modelPartition []int32
	base           []kgo.Opt

	// mu guards workers and mergers between the rebalance callbacks and
	// the loop. The loop holds it for a whole batch; callbacks run only
	// between transactions (BlockRebalanceOnPoll), so it is never
	// contended per event.
	mu      sync.Mutex
	workers map[int32]*worker
	mergers map[int32]*merger
	// rebalanced is set by the callbacks: the loop drops what the poll
	// returned and starts again from the committed offsets.
	rebalanced atomic.Bool
	restoreErr error

	// fileRefs are the models' reference profile files (nil: none or a
	// stream range, which the mergers build).
	fileRefs []*windows.Reference
	// cal is each model's calibration for estimation, shared with the
	// workers (which only read it, during batches).
	cal         []calibration
	driftParams [][]sketch.DriftParams
	scoreParams []sketch.DriftParams

	// Loop-owned scratch, reused across batches.
	produce     []*kgo.Record
	mergedOut   []*kgo.Record // the mergers' output of a batch
	batchInputs int           // input-topic records of the batch (WithBatchObserver)

	// paused is the input topic paused per partition, slack how far ahead
	// one may run (align.go).
	paused map[int32]int
	slack  int64
	order  []*worker // the batch's workers, biggest input first

	latency, score, labelDelay []*exporter.BatchHistogram // per model
	produceErr                 atomic.Pointer[error]
}

// New returns a processor for cfg exporting to m.
func New(cfg *config.Config, m *exporter.Metrics, opts ...Option) *Processor {
	p := &Processor{
		cfg:           cfg,
		m:             m,
		log:           slog.Default(),
		ready:         new(exporter.Readiness),
		maxSkew:       cfg.MaxClockSkew,
		pollInterval:  500 * time.Millisecond,
		topicWait:     DefaultTopicWait,
		paused:        map[int32]int{},
		slack:         alignSlack(cfg.AllowedLateness),
		schema:        event.SchemaFromConfig(cfg),
		topics:        [numInputTopics]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic, cfg.Kafka.Group + "-rekey"},
		partialsTopic: cfg.Kafka.Group + "-partials",
		stateTopic:    cfg.Kafka.Group + "-state",
		paneLength:    cfg.Windows[0].Length,
		workers:       make(map[int32]*worker),
		mergers:       make(map[int32]*merger),
	}
	for _, o := range opts {
		o(p)
	}
	for _, w := range cfg.Windows {
		p.lengths = append(p.lengths, w.Length)
	}
	for _, mc := range cfg.Models {
		var cats []bool
		for _, f := range mc.Features {
			cats = append(cats, f.Type == config.FeatureCategorical)
		}
		p.layout = append(p.layout, cats)
	}
	p.fileRefs = make([]*windows.Reference, len(cfg.Models))
	p.cal = make([]calibration, len(cfg.Models))
	for i := range cfg.Models {
		mc := &cfg.Models[i]
		p.cal[i] = calibration{from: math.MaxInt64, known: true} // no reference: identity
		if r := mc.Reference; r != nil && r.IsRange() {
			p.cal[i] = calibration{from: r.To.UnixMilli()}
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
		for _, name := range conceptdrift.Names() {
			m.ConceptDrifts.WithLabelValues(mc.Name, name)
		}
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

// sessionError is a failure of the Kafka session (a transaction that could
// not end, a broker gone too long): Run starts a new session, with state
// restored from Kafka, rather than exit.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return e.err.Error() }
func (e *sessionError) Unwrap() error { return e.err }

// Run consumes until ctx ends or a fatal error occurs. On ctx's end it
// finishes the batch in flight, commits its transaction, and leaves the
// group (a static member keeps its place for the session timeout). A
// failed Kafka session is replaced by a new one: the member recovers by
// itself from broker restarts.
func (p *Processor) Run(ctx context.Context) error {
	base, err := ClientOpts(&p.cfg.Kafka)
	if err != nil {
		return err
	}
	p.base = base
	if err := p.loadReferences(); err != nil {
		return err
	}
	for {
		err := p.prepareTopics(ctx, base)
		if err == nil {
			err = p.session(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		var se *sessionError
		if !errors.As(err, &se) && !errors.Is(err, kerr.CoordinatorNotAvailable) && !isNetError(err) {
			return err
		}
		p.log.Warn("Kafka session failed; starting a new one from the committed state", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED)
}

// transactionalID names this member's transactions: stable across
// restarts, so that a restarted member fences its predecessor's open
// transaction at once, and distinct between members.
func (p *Processor) transactionalID() string {
	id := p.cfg.Kafka.InstanceID
	if id == "" {
		host, _ := os.Hostname()
		id = host + "-" + p.cfg.Listen
	}
	clean := []byte(id)
	for i, c := range clean {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			clean[i] = '_'
		}
	}
	return p.cfg.Kafka.Group + "-" + string(clean)
}

// transactionTimeout bounds how long a dead member's open transaction
// holds back readers of what it wrote.
func (p *Processor) transactionTimeout() time.Duration {
	return max(20*time.Second, 10*p.cfg.CommitInterval)
}

func (p *Processor) session(ctx context.Context) error {
	clear(p.paused) // a new client has nothing paused
	txnID := p.transactionalID()
	if err := fence(ctx, p.base, txnID, p.transactionTimeout()); err != nil {
		return &sessionError{fmt.Errorf("fencing the previous transactions of %s: %w", txnID, err)}
	}
	opts := append(slices.Clone(p.base),
		kgo.ConsumerGroup(p.cfg.Kafka.Group),
		kgo.ConsumeTopics(append(p.topics[:], p.partialsTopic)...),
		kgo.Balancers(CopartitionBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxPartitionBytes(int32(max(p.cfg.MaxRecordBytes, 1<<20)+64<<10)),
		kgo.SessionTimeout(p.cfg.Kafka.SessionTimeout),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(p.transactionTimeout()),
		kgo.RecordPartitioner(partitioner{manual: map[string]bool{p.partialsTopic: true, p.stateTopic: true}}),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.lost),
	)
	if p.cfg.Kafka.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(p.cfg.Kafka.InstanceID))
	}
	opts = append(opts, p.extraOpts...)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer func() {
		p.ready.Set(false)
		p.m.Ready.Set(0)
		sess.CloseAllowingRebalance() // leaves the group unless static
		p.mu.Lock()
		p.dropAll()
		p.mu.Unlock()
	}()

	inTxn := false
	var txnStart time.Time
	for {
		if ctx.Err() != nil && !inTxn {
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, p.pollInterval)
		fetches := sess.PollFetches(pctx)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
			}
		})
		p.mu.Lock()
		restoreErr := p.restoreErr
		p.restoreErr = nil
		p.mu.Unlock()
		if restoreErr != nil {
			return restoreErr
		}
		if !inTxn && p.rebalanced.Swap(false) {
			// A new assignment: what this poll fetched is dropped, and
			// an empty abort rewinds to the committed offsets that the
			// restored state goes with.
			if _, err := sess.End(context.WithoutCancel(ctx), kgo.TryAbort); err != nil {
				return &sessionError{fmt.Errorf("resetting after a rebalance: %w", err)}
			}
			sess.AllowRebalance()
			continue
		}
		if !inTxn {
			if err := sess.Begin(); err != nil {
				return &sessionError{fmt.Errorf("beginning a transaction: %w", err)}
			}
			inTxn, txnStart = true, time.Now()
		}
		err := p.batch(sess, fetches)
		if err == nil && p.onBatch != nil {
			p.onBatch(p.batchInputs)
		}
		if err == nil && p.afterBatch != nil {
			p.mu.Lock()
			p.afterBatch(p)
			p.mu.Unlock()
		}
		if err == nil && (time.Since(txnStart) >= p.cfg.CommitInterval || ctx.Err() != nil) {
			// The transaction is finished even if ctx ended meanwhile:
			// in-flight work is committed before leaving.
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err = p.commit(cctx, sess)
			ccancel()
			inTxn = false
			sess.AllowRebalance()
		}
		if err != nil {
			if inTxn {
				sess.End(context.WithoutCancel(ctx), kgo.TryAbort)
			}
			return err
		}
	}
}

// fence bumps the epoch of transactional id txnID, which aborts a
// transaction its previous holder (this member before a crash) left open:
// readers need not wait for it to time out.
func fence(ctx context.Context, base []kgo.Opt, txnID string, timeout time.Duration) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID = &txnID
	req.TransactionTimeoutMillis = int32(timeout.Milliseconds())
	req.ProducerID, req.ProducerEpoch = -1, -1
	deadline := time.Now().Add(timeout)
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, kerr.ConcurrentTransactions) && !errors.Is(err, kerr.CoordinatorLoadInProgress) && !errors.Is(err, kerr.NotCoordinator) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// partitioner places records of the internal topics on the partition they
// name, and every other record by key (Kafka's murmur2).
type partitioner struct{ manual map[string]bool }

func (pt partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if pt.manual[topic] {
		return kgo.ManualPartitioner().ForTopic(topic)
	}
	return kgo.StickyKeyPartitioner(nil).ForTopic(topic)
}

// prepareTopics checks that the input topics exist and are co-partitioned,
// and creates the internal, dead-letter and results topics when missing.
func (p *Processor) prepareTopics(ctx context.Context, base []kgo.Opt) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	if err := p.checkAccess(ctx, cl); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	n, err := WaitCopartitioned(ctx, cl, p.topicWait, p.topics[predictionsTopic], p.topics[outcomesTopic])
	if err != nil {
		return err
	}
	if err := EnsureTopics(ctx, adm, n, nil, p.cfg.Kafka.DeadLetterTopic, p.cfg.Kafka.ResultsTopic, p.topics[rekeyTopic], p.partialsTopic); err != nil {
		return err
	}
	compact := "compact"
	if err := EnsureTopics(ctx, adm, n, map[string]*string{"cleanup.policy": &compact}, p.stateTopic); err != nil {
		return err
	}
	// The internal topics may predate a change of the inputs' partition
	// count.
	if _, err := WaitCopartitioned(ctx, cl, p.topicWait, append(p.topics[:], p.partialsTopic, p.stateTopic)...); err != nil {
		return err
	}
	p.partitions = int(n)
	p.modelPartition = make([]int32, len(p.cfg.Models))
	part := kgo.StickyKeyPartitioner(nil).ForTopic("")
	for i, mc := range p.cfg.Models {
		p.modelPartition[i] = int32(part.Partition(&kgo.Record{Key: []byte(mc.Name)}, p.partitions))
	}
	return nil
}

// assigned takes over the assigned partitions: a partition kept from the
// previous generation keeps its state (nobody else can have processed it
// since this member's last commit: every generation passes through here);
// another is restored from its checkpoint before its records are fetched
// (franz-go fetches offsets once this callback returns), with /readyz
// not ready meanwhile.
func (p *Processor) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resumeAll(cl)
	p.rebalanced.Store(true)
	p.ready.Set(false)
	p.m.Ready.Set(0)
	now := time.Now()
	owned := map[int32]bool{}
	for _, part := range assigned[p.topics[predictionsTopic]] {
		owned[part] = true
	}
	for part := range p.workers {
		if !owned[part] {
			p.dropPartition(part)
		}
	}
	var restore []int32
	for part := range owned {
		if p.workers[part] == nil {
			restore = append(restore, part)
		}
	}
	slices.Sort(restore)
	start := time.Now()
	states, err := readState(ctx, p.base, p.stateTopic, restore)
	if err != nil {
		p.restoreErr = &sessionError{fmt.Errorf("restoring state: %w", err)}
		return
	}
	for _, part := range restore {
		st := states[part]
		w := newWorker(p, part, now)
		if st.worker.data != nil {
			if err := w.restoreState(st.worker.data, now); err != nil {
				p.restoreErr = fmt.Errorf("restoring partition %d: %w", part, err)
				return
			}
		}
		w.checkpoint = st.worker
		w.sent = progress{wm: w.wm.Current(), known: st.worker.data != nil}
		m := newMerger(p, part)
		if st.merger.data != nil {
			if err := m.restoreState(p, st.merger.data); err != nil {
				p.restoreErr = fmt.Errorf("restoring the aggregation of partition %d: %w", part, err)
				return
			}
		}
		m.checkpoint = st.merger
		p.workers[part], p.mergers[part] = w, m
		p.adoptCalibrators(m)
	}
	for topic, parts := range assigned {
		ti := p.topicIndex(topic)
		if ti < 0 {
			continue
		}
		for _, part := range parts {
			if w := p.workers[part]; w != nil {
				w.assigned[ti] = true
				w.sources[ti].Fetched(now, true)
			}
			p.m.ConsumerLag.WithLabelValues(topic, strconv.Itoa(int(part))).Set(0)
		}
	}
	p.m.Assigned.Set(float64(len(p.workers)))
	p.log.Info("partitions assigned", "assigned", assigned, "restored", restore, "restore_seconds", time.Since(start).Seconds())
	p.ready.Set(true)
	p.m.Ready.Set(1)
}

// calibration says how a model's predictions are calibrated for
// estimation: those before from with the identity, the others with c once
// known. A stream reference's calibrator is known only when the reference
// completes, at its end (from), on the member that aggregates the model;
// until a worker learns it, it defers those predictions' estimates
// (windows.Partial.Deferred), so that every prediction is estimated the
// same way whoever processes it and whenever.
type calibration struct {
	from  int64
	known bool
	c     *perf.Calibrator
}

// at returns the calibrator for a prediction at ms, or defer.
func (c *calibration) at(ms int64) (cal *perf.Calibrator, deferEstimate bool) {
	switch {
	case ms < c.from:
		return nil, false
	case !c.known:
		return nil, true
	}
	return c.c, false
}

// adoptCalibrators hands the calibrators merger m knows to every worker.
func (p *Processor) adoptCalibrators(m *merger) {
	for mi, c := range m.cals {
		if c.known && !p.cal[mi].known {
			p.cal[mi].known, p.cal[mi].c = true, c.c
		}
	}
}

// revoked keeps the partitions' state: with the eager protocol every
// rebalance revokes everything, and assigned drops what did not come back.
// The loop ends each transaction before it allows a rebalance, so the
// state is the committed one.
func (p *Processor) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.rebalanced.Store(true)
	p.log.Info("partitions revoked", "revoked", revoked)
}

// lost drops everything: another member may own the partitions by now.
func (p *Processor) lost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resumeAll(cl)
	p.rebalanced.Store(true)
	p.dropAll()
	p.log.Warn("partitions lost", "lost", lost)
}

func (p *Processor) dropAll() {
	for part := range p.workers {
		p.dropPartition(part)
	}
	p.m.Assigned.Set(0)
}

// dropPartition forgets partition part's worker and merger, and the series
// only their owner exports.
func (p *Processor) dropPartition(part int32) {
	for ti, topic := range p.topics {
		if w := p.workers[part]; w != nil && w.assigned[ti] {
			p.m.ConsumerLag.DeleteLabelValues(topic, strconv.Itoa(int(part)))
		}
	}
	delete(p.workers, part)
	if p.mergers[part] != nil {
		delete(p.mergers, part)
		for mi, mp := range p.modelPartition {
			if mp == part {
				p.forgetModelWindows(p.schema.Model(mi).Name)
			}
		}
	}
}

func (p *Processor) topicIndex(topic string) int {
	for i, t := range p.topics {
		if t == topic {
			return i
		}
	}
	return -1
}

// Partials-topic record kinds (header reckon.partial.kind).
const (
	HeaderPartialKind = "reckon.partial.kind"
	kindPartial       = "pane"
	kindProgress      = "progress"
	kindCalibrator    = "calibrator"
	partialsVersion   = 1
)

// batch processes one poll's records and everything that follows from
// them inside the open transaction. See the package documentation.
func (p *Processor) batch(sess *kgo.GroupTransactSession, fetches kgo.Fetches) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()

	var lags []lagUpdate
	var partials []*kgo.Record
	p.batchInputs = 0
	for _, w := range p.workers {
		w.fetched = [2]bool{}
	}
	fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
		if len(ft.Records) == 0 {
			return
		}
		if ft.Topic == p.partialsTopic {
			if p.mergers[ft.Partition] != nil {
				partials = append(partials, ft.Records...)
			}
			return
		}
		w, ti := p.workers[ft.Partition], p.topicIndex(ft.Topic)
		if w == nil || ti < 0 {
			return
		}
		w.recs[ti] = ft.Records
		if ti != rekeyTopic {
			p.batchInputs += len(ft.Records)
			w.fetched[ti] = true
		}
		last := ft.Records[len(ft.Records)-1]
		lag := max(ft.HighWatermark-(last.Offset+1), 0)
		w.sources[ti].Fetched(now, lag == 0)
		lags = append(lags, lagUpdate{ft.Topic, ft.Partition, lag})
	})

	maxTime := int64(0)
	if p.maxSkew > 0 {
		maxTime = now.Add(p.maxSkew).UnixMilli()
	}
	// Each worker processes its records and then advances its partition's
	// event time (harvesting closed panes for the partials topic) in a
	// goroutine of its own; a worker without records only advances.
	// The biggest batches start first: with more workers than cores the
	// batch ends sooner (longest processing time first).
	p.order = p.order[:0]
	for _, w := range p.workers {
		p.order = append(p.order, w)
	}
	slices.SortFunc(p.order, func(a, b *worker) int { return cmp.Compare(b.inputLen(), a.inputLen()) })
	var wg sync.WaitGroup
	for _, w := range p.order {
		wg.Go(func() {
			if w.hasInput() {
				w.process(maxTime)
			}
			w.panesOut, w.err = w.advance(p, now, w.panesOut[:0])
		})
	}
	// Meanwhile the loop does the mergers' work, which touches only
	// mergers: their input is small (a record per pane and partition),
	// closing windows is not. The workers read p.cal, so calibrators are
	// adopted after they finish.
	p.mergedOut = p.mergedOut[:0]
	err := p.merge(partials)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, m := range p.mergers {
		p.adoptCalibrators(m)
	}

	p.produce = p.produce[:0]
	for _, w := range p.workers {
		if w.err != nil {
			return w.err
		}
		p.produce = append(p.produce, w.dead...)
		p.produce = append(p.produce, w.forward...)
		p.produce = append(p.produce, w.panesOut...)
		w.dead, w.forward = w.dead[:0], w.forward[:0]
		clear(w.panesOut) // the producer owns the records now
	}
	p.produce = append(p.produce, p.mergedOut...)
	clear(p.mergedOut)
	p.send(sess, p.produce)
	p.align(sess.Client())
	for _, l := range lags {
		p.m.ConsumerLag.WithLabelValues(l.topic, strconv.Itoa(int(l.partition))).Set(float64(l.lag))
	}
	return nil
}

// send queues records in the transaction; a failure surfaces at commit.
// Their context is not the batch's: they are flushed when the transaction
// ends, after the batch.
func (p *Processor) send(sess *kgo.GroupTransactSession, recs []*kgo.Record) {
	for _, r := range recs {
		sess.Produce(context.Background(), r, p.onProduced)
	}
}

// merge hands the batch's partials-topic records to their mergers, then
// advances every merger: windows the group's watermark passed close, their
// results and completed stream references' calibrators go to
// p.mergedOut. It touches only the mergers and p.mergedOut.
func (p *Processor) merge(partials []*kgo.Record) error {
	for _, r := range partials {
		if err := p.mergePartial(r); err != nil {
			return err
		}
	}
	for _, m := range p.mergers {
		nc := len(m.completed)
		if err := m.advance(p.paneLength.Milliseconds()); err != nil {
			return err
		}
		for _, r := range m.closed[len(m.reports):] {
			rep := p.compare(m, r)
			m.reports = append(m.reports, rep)
			rec, err := p.resultRecord(r, rep)
			if err != nil {
				return err
			}
			p.mergedOut = append(p.mergedOut, rec)
		}
		for _, mi := range m.completed[nc:] {
			// Every member's workers calibrate with it from now on.
			var v []byte
			v = append(v, partialsVersion)
			v = binary.AppendUvarint(v, uint64(mi))
			if c := m.refs[mi].Calibrator; c != nil {
				var err error
				if v, err = c.AppendBinary(v); err != nil {
					return err
				}
			}
			for part := range p.partitions {
				p.mergedOut = append(p.mergedOut, &kgo.Record{
					Topic: p.partialsTopic, Partition: int32(part), Key: []byte(p.schema.Model(mi).Name), Value: v,
					Headers: []kgo.RecordHeader{{Key: HeaderPartialKind, Value: []byte(kindCalibrator)}},
				})
			}
		}
	}
	return nil
}

// mergePartial hands one partials-topic record to its merger.
func (p *Processor) mergePartial(r *kgo.Record) error {
	m := p.mergers[r.Partition]
	kind := headerValue(r, HeaderPartialKind)
	if len(r.Value) == 0 || r.Value[0] != partialsVersion {
		return fmt.Errorf("%s/%d@%d: unknown partials version (written by a newer reckon?)", r.Topic, r.Partition, r.Offset)
	}
	v := r.Value[1:]
	src, n := binary.Uvarint(v)
	if n <= 0 {
		return fmt.Errorf("%s/%d@%d: corrupt %s record", r.Topic, r.Partition, r.Offset, kind)
	}
	v = v[n:]
	switch kind {
	case kindPartial:
		part, _, err := m.agg.DecodePartial(v)
		if err != nil {
			return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		return m.addPartial(part)
	case kindProgress:
		wm, n := binary.Varint(v)
		if n <= 0 || len(v) != n+1 {
			return fmt.Errorf("%s/%d@%d: corrupt progress record", r.Topic, r.Partition, r.Offset)
		}
		return m.setProgress(int(src), wm, v[n] == 1)
	case kindCalibrator:
		mi := int(src)
		if mi >= len(m.cals) {
			return fmt.Errorf("%s/%d@%d: calibrator of model %d, %d configured", r.Topic, r.Partition, r.Offset, mi, len(m.cals))
		}
		c := new(perf.Calibrator)
		if len(v) > 0 {
			if err := c.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
		} else {
			c = nil
		}
		m.cals[mi] = calibration{known: true, c: c}
		m.dirty = true
		return nil // the loop adopts it once the workers are done
	}
	return fmt.Errorf("%s/%d@%d: unknown record kind %q", r.Topic, r.Partition, r.Offset, kind)
}

// commit checkpoints what changed, reports progress, and ends the
// transaction. Only a committed transaction counts: its counts reach the
// metrics and its windows the gauges. An aborted one rolls every worker
// and merger back to its last committed checkpoint, matching the offsets
// franz-go rewinds to.
func (p *Processor) commit(ctx context.Context, sess *kgo.GroupTransactSession) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if err := p.encodeCheckpoints(); err != nil {
		return err
	}
	p.produce = p.produce[:0]
	for part, w := range p.workers {
		if w.dirty {
			var recs []*kgo.Record
			recs, w.next = checkpointRecords(p.stateTopic, kindWorker, part, w.checkpoint, w.encoded)
			p.produce = append(p.produce, recs...)
		}
		pr := progress{wm: w.wm.Current(), known: true, idle: w.idle(now, p.cfg.IdleTimeout)}
		w.pendingSent = pr
		if pr != w.sent {
			v := appendProgress(nil, part, pr.wm, pr.idle)
			for k := range p.partitions {
				p.produce = append(p.produce, &kgo.Record{
					Topic: p.partialsTopic, Partition: int32(k), Value: v,
					Headers: []kgo.RecordHeader{{Key: HeaderPartialKind, Value: []byte(kindProgress)}},
				})
			}
		}
	}
	for part, m := range p.mergers {
		if m.dirty {
			var recs []*kgo.Record
			recs, m.next = checkpointRecords(p.stateTopic, kindMerger, part, m.checkpoint, m.encoded)
			p.produce = append(p.produce, recs...)
		}
	}
	p.send(sess, p.produce)
	p.produce = p.produce[:0]

	committed, err := sess.End(ctx, kgo.TryCommit)
	if perr := p.produceErr.Swap(nil); perr != nil {
		// A failed produce fails the transaction (End reports it).
		p.log.Warn("producing in the transaction failed", "err", *perr, "committed", committed)
	}
	if err == nil && !committed {
		p.log.Info("transaction aborted (rebalance); rolling back to the last checkpoint")
	}
	if err != nil || !committed {
		if rerr := p.rollback(now); rerr != nil {
			return rerr
		}
		if err != nil {
			return &sessionError{fmt.Errorf("ending the transaction: %w", err)}
		}
		return nil
	}
	p.committed()
	return nil
}

// encodeCheckpoints encodes the state of every changed worker and merger
// into its encoded field, in parallel: each touches only its own state,
// and encoding is most of a commit's work.
func (p *Processor) encodeCheckpoints() error {
	type job struct {
		what string // "" for a worker, "the aggregation of " for a merger
		part int32
		prev []byte
		s    interface{ appendState([]byte) ([]byte, error) }
		out  *[]byte
		err  error
	}
	var jobs []job
	for part, w := range p.workers {
		if w.dirty {
			jobs = append(jobs, job{"", part, w.checkpoint.data, w, &w.encoded, nil})
		}
	}
	for part, m := range p.mergers {
		if m.dirty {
			jobs = append(jobs, job{"the aggregation of ", part, m.checkpoint.data, m, &m.encoded, nil})
		}
	}
	var wg sync.WaitGroup
	for i := range jobs {
		j := &jobs[i]
		wg.Go(func() {
			if *j.out, j.err = j.s.appendState(make([]byte, 0, len(j.prev)+1024)); j.err != nil {
				j.err = fmt.Errorf("checkpointing %spartition %d: %w", j.what, j.part, j.err)
			}
		})
	}
	wg.Wait()
	var errs []error
	for _, j := range jobs {
		errs = append(errs, j.err)
	}
	return errors.Join(errs...)
}

// rollback returns every worker and merger to its committed checkpoint.
func (p *Processor) rollback(now time.Time) error {
	for part, old := range p.workers {
		w := newWorker(p, part, now)
		if old.checkpoint.data != nil {
			if err := w.restoreState(old.checkpoint.data, now); err != nil {
				return err
			}
		}
		w.checkpoint, w.sent, w.assigned = old.checkpoint, old.sent, old.assigned
		p.workers[part] = w
	}
	for part, old := range p.mergers {
		m := newMerger(p, part)
		if old.checkpoint.data != nil {
			if err := m.restoreState(p, old.checkpoint.data); err != nil {
				return err
			}
		}
		m.checkpoint = old.checkpoint
		p.mergers[part] = m
	}
	return nil
}

// committed applies a committed transaction to the metrics.
func (p *Processor) committed() {
	pending := 0
	for _, w := range p.workers {
		if w.dirty {
			w.checkpoint = w.next
		}
		w.sent, w.dirty = w.pendingSent, false
		pending += w.join.Pending()
	}
	p.observe()
	for _, w := range p.workers {
		p.apply(w)
	}
	p.m.Pending.Set(float64(pending))
	for _, m := range p.mergers {
		if m.dirty {
			m.checkpoint = m.next
		}
		for mi, n := range m.late {
			if n > 0 {
				p.m.LateEvents.WithLabelValues(p.schema.Model(mi).Name).Add(float64(n))
			}
		}
		for mi, ds := range m.drifts {
			if p.modelPartition[mi] != m.partition {
				continue
			}
			name := p.schema.Model(mi).Name
			for di, n := range ds {
				d := m.detectors[mi][di]
				if n > 0 {
					p.m.ConceptDrifts.WithLabelValues(name, d.Name()).Add(float64(n))
				}
				p.m.ConceptDriftActive.WithLabelValues(name, d.Name()).Set(b2f(d.InDrift()))
			}
		}
		for i, r := range m.closed {
			p.publishWindow(r, m.reports[i])
		}
		for _, mi := range m.completed {
			ref := m.refs[mi]
			p.log.Info("reference complete", "model", p.schema.Model(mi).Name, "predictions", ref.Predictions, "joined", ref.Perf.Count())
			p.m.ReferenceComplete.WithLabelValues(p.schema.Model(mi).Name).Set(1)
		}
		m.resetTxn()
	}
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

// observe adds a committed transaction's histogram observations to the
// metrics while every worker waits. Each goroutine owns one histogram and
// hands it every worker's values with one ObserveBatch each: batches cost
// ~12 ns a value (client_golang's Observe ~80, more when goroutines share
// a histogram), and the workers' idle cores still cut the time when free
// (BenchmarkObserve on 2 shared cores: 1.02-1.85 ms a commit, against
// 1.82-2.05 serially).
func (p *Processor) observe() {
	var wg sync.WaitGroup
	for mi := range p.latency {
		for _, h := range [...]struct {
			h    *exporter.BatchHistogram
			vals func(*modelStats) *[]float64
		}{
			{p.latency[mi], func(ms *modelStats) *[]float64 { return &ms.latencies }},
			{p.score[mi], func(ms *modelStats) *[]float64 { return &ms.scores }},
			{p.labelDelay[mi], func(ms *modelStats) *[]float64 { return &ms.labelDelays }},
		} {
			wg.Go(func() {
				for _, w := range p.workers {
					vs := h.vals(&w.stats.models[mi])
					h.h.ObserveBatch(*vs)
					*vs = (*vs)[:0]
				}
			})
		}
	}
	wg.Wait()
}

// apply adds a committed transaction's counts to the metrics and resets
// them.
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
}
