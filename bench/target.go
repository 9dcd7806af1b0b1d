package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/consumer"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/simulate"
)

// runTarget publishes the records to brokers and measures the ceiling, the
// full pipeline and the latency there.
func runTarget(ctx context.Context, o *Options, t *Target, brokers []string, r *Report) error {
	cfg, err := simulate.Config(o.Traffic, o.LatencyDuration > 0)
	if err != nil {
		return err
	}
	if o.CommitInterval > 0 {
		cfg.CommitInterval = o.CommitInterval
	}
	r.Params.CommitInterval = cfg.CommitInterval.Seconds()
	k := benchKafka(&cfg.Kafka, brokers)
	if err := consumer.CreateTopicsOn(ctx, brokers, int32(o.Partitions), k.PredictionsTopic, k.OutcomesTopic); err != nil {
		return err
	}
	var groups []string
	if !t.Embedded {
		defer func() {
			deleteAll(brokers, groups, o.Log, k.PredictionsTopic, k.OutcomesTopic, k.DeadLetterTopic, k.ResultsTopic)
		}()
	}
	g := simulate.New(o.Traffic)
	fmt.Fprintf(o.Log, "bench:   producing %d records\n", o.Events)
	rate, size, err := produce(ctx, cfg, g, o.Events)
	if err != nil {
		return err
	}
	t.ProduceEventsPerSec = rate
	r.Params.Predictions, r.Params.Outcomes = g.Emitted()
	r.Params.MeanRecordBytes = size
	fmt.Fprintf(o.Log, "bench:   produced at %.0f records/s\n", rate)

	total := uint64(o.Events)
	type pair struct {
		ceiling, full  Phase
		pending, ratio float64
		written        [2]float64
	}
	var pairs []pair
	for i := range o.Repeat {
		last := i == o.Repeat-1
		run := ""
		if o.Repeat > 1 {
			run = fmt.Sprintf(" (run %d of %d)", i+1, o.Repeat)
		}
		rc := *cfg // a consumer group of its own: each full run starts from the earliest offsets
		rc.Kafka.Group = fmt.Sprintf("%s-%d", k.Group, i)
		groups = append(groups, rc.Kafka.Group)
		var pr pair
		fmt.Fprintf(o.Log, "bench:   ceiling: consume + decode%s\n", run)
		if pr.ceiling, err = runCeiling(ctx, o, &rc, total, profilePath(o.ProfileDir, t.Kafka, "ceiling", i, o.Repeat)); err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		fmt.Fprintf(o.Log, "bench:   ceiling: %.0f records/s\n", pr.ceiling.EventsPerSec)
		fmt.Fprintf(o.Log, "bench:   full pipeline%s\n", run)
		var lat *Latency
		if pr.full, pr.pending, pr.written, lat, err = runFull(ctx, o, &rc, g, total, last, profilePath(o.ProfileDir, t.Kafka, "full", i, o.Repeat)); err != nil {
			return fmt.Errorf("full pipeline: %w", err)
		}
		if pr.ceiling.EventsPerSec > 0 {
			pr.ratio = pr.full.EventsPerSec / pr.ceiling.EventsPerSec
		}
		t.Ratios = append(t.Ratios, pr.ratio)
		if last {
			t.Latency = lat
		}
		pairs = append(pairs, pr)
	}
	// Report the run with the median ratio (the lower middle one of an even
	// number); every ratio is in t.Ratios.
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.ratio, b.ratio) })
	med := pairs[(len(pairs)-1)/2]
	t.Ceiling, t.Full, t.Pending, t.Ratio = med.ceiling, med.full, med.pending, med.ratio
	t.StateBytesPerEvent, t.JoinBytesPerEvent = med.written[0], med.written[1]
	return nil
}

