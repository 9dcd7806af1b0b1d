package consumer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
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
	"github.com/reckonhq/reckon/reference"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/join"
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

// WithCommitObserver calls fn, on the processor's loop, after each
// transaction ends with how long the commit took: from queuing the state
// changes to the end of the transaction, committed or not. It is for
// measuring (reckon bench); it must return quickly.
func WithCommitObserver(fn func(d time.Duration, committed bool)) Option {
	return func(p *Processor) { p.onCommit = fn }
}

// WithClock sets the wall clock that idleness is measured by (default
// time.Now). Tests use a clock of their own to make idle_timeout
// deterministic; nothing else reads it.
func WithClock(now func() time.Time) Option { return func(p *Processor) { p.now = now } }

// WithUntilEnd makes Run read every input partition up to the end offsets
// it finds at start, close every window that holds events, publish, commit
// and return nil (reckon run --until-end).
func WithUntilEnd() Option { return func(p *Processor) { p.untilEnd = true } }

// Processor is one member of reckon's consumer group: the Kafka runtime of
// the event-time core (package windows). It reads the input topics as a
// consumer-group member, decodes records and hands them to each partition's
// core, carries the cores' messages between members through the partials
// topic, checkpoints their state changes to the state topic, and commits
// all of it with the input offsets in one Kafka transaction per
// commit_interval. See the package documentation.
type Processor struct {
	cfg          *config.Config
	m            *exporter.Metrics
	log          *slog.Logger
	ready        *exporter.Readiness
	extraOpts    []kgo.Opt
	maxSkew      time.Duration
	pollInterval time.Duration
	now          func() time.Time
	untilEnd     bool
	// topicWait bounds how long start-up waits for a missing topic to
	// appear in metadata.
	topicWait time.Duration
	onBatch   func(records int)
	onCommit  func(d time.Duration, committed bool)
	// afterBatch, for tests, runs on the loop after each batch, with mu
	// held and the tasks idle.
	afterBatch func(*Processor)

	schema *event.Schema
	set    *windows.Settings
	cals   windows.Calibrations
	topics [numInputTopics]string
	// The internal topics: the cores' messages between members, their
	// state changelog, and the join's changelog (join.go).
	partialsTopic, stateTopic, joinTopic string
	// stateDir is this member's local state directory (join.go), and
	// joinRetention the join changelog's delete.retention.ms.
	stateDir      string
	joinRetention time.Duration
	// joinWrites tracks the join changelog records of the open transaction.
	joinWrites joinWrites
	// modelKeys are the models' names as record keys.
	modelKeys [][]byte
	base      []kgo.Opt

	// mu guards tasks, aggregations and state between the rebalance
	// callbacks and the loop. The loop holds it for a whole batch;
	// callbacks run only between transactions (BlockRebalanceOnPoll), so
	// it is never contended per event.
	mu    sync.Mutex
	tasks map[int32]*task
	aggs  map[int32]*windows.Aggregation
	state map[int32]*stateLog
	// rebalanced is set by the callbacks: the loop drops what the poll
	// returned and starts again from the committed offsets.
	rebalanced atomic.Bool
	// revoking is set from the revocation of a rebalance until its
	// assignment (or loss): meanwhile another member may have restored
	// the revoked partitions, and whatever this one wrote for them (an
	// idle flush of their panes, say) would count twice. A transaction
	// with no input offsets commits without a membership check, so the
	// loop begins none.
	revoking   atomic.Bool
	restoreErr error
	// batchLimit is the largest record batch every topic reckon writes
	// takes (topics.go).
	batchLimit int64
	// group is the group watermark as this member knows it: the highest of
	// its aggregations' (windows.Partition.Advance).
	group int64
	// ends are the input partitions' end offsets found at start
	// (WithUntilEnd), and next each owned partition's next offset to read,
	// as of the open transaction and as of the last committed one.
	ends, next, nextCommitted map[topicPartition]int64

	// Loop-owned scratch, reused across batches.
	produce     []*kgo.Record
	mergedOut   []*kgo.Record // the aggregations' output of a batch
	batchInputs int           // input-topic records of the batch (WithBatchObserver)

	// paused is the input topic paused per partition, slack how far ahead
	// one may run (align.go).
	paused map[int32]int
	slack  int64
	order  []*task // the batch's tasks, biggest input first

	counts []*windows.Counts // scratch of committed
	// stateBytes and joinBytes are what the open transaction writes to the
	// state and join changelogs.
	stateBytes, joinBytes int
	joinRecs              []*kgo.Record // scratch: the join changelog's records
	produceErr            atomic.Pointer[error]
	// commits counts the transactions committed, for tests that wait for
	// one.
	commits atomic.Uint64
}

