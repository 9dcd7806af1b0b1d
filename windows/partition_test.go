package windows

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/windows/join"
)

const coreConfig = `windows: [1m, 3m]
allowed_lateness: 10s
idle_timeout: 5s
label_ttl: 1h
models:
  - name: a
    features: [{name: x, type: numeric}]
  - name: b
    reference: {from: "2026-12-07T00:00:00Z", to: "2026-12-07T01:00:00Z"}
    features: [{name: x, type: numeric}]
`

// coreSettings are the settings of coreConfig over partitions partitions,
// model a aggregated on partition 0 and b on the last.
func coreSettings(t testing.TB, partitions int) *Settings {
	t.Helper()
	cfg, err := config.Parse("core.yaml", []byte(coreConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSettings(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.SetTopology(partitions, []int32{0, int32(partitions - 1)})
	return set
}

// openStore opens an empty join store for a test, closed at its end.
func openStore(t testing.TB, set *Settings) *join.DiskStore {
	t.Helper()
	st, err := join.Open(t.TempDir(), set.LabelTTL, join.WithMemory(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Restored(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// joinLog is a join store's changelog as a compacted topic would hold it,
// read back in order.
type joinLog struct{ recs [][2][]byte }

// commit writes st's changes to the log and commits the store at the
// log's end.
func (l *joinLog) commit(t testing.TB, st *join.DiskStore) {
	t.Helper()
	if err := st.Changes(func(k, v []byte) { l.recs = append(l.recs, [2][]byte{bytes.Clone(k), bytes.Clone(v)}) }); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(int64(len(l.recs))); err != nil {
		t.Fatal(err)
	}
}

// restore returns a store restored from the log: dir's store (warm) or, if
// dir is "", a new one (cold).
func (l *joinLog) restore(t testing.TB, set *Settings, dir string) *join.DiskStore {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := join.Open(dir, set.LabelTTL, join.WithMemory(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.recs[st.Position():] {
		if err := st.Restore(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Restored(int64(len(l.recs))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// t0 is the wall clock the tests start at; ms an event time.
var t0 = time.Unix(1_000_000, 0)

const base = int64(1_796_688_000_000) // 2026-12-07T20:00:00Z

func pred(model int, id string, ms int64) *event.Prediction {
	return &event.Prediction{ID: []byte(id), Model: model, TimeMs: ms, Score: 0.8, Predicted: true,
		LatencySeconds: 0.01, Num: []float64{1}, Cat: [][]byte{nil}, Missing: []bool{false}}
}

func feed(p *Partition, model int, id string, ms int64) {
	p.Observe(Predictions, ms)
	p.Prediction(pred(model, id, ms))
}

func TestPartitionLateness(t *testing.T) {
	tests := []struct {
		name     string
		own      []int64 // event times read before
		group    int64
		at       int64 // the event's time
		wantLate bool
	}{
		{"nothing read: nothing is late", nil, Unset, base, false},
		{"older than its own watermark", []int64{base + 60_000}, Unset, base + 49_999, true},
		{"at its own watermark", []int64{base + 60_000}, Unset, base + 50_000, false},
		{"older than the group watermark", []int64{base}, base + 30_000, base + 20_000, true},
		{"newer than the group watermark", []int64{base}, base + 30_000, base + 30_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := coreSettings(t, 1)
			p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
			for i, ms := range tt.own {
				feed(p, 0, "o"+strconv.Itoa(i), ms)
			}
			p.Fetched(Outcomes, t0.Add(-time.Hour), true) // idle: the predictions alone decide
			p.Release(p.Advance(t0, tt.group, nil))
			feed(p, 0, "e", tt.at)
			if got := p.Counts().Models[0].Late == 1; got != tt.wantLate {
				t.Errorf("late = %v, want %v (watermark %d)", got, tt.wantLate, p.Watermark())
			}
			var inPane uint64
			for _, pane := range p.panes.open[0] {
				inPane += pane.Predictions
			}
			if want := uint64(len(tt.own)) + 1; !tt.wantLate && inPane != want {
				t.Errorf("%d predictions in panes, want %d", inPane, want)
			}
		})
	}
}

// TestPartitionIdleFlush: an idle partition reports itself so only with
// every pane flushed; an event of a flushed pane read later goes out as
// another fragment of it, after the first.
func TestPartitionIdleFlush(t *testing.T) {
	set := coreSettings(t, 1)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	feed(p, 0, "a", base+30_000)
	feed(p, 1, "b", base+40_000)
	p.Fetched(Predictions, t0, true)

	panes, pr, changed := p.Report(t0.Add(time.Second), Unset, nil)
	if len(panes) != 0 || pr.Idle || !changed {
		t.Fatalf("active: %d panes, progress %+v (changed %v); want none, not idle, changed", len(panes), pr, changed)
	}
	p.Release(panes)
	panes, pr, changed = p.Report(t0.Add(time.Second), Unset, nil)
	if changed {
		t.Errorf("the same progress again was reported as changed: %+v", pr)
	}
	p.Release(panes)

	panes, pr, _ = p.Report(t0.Add(6*time.Second), Unset, nil)
	if !pr.Idle || len(panes) != 2 {
		t.Fatalf("idle: %d panes flushed, progress %+v; want 2 and idle", len(panes), pr)
	}
	if pr.Watermark != base+30_000 {
		t.Errorf("idle watermark %d, want the highest source's %d (its own event time minus the lateness)", pr.Watermark, base+30_000)
	}
	first := panes[0].Key()
	p.Release(panes)

	// The partition wakes up with an event of the flushed pane.
	feed(p, 0, "c", base+35_000)
	p.Fetched(Predictions, t0.Add(7*time.Second), true)
	panes, pr, _ = p.Report(t0.Add(13*time.Second), Unset, nil)
	if len(panes) != 1 || !pr.Idle {
		t.Fatalf("idle again: %d panes, %+v; want the new fragment", len(panes), pr)
	}
	if k := panes[0].Key(); k.Start != first.Start || k.Source != first.Source || k.Compare(first) <= 0 {
		t.Errorf("fragment %+v, want the same pane as %+v, after it", k, first)
	}
	if panes[0].Predictions != 1 {
		t.Errorf("the fragment holds %d predictions, want the one read after the flush", panes[0].Predictions)
	}
}

// TestPartitionWatermark: the rule of NextWatermark over the two topics,
// raised by the group's watermark, never back.
func TestPartitionWatermark(t *testing.T) {
	set := coreSettings(t, 1)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	feed(p, 0, "a", base+100_000)
	p.Observe(Outcomes, base+40_000)
	p.Fetched(Predictions, t0, false)
	p.Fetched(Outcomes, t0, false)
	steps := []struct {
		name  string
		at    time.Duration
		group int64
		want  int64
	}{
		{"the minimum over active topics", 0, Unset, base + 30_000},
		{"the group raises it", 0, base + 50_000, base + 50_000},
		{"the group falls back: it stays", 0, base + 10_000, base + 50_000},
	}
	for _, s := range steps {
		p.Release(p.Advance(t0.Add(s.at), s.group, nil))
		if got := p.Watermark(); got != s.want {
			t.Errorf("%s: watermark %d, want %d", s.name, got, s.want)
		}
	}
	p.Fetched(Predictions, t0, true)
	p.Fetched(Outcomes, t0, true)
	p.Release(p.Advance(t0.Add(time.Minute), Unset, nil))
	if got, want := p.Watermark(), base+90_000; got != want {
		t.Errorf("both idle: watermark %d, want the highest topic's %d", got, want)
	}
}

// TestPartitionExpiresWithTheGroup: an idle partition's predictions expire
// when the group's watermark passes label_ttl, though the partition reads
// nothing.
func TestPartitionExpiresWithTheGroup(t *testing.T) {
	set := coreSettings(t, 1)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	feed(p, 0, "a", base)
	p.Release(p.Advance(t0.Add(time.Minute), base+2*time.Hour.Milliseconds(), nil))
	if got := p.Counts().Models[0].Expired; got != 1 {
		t.Errorf("%d expired, want 1", got)
	}
	if p.Pending() != 0 {
		t.Errorf("%d still pending", p.Pending())
	}
}

// TestPartitionFinish: a finished partition's watermark is the end of the
// longest window holding its latest event; it counts as idle.
func TestPartitionFinish(t *testing.T) {
	set := coreSettings(t, 1)
	p := NewPartition(set, NewCalibrations(set), 0, t0, openStore(t, set))
	feed(p, 0, "a", base+250_000) // in [base+180s, base+360s) of the 3m windows
	p.Fetched(Predictions, t0, false)
	p.Finish()
	panes, pr, _ := p.Report(t0, Unset, nil)
	if !pr.Idle || !pr.Finished || pr.Watermark != base+360_000 {
		t.Errorf("progress %+v, want idle, finished, at %d", pr, base+360_000)
	}
	if len(panes) != 1 {
		t.Errorf("%d panes, want the one", len(panes))
	}
}