// produce publishes n records of g and returns the rate and mean value size.
func produce(ctx context.Context, cfg *config.Config, g *simulate.Generator, n int) (rate, meanBytes float64, err error) {
	p, err := consumer.NewProducer(cfg.Kafka.Brokers, kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	topics := [2]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic}
	start := time.Now()
	var bytes int
	for range n {
		var rec simulate.Record // fresh buffers: the producer keeps them until acknowledged
		g.Next(&rec)
		bytes += len(rec.Value)
		p.Send(ctx, topics[rec.Topic], rec.Key, rec.Value)
	}
	if err := p.Flush(ctx); err != nil {
		return 0, 0, fmt.Errorf("producing: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), float64(bytes) / float64(n), nil
}

// fetchOpts are the processor's fetch settings, which the ceiling shares.
func fetchOpts(cfg *config.Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxPartitionBytes(int32(max(cfg.MaxRecordBytes, 1<<20) + 64<<10)),
	}
}

// ceilPart is the ceiling's state for one partition number: a decoder and
// the batch's records of both topics, as a partition worker has.
type ceilPart struct {
	dec     *event.Decoder
	pred    *event.Prediction
	outcome event.Outcome
	recs    [2][]*kgo.Record
	n, dead uint64
}

func (c *ceilPart) process() {
	for _, r := range c.recs[simulate.Predictions] {
		if err := c.dec.DecodePrediction(r.Value, c.pred); err != nil {
			c.dead++
		}
	}
	for _, r := range c.recs[simulate.Outcomes] {
		if err := c.dec.DecodeOutcome(r.Value, &c.outcome); err != nil {
			c.dead++
		}
	}
	c.n += uint64(len(c.recs[0]) + len(c.recs[1]))
	c.recs = [2][]*kgo.Record{}
}

// runCeiling consumes and decodes every record, batch by batch like the
// processor (poll everything buffered, one goroutine per partition number,
// wait for all), without a group, commits, windows, join or metrics.
func runCeiling(ctx context.Context, o *Options, cfg *config.Config, total uint64, profileFile string) (Phase, error) {
	base, err := consumer.ClientOpts(&cfg.Kafka)
	if err != nil {
		return Phase{}, err
	}
	topics := [2]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic}
	cl, err := kgo.NewClient(append(append(base, kgo.ConsumeTopics(topics[:]...)), fetchOpts(cfg)...)...)
	if err != nil {
		return Phase{}, err
	}
	defer cl.Close()
	schema := event.SchemaFromConfig(cfg)
	parts := map[int32]*ceilPart{}
	pctx, cancel := context.WithTimeout(ctx, o.PhaseTimeout)
	defer cancel()

	m := startMeter("ceiling", o.Profile, o.Log)
	var counted, dead uint64
	var wg sync.WaitGroup
	var order []*ceilPart
	for counted < total {
		if err := pctx.Err(); err != nil {
			m.finish(counted, "")
			return Phase{}, fmt.Errorf("%d of %d records after %s: %w", counted, total, o.PhaseTimeout, err)
		}
		fctx, fcancel := context.WithTimeout(pctx, 500*time.Millisecond)
		fetches := cl.PollFetches(fctx)
		fcancel()
		fetches.EachError(func(topic string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(o.Log, "bench: ceiling: fetch %s/%d: %v\n", topic, part, err)
			}
		})
		fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
			ti := slices.Index(topics[:], ft.Topic)
			if ti < 0 || len(ft.Records) == 0 {
				return
			}
			p := parts[ft.Partition]
			if p == nil {
				p = &ceilPart{dec: event.NewDecoder(schema, cfg.MaxRecordBytes)}
				p.pred = p.dec.NewPrediction()
				parts[ft.Partition] = p
			}
			p.recs[ti] = ft.Records
		})
		// Biggest batches first, as the processor starts its workers.
		order = order[:0]
		for _, p := range parts {
			if len(p.recs[0])+len(p.recs[1]) > 0 {
				order = append(order, p)
			}
		}
		slices.SortFunc(order, func(a, b *ceilPart) int {
			return cmp.Compare(len(b.recs[0])+len(b.recs[1]), len(a.recs[0])+len(a.recs[1]))
		})
		for _, p := range order {
			wg.Go(p.process)
		}
		wg.Wait()
		counted, dead = 0, 0
		for _, p := range parts {
			counted += p.n
			dead += p.dead
		}
		m.observe(counted)
	}
	ph := m.finish(counted, profileFile)
	ph.DeadLetters = dead
	return ph, nil
}

