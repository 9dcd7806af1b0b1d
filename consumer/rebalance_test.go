package consumer

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// rebalanceWatch is a log handler that watches a member's rebalances: it
// counts the transactions the member commits between a revocation and the
// next assignment.
type rebalanceWatch struct {
	p           atomic.Pointer[Processor]
	mu          sync.Mutex
	revokedAt   uint64 // commits when revoked
	revoking    bool
	revocations int
	inGap       uint64 // transactions committed between revocation and assignment
}

func (w *rebalanceWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *rebalanceWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *rebalanceWatch) WithGroup(string) slog.Handler            { return w }
func (w *rebalanceWatch) Handle(_ context.Context, r slog.Record) error {
	p := w.p.Load()
	if p == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch r.Message {
	case "partitions revoked":
		w.revokedAt, w.revoking = p.commits.Load(), true
		w.revocations++
	case "partitions assigned", "partitions lost":
		if w.revoking {
			w.inGap += p.commits.Load() - w.revokedAt
		}
		w.revoking = false
	}
	return nil
}

// TestRevokedMemberCommitsNothing: between a rebalance's revocation and
// its assignment, another member may already have restored the revoked
// partitions, so a member commits nothing. Regression: a member went on
// with empty transactions (no input offsets, so Kafka checked no
// membership), its idle partitions flushed their panes in one, and the new
// owner, restored from before it, flushed them again: counted twice
// (integration's TestTrafficShapes, seeds 13 and 25). Here a slow member
// (a long heartbeat interval and long transactions) holds the rebalance
// open while the first one, revoked at once, sees its partitions go idle.
func TestRevokedMemberCommitsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := newKGroup(ctx, trafficConfig, "revoked", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	watch := new(rebalanceWatch)
	a := g.start(WithLogger(slog.New(watch)), WithClientOpts(kgo.HeartbeatInterval(50*time.Millisecond)))
	watch.p.Store(a.p)
	slow := *g.cfg
	g.cfg.CommitInterval = 2 * time.Second
	g.start(WithClientOpts(kgo.HeartbeatInterval(2 * time.Second)))
	g.cfg = &slow
	t0 := time.Date(2026, 12, 7, 20, 17, 30, 0, time.UTC)
	const rounds = 3
	for round := range rounds {
		var recs []*kgo.Record
		for i := range 90 {
			recs = append(recs, prediction("r"+strconv.Itoa(round)+"-"+strconv.Itoa(i), t0.Add(time.Duration(round)*time.Minute)))
		}
		if err := g.produce(keyed(3, recs...)...); err != nil {
			t.Fatal(err)
		}
		if err := waitRead(ctx, g.adm, g.cfg.Kafka.Group, "predictions", "outcomes"); err != nil {
			t.Fatal(err)
		}
		// A member joins (or leaves); once the first member is revoked,
		// its partitions go idle while the slow one holds the rebalance.
		before := watchRevocations(watch)
		if round%2 == 0 {
			g.start()
		} else if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		for watchRevocations(watch) == before {
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				t.Fatal("the first member was never revoked")
			}
		}
		g.clock.add(2 * g.cfg.IdleTimeout)
		if err := g.pause(g.cfg.IdleTimeout, t0.Add(time.Duration(round)*time.Minute-g.cfg.AllowedLateness).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	watch.mu.Lock()
	inGap := watch.inGap
	watch.mu.Unlock()
	if inGap > 0 {
		t.Errorf("the first member committed %d transactions between a revocation and the next assignment", inGap)
	}
	got, err := g.results()
	if err != nil {
		t.Fatal(err)
	}
	for round := range rounds - 1 { // the last round's window is still open
		if r := onlyRecord(t, got, windowAt(t0.Add(time.Duration(round)*time.Minute).Truncate(time.Minute))); r != nil && r.Predictions != 90 {
			t.Errorf("window of round %d says %d predictions, want 90", round, r.Predictions)
		}
	}
}

func watchRevocations(w *rebalanceWatch) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.revocations
}