type topicPartition struct {
	topic     int
	partition int32
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
		now:           time.Now,
		topicWait:     DefaultTopicWait,
		paused:        map[int32]int{},
		slack:         alignSlack(cfg.AllowedLateness),
		schema:        event.SchemaFromConfig(cfg),
		topics:        [numInputTopics]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic, cfg.Kafka.Group + "-rekey"},
		partialsTopic: cfg.Kafka.Group + "-partials",
		stateTopic:    cfg.Kafka.Group + "-state",
		joinTopic:     cfg.Kafka.Group + "-join",
		joinRetention: 24 * time.Hour,
		tasks:         make(map[int32]*task),
		aggs:          make(map[int32]*windows.Aggregation),
		state:         make(map[int32]*stateLog),
		group:         windows.Unset,
		joinWrites:    joinWrites{next: map[int32]int64{}},
	}
	for _, o := range opts {
		o(p)
	}
	for _, mc := range cfg.Models {
		p.modelKeys = append(p.modelKeys, []byte(mc.Name))
	}
	p.initTopicMetrics()
	return p
}

// sessionError is a failure of the Kafka session (a transaction that could
// not end, a broker gone too long): Run starts a new session, with state
// restored from Kafka, rather than exit.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return e.err.Error() }
func (e *sessionError) Unwrap() error { return e.err }

// errFinished ends a session of a member run WithUntilEnd that has done its
// work.
var errFinished = errors.New("consumer: read to the end")