// runFull runs the processor until it has counted every record, then, if
// latency is set, the latency phase while it keeps running.
func runFull(ctx context.Context, o *Options, cfg *config.Config, g *simulate.Generator, total uint64, latency bool, profileFile string) (full Phase, pending float64, written [2]float64, lat *Latency, err error) {
	reg := prometheus.NewRegistry()
	met := exporter.New(reg, "bench", cfg.SeriesLimit, exporter.WithMaxModelVersions(cfg.MaxModelVersions))
	ready := new(exporter.Readiness)
	logger := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The meter follows the records processed, batch by batch, as the
	// ceiling's does; the phase ends when they are all committed.
	var processed atomic.Uint64
	proc := consumer.New(cfg, met, consumer.WithLogger(logger), consumer.WithReadiness(ready),
		consumer.WithBatchObserver(func(n int) { processed.Add(uint64(n)) }))

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	m := startMeter("full pipeline", o.Profile, o.Log)
	go func() { done <- proc.Run(runCtx) }()
	stopped := false
	defer func() {
		stop()
		if !stopped {
			<-done
		}
	}()

	consumed := []prometheus.Counter{
		met.RecordsConsumed.WithLabelValues(cfg.Kafka.PredictionsTopic),
		met.RecordsConsumed.WithLabelValues(cfg.Kafka.OutcomesTopic),
	}
	pctx, cancel := context.WithTimeout(ctx, o.PhaseTimeout)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var n uint64
	for {
		m.observe(min(processed.Load(), total))
		n = uint64(sumCounters(consumed))
		if n >= total {
			break
		}
		select {
		case err := <-done:
			stopped = true
			m.finish(n, "")
			return full, 0, written, nil, fmt.Errorf("the processor stopped after %d of %d records: %v", n, total, err)
		case <-pctx.Done():
			m.finish(n, "")
			return full, 0, written, nil, fmt.Errorf("%d of %d records after %s: %w", n, total, o.PhaseTimeout, pctx.Err())
		case <-tick.C:
		}
	}
	if p := processed.Load(); p < n {
		m.finish(n, "")
		return full, 0, written, nil, fmt.Errorf("the batch observer saw %d records, the processor committed %d", p, n)
	}
	full = m.finish(n, profileFile)
	full.DeadLetters = uint64(sumMetrics(met.DeadLetters))
	pending = metricValue(met.Pending)
	written = [2]float64{
		metricValue(met.StateWritten.WithLabelValues(cfg.Kafka.Group+"-state")) / float64(n),
		metricValue(met.StateWritten.WithLabelValues(cfg.Kafka.Group+"-join")) / float64(n),
	}
	fmt.Fprintf(o.Log, "bench:   full pipeline: %.0f records/s\n", full.EventsPerSec)

	if latency && o.LatencyDuration > 0 {
		fmt.Fprintf(o.Log, "bench:   latency: %s of probes at %g/s under %g records/s\n", o.LatencyDuration, o.ProbeRate, o.LatencyRate)
		stateTopic, joinTopic := met.StateWritten.WithLabelValues(cfg.Kafka.Group+"-state"), met.StateWritten.WithLabelValues(cfg.Kafka.Group+"-join")
		consumedBefore, stateBefore, joinBefore := sumCounters(consumed), metricValue(stateTopic), metricValue(joinTopic)
		if lat, err = runLatency(ctx, o, cfg, g, reg, ready); err != nil {
			return full, pending, written, nil, fmt.Errorf("latency: %w", err)
		}
		if n := sumCounters(consumed) - consumedBefore; n > 0 {
			lat.StateBytesPerEvent = (metricValue(stateTopic) - stateBefore) / n
			lat.JoinBytesPerEvent = (metricValue(joinTopic) - joinBefore) / n
		}
	}
	stop()
	stopped = true
	if err := <-done; err != nil {
		return full, pending, written, lat, fmt.Errorf("processor: %w", err)
	}
	return full, pending, written, lat, nil
}

// runLatency measures produce → visible in /metrics with the processor
// running and caught up.
//
// Background traffic from the same generator runs at o.LatencyRate records
// per second (5ms ticks); every 1/o.ProbeRate seconds a probe prediction of
// model "probe" with model_version "p<seq>" is produced by a producer of
// its own with no linger, its send time taken just before the produce call.
// A scraper GETs /metrics (exporter.Handler on the processor's registry,
// what Prometheus would scrape) every o.ScrapeInterval; a probe is visible
// at the end of the first scrape whose body has its series. So the figure
// is an upper bound, at most one scrape interval plus one scrape late.
func runLatency(ctx context.Context, o *Options, cfg *config.Config, g *simulate.Generator, reg *prometheus.Registry, ready *exporter.Readiness) (*Latency, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: exporter.Handler(reg, ready), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/metrics"

	brokers := cfg.Kafka.Brokers
	load, err := consumer.NewProducer(brokers)
	if err != nil {
		return nil, err
	}
	defer load.Close()
	probes, err := consumer.NewProducer(brokers, kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	defer probes.Close()

	var (
		mu      sync.Mutex
		seen    = map[int]time.Time{}
		scrapes []time.Duration
	)
	sctx, stopScrape := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for sctx.Err() == nil {
			t0 := time.Now()
			body, err := scrape(sctx, client, url)
			t1 := time.Now()
			if err == nil {
				found := probeSeqs(body)
				mu.Lock()
				scrapes = append(scrapes, t1.Sub(t0))
				for _, s := range found {
					if _, ok := seen[s]; !ok {
						seen[s] = t1
					}
				}
				mu.Unlock()
			}
			select {
			case <-sctx.Done():
			case <-time.After(time.Until(t0.Add(o.ScrapeInterval))):
			}
		}
	})
	defer func() {
		stopScrape()
		wg.Wait()
	}()

	topics := [2]string{cfg.Kafka.PredictionsTopic, cfg.Kafka.OutcomesTopic}
	sent := map[int]time.Time{}
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	probeEvery := time.Duration(float64(time.Second) / o.ProbeRate)
	nextProbe := start.Add(probeEvery / 2)
	emitted, seq := 0, 0
	for {
		now := <-tick.C
		elapsed := now.Sub(start)
		if elapsed >= o.LatencyDuration {
			break
		}
		for range int(elapsed.Seconds()*o.LatencyRate) - emitted {
			var rec simulate.Record
			g.Next(&rec)
			load.Send(ctx, topics[rec.Topic], rec.Key, rec.Value)
			emitted++
		}
		for !time.Now().Before(nextProbe) {
			seq++
			var rec simulate.Record
			g.Probe(&rec, seq)
			sent[seq] = time.Now()
			probes.Send(ctx, topics[simulate.Predictions], rec.Key, rec.Value)
			nextProbe = nextProbe.Add(probeEvery)
		}
	}
	loadSeconds := time.Since(start).Seconds()
	// Stragglers: wait until every probe is seen, up to 10s.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= seq {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopScrape()
	wg.Wait()
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	defer fcancel()
	if err := load.Flush(fctx); err != nil {
		return nil, fmt.Errorf("background traffic: %w", err)
	}
	if err := probes.Flush(fctx); err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}

	l := &Latency{LoadRate: float64(emitted) / loadSeconds, Probes: seq, ScrapeInterval: float64(o.ScrapeInterval.Microseconds()) / 1e3}
	var lat []float64
	for s, at := range seen {
		if st, ok := sent[s]; ok {
			lat = append(lat, float64(at.Sub(st).Microseconds())/1e3)
		}
	}
	l.Seen = len(lat)
	slices.Sort(lat)
	l.P50Ms, l.P99Ms = percentile(lat, 0.5), percentile(lat, 0.99)
	if len(lat) > 0 {
		l.MaxMs = lat[len(lat)-1]
	}
	ds := make([]float64, len(scrapes))
	for i, d := range scrapes {
		ds[i] = float64(d.Microseconds()) / 1e3
	}
	slices.Sort(ds)
	l.ScrapeP50Ms = percentile(ds, 0.5)
	return l, nil
}

func scrape(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// probeSeqs returns the probe numbers of the reckon_predictions_total series
// of the probe model in a text exposition.
func probeSeqs(body string) []int {
	var seqs []int
	const metric = "reckon_predictions_total{"
	const version = `model_version="p`
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, metric) || !strings.Contains(line, `model="`+simulate.ProbeModel+`"`) {
			continue
		}
		i := strings.Index(line, version)
		if i < 0 {
			continue
		}
		rest := line[i+len(version):]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		if s, err := strconv.Atoi(rest[:j]); err == nil {
			seqs = append(seqs, s)
		}
	}
	return seqs
}

// percentile is the nearest-rank q-quantile of sorted xs (0 when empty).
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(q*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// metricValue reads a counter's or gauge's value.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return 0
	}
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}

// sumCounters adds up counters' values.
func sumCounters(cs []prometheus.Counter) float64 {
	var s float64
	for _, c := range cs {
		s += metricValue(c)
	}
	return s
}

// sumMetrics adds up every series of a collector.
func sumMetrics(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var s float64
	for m := range ch {
		s += metricValue(m)
	}
	return s
}

// deleteAll removes the run's topics and consumer groups from a real Kafka.
func deleteAll(brokers []string, groups []string, log io.Writer, topics ...string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.DeleteTopics(ctx, topics...); err != nil {
		fmt.Fprintf(log, "bench: deleting topics %v: %v\n", topics, err)
	}
	if _, err := adm.DeleteGroups(ctx, groups...); err != nil {
		fmt.Fprintf(log, "bench: deleting groups %v: %v\n", groups, err)
	}
}

// benchKafka points k at brokers with a group and topics of their own,
// named after the time, so that runs never share state; it returns k.
func benchKafka(k *config.Kafka, brokers []string) *config.Kafka {
	prefix := "reckon-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	k.Brokers = brokers
	k.Group = prefix
	k.PredictionsTopic = prefix + "-predictions"
	k.OutcomesTopic = prefix + "-outcomes"
	k.DeadLetterTopic = prefix + "-dead-letter"
	k.ResultsTopic = prefix + "-results"
	return k
}