// Run consumes until ctx ends or a fatal error occurs. On ctx's end it
// finishes the batch in flight, commits its transaction, and leaves the
// group (a static member keeps its place for the session timeout). A
// failed Kafka session is replaced by a new one: the member recovers by
// itself from broker restarts. WithUntilEnd, it returns nil once its work
// is done.
func (p *Processor) Run(ctx context.Context) error {
	base, err := ClientOpts(&p.cfg.Kafka)
	if err != nil {
		return err
	}
	p.base = base
	files, err := p.loadReferences()
	if err != nil {
		return err
	}
	if p.set, err = windows.NewSettings(p.cfg, files); err != nil {
		return err
	}
	p.cals = windows.NewCalibrations(p.set)
	p.m.InitModels(p.set)
	dir, cleanup, err := p.openStateDir()
	if err != nil {
		return err
	}
	defer cleanup()
	p.stateDir = dir
	for {
		err := p.prepareTopics(ctx, base)
		if err == nil {
			err = p.session(ctx)
		}
		if errors.Is(err, errFinished) {
			return nil
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

// offline sets p up as Run does before it touches Kafka, for the given
// partition count: for tests and benchmarks that drive a processor without
// a broker.
func (p *Processor) offline(partitions int) error {
	files, err := p.loadReferences()
	if err != nil {
		return err
	}
	if p.set, err = windows.NewSettings(p.cfg, files); err != nil {
		return err
	}
	p.cals = windows.NewCalibrations(p.set)
	p.set.SetTopology(partitions, modelPartitions(p.cfg, partitions))
	return nil
}

// modelPartitions places each model's aggregation: on the partition of its
// name, as Kafka's default partitioner would place a record keyed by it.
func modelPartitions(cfg *config.Config, partitions int) []int32 {
	part := kgo.StickyKeyPartitioner(nil).ForTopic("")
	out := make([]int32, len(cfg.Models))
	for i, mc := range cfg.Models {
		out[i] = int32(part.Partition(&kgo.Record{Key: []byte(mc.Name)}, partitions))
	}
	return out
}

// loadReferences loads the models' reference profile files, before
// anything touches Kafka: a missing or mismatched profile is a
// configuration error.
func (p *Processor) loadReferences() ([]*windows.Reference, error) {
	files := make([]*windows.Reference, len(p.cfg.Models))
	layout := windows.LayoutOf(p.cfg)
	for i := range p.cfg.Models {
		mc := &p.cfg.Models[i]
		if mc.Reference == nil || mc.Reference.IsRange() {
			continue
		}
		ref, err := reference.Load(mc.Reference.File, mc, layout, i)
		if err != nil {
			return nil, fmt.Errorf("models[%d] (%s) reference file: %w", i, mc.Name, err)
		}
		files[i] = ref
		p.log.Info("reference loaded", "model", mc.Name, "file", mc.Reference.File, "predictions", ref.Predictions)
	}
	return files, nil
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
	if p.untilEnd && p.ends == nil {
		ends, err := endOffsets(ctx, p.base, p.topics[predictionsTopic], p.topics[outcomesTopic])
		if err != nil {
			return &sessionError{err}
		}
		p.ends = ends
		p.next, p.nextCommitted = map[topicPartition]int64{}, map[topicPartition]int64{}
	}
	opts := append(slices.Clone(p.base),
		kgo.ConsumerGroup(p.cfg.Kafka.Group),
		kgo.ConsumeTopics(append(p.topics[:], p.partialsTopic)...),
		kgo.Balancers(CopartitionBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) take offsets: kept, a
		// partition's position and lag reach its end, so that idleness
		// and the end of an --until-end read can be told. Tasks skip them.
		kgo.KeepControlRecords(),
		kgo.FetchMaxPartitionBytes(int32(max(p.cfg.MaxRecordBytes, 1<<20)+64<<10)),
		// Kafka takes a batch no larger than its topic's
		// max.message.bytes: the smallest of the topics reckon writes.
		kgo.ProducerBatchMaxBytes(int32(p.batchLimit)),
		kgo.SessionTimeout(p.cfg.Kafka.SessionTimeout),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(p.transactionTimeout()),
		kgo.RecordPartitioner(partitioner{manual: map[string]bool{p.partialsTopic: true, p.stateTopic: true, p.joinTopic: true}}),
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
		if !inTxn && p.revoking.Load() {
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
			var committed bool
			// The debug lines bracket the commit: a test that kills reckon
			// during one (integration's TestPendingKill) waits for the first.
			p.log.Debug("committing a transaction")
			commitStart := time.Now()
			committed, err = p.commit(cctx, sess)
			ccancel()
			p.log.Debug("transaction ended", "committed", committed, "err", err, "seconds", time.Since(commitStart).Seconds())
			if p.onCommit != nil {
				p.onCommit(time.Since(commitStart), committed && err == nil)
			}
			inTxn = false
			sess.AllowRebalance()
			if err == nil && committed && p.untilEnd && p.done() {
				p.log.Info("read every input partition to the end offsets found at start; every window holding events is closed and published")
				return errFinished
			}
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

// assigned takes over the assigned partitions: a partition kept from the
// previous generation keeps its state (nobody else can have processed it
// since this member's last commit: every generation passes through here);
// another is restored from the state topic before its records are fetched
// (franz-go fetches offsets once this callback returns), with /readyz not
// ready meanwhile.
func (p *Processor) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resumeAll(cl)
	p.rebalanced.Store(true)
	p.revoking.Store(false)
	p.ready.Set(false)
	p.m.Ready.Set(0)
	now := p.now()
	owned := map[int32]bool{}
	for _, part := range assigned[p.topics[predictionsTopic]] {
		owned[part] = true
	}
	for part := range p.tasks {
		if !owned[part] {
			p.dropPartition(part)
		}
	}
	var restore []int32
	for part := range owned {
		if p.tasks[part] == nil {
			restore = append(restore, part)
		}
	}
	slices.Sort(restore)
	start := time.Now()
	logs, err := readState(ctx, p.base, p.stateTopic, restore)
	if err == nil && p.untilEnd {
		err = p.startOffsets(ctx, cl, restore)
	}
	var stores map[int32]*join.DiskStore
	if err == nil {
		stores, err = p.openJoins(ctx, restore, p.cfg.StateMemory/int64(max(1, len(owned))))
	}
	if err != nil {
		p.restoreErr = &sessionError{fmt.Errorf("restoring state: %w", err)}
		return
	}
	for _, part := range restore {
		core, agg, err := p.restore(part, logs[part], stores[part], now)
		if err != nil {
			for _, st := range stores {
				st.Close()
			}
			p.restoreErr = fmt.Errorf("restoring partition %d: %w", part, err)
			return
		}
		t := p.newTask(part, core)
		p.tasks[part], p.aggs[part], p.state[part] = t, agg, logs[part]
		p.cals.Adopt(agg)
		p.group = max(p.group, agg.Watermark())
	}
	for topic, parts := range assigned {
		ti := p.topicIndex(topic)
		if ti < 0 {
			continue
		}
		for _, part := range parts {
			if t := p.tasks[part]; t != nil {
				t.assigned[ti] = true
				if ti < rekeyTopic {
					t.part.Fetched(coreTopic[ti], now, true)
				}
			}
			p.setLag(topic, part, 0)
		}
	}
	p.m.Assigned.Set(float64(len(p.tasks)))
	p.log.Info("partitions assigned", "assigned", assigned, "restored", restore, "restore_seconds", time.Since(start).Seconds())
	p.ready.Set(true)
	p.m.Ready.Set(1)
}

// revoked keeps the partitions' state: with the eager protocol every
// rebalance revokes everything, and assigned drops what did not come back.
// The loop ends each transaction before it allows a rebalance, so the
// state is the committed one.
func (p *Processor) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.revoking.Store(true)
	p.rebalanced.Store(true)
	p.log.Info("partitions revoked", "revoked", revoked)
}

// lost drops everything: another member may own the partitions by now.
func (p *Processor) lost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resumeAll(cl)
	p.rebalanced.Store(true)
	p.revoking.Store(false)
	p.dropAll()
	p.log.Warn("partitions lost", "lost", lost)
}

func (p *Processor) dropAll() {
	for part := range p.tasks {
		p.dropPartition(part)
	}
	p.group = windows.Unset
	p.m.Assigned.Set(0)
}

// dropPartition forgets partition part's task and aggregation, and the
// series only their owner exports.
func (p *Processor) dropPartition(part int32) {
	if t := p.tasks[part]; t != nil {
		for ti, topic := range p.topics {
			if t.assigned[ti] {
				p.deleteLag(topic, part)
			}
		}
	}
	if t := p.tasks[part]; t != nil {
		if err := t.part.JoinStore().Close(); err != nil {
			p.log.Warn("closing the join store", "partition", part, "err", err)
		}
	}
	delete(p.tasks, part)
	delete(p.state, part)
	if a := p.aggs[part]; a != nil {
		delete(p.aggs, part)
		for mi, name := range p.set.Models {
			if a.Owns(mi) {
				p.m.ForgetModel(name) // whoever aggregates it now exports them
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

// batch processes one poll's records and everything that follows from
// them inside the open transaction. See the package documentation.
func (p *Processor) batch(sess *kgo.GroupTransactSession, fetches kgo.Fetches) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()

	var partials []*kgo.Record
	p.batchInputs = 0
	for _, t := range p.tasks {
		t.fetched = [2]bool{}
	}
	fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
		if len(ft.Records) == 0 {
			return
		}
		last := ft.Records[len(ft.Records)-1]
		if ft.Topic == p.partialsTopic {
			if p.aggs[ft.Partition] != nil {
				partials = append(partials, dropControl(ft.Records)...)
			}
			return
		}
		t, ti := p.tasks[ft.Partition], p.topicIndex(ft.Topic)
		if t == nil || ti < 0 {
			return
		}
		recs := ft.Records
		if p.untilEnd && ti != rekeyTopic {
			p.next[topicPartition{ti, ft.Partition}] = last.Offset + 1
		}
		t.recs[ti] = dropControl(recs)
		if ti != rekeyTopic {
			p.batchInputs += len(t.recs[ti])
			t.fetched[ti] = true
		}
		lag := max(ft.HighWatermark-(last.Offset+1), 0)
		if ti < rekeyTopic {
			t.part.Fetched(coreTopic[ti], now, lag == 0)
		}
		p.setLag(ft.Topic, ft.Partition, lag)
	})

	// Event-time guards are against the real clock: WithClock only moves
	// idleness.
	wall := time.Now()
	maxTime := int64(0)
	if p.maxSkew > 0 {
		maxTime = wall.Add(p.maxSkew).UnixMilli()
	}
	// Each task processes its records and then advances its partition's
	// event time (harvesting closed panes for the partials topic) in a
	// goroutine of its own; a task without records only advances.
	// The biggest batches start first: with more tasks than cores the
	// batch ends sooner (longest processing time first).
	p.order = p.order[:0]
	for _, t := range p.tasks {
		p.order = append(p.order, t)
	}
	slices.SortFunc(p.order, func(a, b *task) int { return cmp.Compare(b.inputLen(), a.inputLen()) })
	group := p.group
	var wg sync.WaitGroup
	for _, t := range p.order {
		wg.Go(func() {
			if t.inputLen() > 0 {
				t.process(wall, maxTime)
			}
			if p.untilEnd && !t.part.Finished() && p.readToEnd(t.partition) {
				t.part.Finish()
			}
			t.advance(p, now, group)
		})
	}
	// Meanwhile the loop does the aggregations' work, which touches only
	// aggregations: their input is small (a record per pane and
	// partition), closing windows is not. The tasks read p.cals, so
	// calibrators are adopted after they finish.
	p.mergedOut = p.mergedOut[:0]
	err := p.aggregate(partials)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, a := range p.aggs {
		p.cals.Adopt(a)
		p.group = max(p.group, a.Watermark())
	}

	p.produce = p.produce[:0]
	for _, t := range p.tasks {
		if t.err != nil {
			return errPartition(t.partition, t.err)
		}
		p.produce = append(p.produce, t.dead...)
		p.produce = append(p.produce, t.forward...)
		p.produce = append(p.produce, t.panesOut...)
		clear(t.dead)
		clear(t.forward)
		clear(t.panesOut) // the producer owns the records now
		t.dead, t.forward, t.panesOut = t.dead[:0], t.forward[:0], t.panesOut[:0]
	}
	p.produce = append(p.produce, p.mergedOut...)
	clear(p.mergedOut)
	p.send(sess, p.produce)
	p.align(sess.Client())
	return nil
}

// dropControl removes control records (transaction markers) from recs, in
// place: they only take offsets.
func dropControl(recs []*kgo.Record) []*kgo.Record {
	n := 0
	for _, r := range recs {
		if !r.Attrs.IsControl() {
			recs[n] = r
			n++
		}
	}
	return recs[:n]
}

// send queues records in the transaction; a failure surfaces at commit.
// Their context is not the batch's: they are flushed when the transaction
// ends, after the batch.
func (p *Processor) send(sess *kgo.GroupTransactSession, recs []*kgo.Record) {
	for _, r := range recs {
		sess.Produce(context.Background(), r, p.onProduced)
	}
}

// aggregate hands the batch's partials-topic records to their aggregations,
// then advances every aggregation: the results of the windows the group's
// watermark passed, and the calibrators of completed stream references, go
// to p.mergedOut. It touches only the aggregations and p.mergedOut.
func (p *Processor) aggregate(partials []*kgo.Record) error {
	for _, r := range partials {
		if err := p.receive(p.aggs[r.Partition], r); err != nil {
			return err
		}
	}
	for _, a := range p.aggs {
		out := a.Output()
		closed, completed := len(out.Closed), len(out.Completed)
		if err := a.Advance(); err != nil {
			return fmt.Errorf("aggregation of partition %d: %w", a.ID(), err)
		}
		for _, rec := range out.Closed[closed:] {
			r, err := p.resultRecord(rec)
			if err != nil {
				return err
			}
			p.mergedOut = append(p.mergedOut, r)
		}
		for _, mi := range out.Completed[completed:] {
			// Every member's partitions calibrate with it from now on.
			v, err := windows.AppendCalibratorMessage(nil, mi, a.Reference(mi).Calibrator)
			if err != nil {
				return err
			}
			p.mergedOut = p.broadcast(p.mergedOut, windows.KindCalibrator, p.modelKeys[mi], v)
		}
	}
	return nil
}

// commit reports every partition's progress, writes the state changes, and
// ends the transaction. Only a committed transaction counts: its counts
// reach the metrics and its windows the gauges. An aborted one rolls every
// partition and aggregation back to its committed state, matching the
// offsets franz-go rewinds to. It reports whether the transaction
// committed.
func (p *Processor) commit(ctx context.Context, sess *kgo.GroupTransactSession) (bool, error) {
	now := p.now()
	if err := p.sendChanges(sess, now); err != nil {
		return false, err
	}
	// The lock is not held while the transaction ends: franz-go runs
	// OnPartitionsLost, which takes it, while End waits for it.
	//
	// Every record of the transaction must be written before it commits:
	// End would commit the offsets whatever a record's promise said (a
	// record the broker refused, MESSAGE_TOO_LARGE say, fails alone). So
	// flush first and abort on any failure.
	ferr := sess.Client().Flush(ctx)
	perr := p.produceErr.Swap(nil)
	if perr == nil && p.joinWrites.err != nil {
		perr = &p.joinWrites.err
	}
	if perr != nil || ferr != nil {
		if perr != nil {
			ferr = *perr
		}
		if _, aerr := sess.End(ctx, kgo.TryAbort); aerr != nil {
			ferr = errors.Join(ferr, aerr)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if rerr := p.rollback(now); rerr != nil {
			return false, rerr
		}
		p.log.Error("writing the transaction's records failed; it was aborted and nothing past it committed", "err", ferr)
		// Only a broker's definite, non-retriable refusal (too large, not
		// authorized) stops the processor; anything else (a closed or
		// dropped connection, a timeout) ends the session and retries.
		if fatalProduce(ferr) {
			return false, &ProduceError{Err: ferr}
		}
		return false, &sessionError{fmt.Errorf("writing the transaction's records: %w", ferr)}
	}
	committed, err := sess.End(ctx, kgo.TryCommit)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && !committed {
		p.log.Info("transaction aborted (rebalance); rolling back to the committed state")
	}
	if err != nil || !committed {
		if rerr := p.rollback(now); rerr != nil {
			return false, rerr
		}
		if err != nil {
			return false, &sessionError{fmt.Errorf("ending the transaction: %w", err)}
		}
		return false, nil
	}
	if err := p.committed(); err != nil {
		return true, &sessionError{err}
	}
	return true, nil
}

// sendChanges queues the end of a transaction's records: every partition's
// flushed panes and progress, and every state change.
func (p *Processor) sendChanges(sess *kgo.GroupTransactSession, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.produce = p.produce[:0]
	var errs []error
	for part, t := range p.tasks {
		// Panes flushed by an idle partition go before its progress.
		var pr windows.Progress
		var changed bool
		t.harvest, pr, changed = t.part.Report(now, p.group, t.harvest[:0])
		var err error
		p.produce, err = p.paneRecords(p.produce, t.harvest)
		t.part.Release(t.harvest)
		errs = append(errs, err)
		if changed {
			p.produce = p.broadcast(p.produce, windows.KindProgress, nil, windows.AppendProgressMessage(nil, pr))
		}
		errs = append(errs, t.part.AppendChanges(p.state[part].emit))
		errs = append(errs, t.part.JoinStore().Changes(func(k, v []byte) {
			// k and v stay valid until the store commits or aborts.
			p.joinRecs = append(p.joinRecs, &kgo.Record{Topic: p.joinTopic, Partition: part, Key: k, Value: v})
		}))
	}
	for part, a := range p.aggs {
		errs = append(errs, a.AppendChanges(p.state[part].emit))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpointing: %w", err)
	}
	for part, l := range p.state {
		p.produce = l.records(p.produce, p.stateTopic, part)
	}
	p.stateBytes, p.joinBytes = 0, 0
	for _, r := range p.produce {
		if r.Topic == p.stateTopic {
			p.stateBytes += len(r.Key) + len(r.Value)
		}
	}
	for _, r := range p.joinRecs {
		p.joinBytes += len(r.Key) + len(r.Value)
	}
	p.send(sess, p.produce)
	clear(p.produce)
	p.produce = p.produce[:0]
	p.joinWrites.reset()
	for _, r := range p.joinRecs {
		sess.Produce(context.Background(), r, p.joinWrites.produced)
	}
	clear(p.joinRecs)
	p.joinRecs = p.joinRecs[:0]
	return nil
}

// rollback returns every partition and aggregation to its committed state.
func (p *Processor) rollback(now time.Time) error {
	if p.untilEnd {
		clear(p.next)
		maps.Copy(p.next, p.nextCommitted)
	}
	for part, l := range p.state {
		l.abort()
		st := p.tasks[part].part.JoinStore()
		st.Abort()
		core, agg, err := p.restore(part, l, st, now)
		if err != nil {
			return err
		}
		p.tasks[part].part = core
		p.aggs[part] = agg
	}
	p.group = windows.Unset
	for _, a := range p.aggs {
		p.group = max(p.group, a.Watermark())
	}
	return nil
}

// committed applies a committed transaction to the local state and the
// metrics. An error of a join store leaves it behind the changelog: a new
// session reopens it and replays the changelog's tail.
func (p *Processor) committed() error {
	var errs []error
	for part, t := range p.tasks {
		st := t.part.JoinStore()
		at, ok := p.joinWrites.next[part]
		if !ok {
			at = st.Position()
		}
		errs = append(errs, st.Commit(at))
	}
	for _, l := range p.state {
		l.commit()
	}
	if p.untilEnd {
		maps.Copy(p.nextCommitted, p.next)
	}
	pending := 0
	p.counts = p.counts[:0]
	for _, t := range p.tasks {
		pending += t.part.Pending()
		p.counts = append(p.counts, t.part.Counts())
	}
	p.m.ObserveCounts(p.set, p.counts)
	for _, t := range p.tasks {
		p.applyRecordStats(&t.stats)
		p.m.ApplyCounts(p.set, t.part.Counts())
	}
	p.m.Pending.Set(float64(pending))
	p.m.StateWritten.WithLabelValues(p.stateTopic).Add(float64(p.stateBytes))
	p.m.StateWritten.WithLabelValues(p.joinTopic).Add(float64(p.joinBytes))
	var mem, disk int64
	for _, t := range p.tasks {
		mem += t.part.JoinStore().MemoryBytes()
		disk += t.part.JoinStore().DiskBytes()
	}
	p.m.StateBytes.WithLabelValues("memory").Set(float64(mem))
	p.m.StateBytes.WithLabelValues("disk").Set(float64(disk))
	for _, a := range p.aggs {
		p.logCompleted(a)
		p.m.ApplyOutput(p.set, a.Output())
		a.ResetOutput()
	}
	p.commits.Add(1)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("committing the join stores: %w", err)
	}
	return nil
}

// ProduceError is a record reckon could not write and will never be able
// to, as configured: the transaction holding it was aborted, nothing past
// it was committed, and the processor stops rather than retry forever.
type ProduceError struct{ Err error }

func (e *ProduceError) Error() string {
	return fmt.Sprintf("a record could not be written (%v); its transaction was aborted and nothing past it committed: check the topic's max.message.bytes and the principal's permissions", e.Err)
}

func (e *ProduceError) Unwrap() error { return e.Err }

// fatalProduce reports whether err is a broker's refusal that a retry
// cannot change: a Kafka error code that is not retriable. Client-side
// errors (client closed, connection reset, deadline) are not.
func fatalProduce(err error) bool {
	var ke *kerr.Error
	return errors.As(err, &ke) && !ke.Retriable
}

func (p *Processor) onProduced(r *kgo.Record, err error) {
	if err != nil {
		err = fmt.Errorf("topic %s: %w", r.Topic, err)
		p.produceErr.CompareAndSwap(nil, &err)
	}
}

// readToEnd reports whether both input partitions of part have been read to
// the end offsets found at start (WithUntilEnd).
func (p *Processor) readToEnd(part int32) bool {
	for _, ti := range []int{predictionsTopic, outcomesTopic} {
		k := topicPartition{ti, part}
		if end := p.ends[k]; end > 0 && p.next[k] < end {
			return false
		}
	}
	return true
}

// startOffsets sets where the given input partitions start being read
// (WithUntilEnd): the group's committed offsets, or their log start.
func (p *Processor) startOffsets(ctx context.Context, cl *kgo.Client, parts []int32) error {
	adm := kadm.NewClient(cl)
	committed, err := adm.FetchOffsets(ctx, p.cfg.Kafka.Group)
	if err != nil {
		return fmt.Errorf("fetching the committed offsets of group %s: %w", p.cfg.Kafka.Group, err)
	}
	topics := []string{p.topics[predictionsTopic], p.topics[outcomesTopic]}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing the start offsets of %v: %w", topics, err)
	}
	for ti, topic := range topics {
		for _, part := range parts {
			k := topicPartition{ti, part}
			at := int64(0)
			if o, ok := starts.Lookup(topic, part); ok && o.Err == nil {
				at = o.Offset
			}
			if o, ok := committed.Lookup(topic, part); ok && o.Err == nil && o.At >= 0 {
				at = o.At
			}
			p.next[k], p.nextCommitted[k] = at, at
		}
	}
	return nil
}

// done reports whether a member run WithUntilEnd has done its work: every
// partition it owns has finished and reported so, and every aggregation it
// owns has closed everything.
func (p *Processor) done() bool {
	if len(p.tasks) == 0 {
		return false
	}
	for _, t := range p.tasks {
		if pr, ok := t.part.Reported(); !ok || !pr.Finished {
			return false
		}
	}
	for _, a := range p.aggs {
		if !a.Done() {
			return false
		}
	}
	return true
}
