package consumer

import (
	"bytes"
	"errors"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/exporter"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/join"
)

// compact keeps the newest record of every key, as a compacted topic does.
func compact(latest map[string][]byte, recs []*kgo.Record) {
	for _, r := range recs {
		if r.Value == nil {
			delete(latest, string(r.Key))
		} else {
			latest[string(r.Key)] = r.Value
		}
	}
}

// TestStateLogRecords: state records written as the state topic holds them
// (large ones in chunks, deletions and shrunk values as tombstones) read
// back, after compaction, as exactly the committed records.
func TestStateLogRecords(t *testing.T) {
	big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	steps := []map[string][]byte{
		{"a": []byte("small"), "b": big(3*chunkBytes+17, 'b'), "c": big(chunkBytes, 'c')},
		{"b": big(chunkBytes+1, 'B'), "c": nil},                    // b shrinks to 2 chunks, c goes
		{"a": nil, "d": big(2*chunkBytes, 'd'), "b": big(10, 'x')}, // b to one chunk
		{"c": big(chunkBytes+5, 'C'), "a": []byte("again")},        // c comes back
	}
	l := newStateLog()
	latest := map[string][]byte{}
	want := map[string][]byte{}
	for i, step := range steps {
		for _, k := range []string{"a", "b", "c", "d"} {
			v, ok := step[k]
			if !ok {
				continue
			}
			l.emit([]byte(k), v)
			if v == nil {
				delete(want, k)
			} else {
				want[k] = v
			}
		}
		compact(latest, l.records(nil, "s", 0))
		l.commit()
		got, err := assembleState(latest)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !maps.EqualFunc(got.committed, want, bytes.Equal) {
			t.Fatalf("step %d: read back %d records, want %d", i, len(got.committed), len(want))
		}
		if !maps.Equal(got.chunks, l.chunks) {
			t.Errorf("step %d: chunk counts %v, the writer's %v", i, got.chunks, l.chunks)
		}
		for k := range latest {
			_, core, _ := parseChunkKey([]byte(k))
			if _, ok := want[string(core)]; !ok {
				t.Errorf("step %d: a record of deleted key %q is left", i, core)
			}
		}
	}
}

// TestStateLogRefuses: chunks of different writes, a missing chunk and an
// earlier build's keys are errors, the last telling what to do.
func TestStateLogRefuses(t *testing.T) {
	l := newStateLog()
	l.emit([]byte("k"), bytes.Repeat([]byte{1}, 2*chunkBytes))
	first := l.records(nil, "s", 0)
	l.commit()
	l.emit([]byte("k"), bytes.Repeat([]byte{2}, 2*chunkBytes))
	second := l.records(nil, "s", 0)
	tests := []struct {
		name string
		recs []*kgo.Record
		want string
	}{
		{"chunks of two writes", []*kgo.Record{first[0], second[1]}, "belongs to write"},
		{"a missing chunk", []*kgo.Record{first[0]}, "lacks chunk 1 of 2"},
		{"an earlier build's checkpoint", []*kgo.Record{{Key: []byte("w/0/0"), Value: []byte{1, 1, 1, 9}}}, "start a new consumer group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			latest := map[string][]byte{}
			compact(latest, tt.recs)
			_, err := assembleState(latest)
			if !errors.Is(err, errState) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("assembleState = %v, want errState saying %q", err, tt.want)
			}
		})
	}
}

// TestRollback: an aborted transaction returns every partition and
// aggregation to the committed state, which then behaves as if the aborted
// work never happened.
func TestRollback(t *testing.T) {
	cfg := testConfig(t, []string{"127.0.0.1:1"})
	p := New(cfg, exporter.New(prometheus.NewRegistry(), "test", 0), WithLogger(slog.New(slog.DiscardHandler)))
	if err := p.offline(1); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	st, err := join.Open(t.TempDir(), p.set.LabelTTL, join.WithMemory(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Restored(0); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p.tasks[0] = p.newTask(0, windows.NewPartition(p.set, p.cals, 0, now, st))
	p.aggs[0], p.state[0] = windows.NewAggregation(p.set, 0), newStateLog()
	t0 := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	feed := func(from, n int) {
		tk := p.tasks[0]
		for i := range n {
			id := "id" + strconv.Itoa(from+i)
			v := `{"prediction_id":"` + id + `","model":"m","timestamp":` + strconv.FormatInt(t0.Add(time.Duration(from+i)*time.Second).UnixMilli(), 10) + `,"score":0.5,"features":{"x":1}}`
			tk.recs[predictionsTopic] = append(tk.recs[predictionsTopic], &kgo.Record{Key: []byte(id), Value: []byte(v)})
		}
		tk.process(time.Now(), 0)
		tk.advance(p, now, p.group)
		tk.panesOut = tk.panesOut[:0]
	}
	checkpoint := func() {
		tk := p.tasks[0]
		_, _, _ = tk.part.Report(now, p.group, nil)
		if err := tk.part.AppendChanges(p.state[0].emit); err != nil {
			t.Fatal(err)
		}
		if err := tk.part.JoinStore().Changes(func(k, v []byte) {}); err != nil {
			t.Fatal(err)
		}
		if err := p.aggs[0].AppendChanges(p.state[0].emit); err != nil {
			t.Fatal(err)
		}
	}
	feed(0, 50)
	checkpoint()
	p.state[0].commit()
	if err := p.tasks[0].part.JoinStore().Commit(1); err != nil {
		t.Fatal(err)
	}
	committed := maps.Clone(p.state[0].committed)
	pending := p.tasks[0].part.Pending()

	feed(50, 70) // the transaction that aborts
	checkpoint()
	if p.tasks[0].part.Pending() == pending {
		t.Fatal("the aborted work changed nothing")
	}
	if err := p.rollback(now); err != nil {
		t.Fatal(err)
	}
	if got := p.tasks[0].part.Pending(); got != pending {
		t.Errorf("%d pending after the rollback, want the committed %d", got, pending)
	}
	if !maps.EqualFunc(p.state[0].committed, committed, bytes.Equal) || len(p.state[0].txn) != 0 {
		t.Error("the rollback changed the committed state or kept the aborted changes")
	}
	// Redoing the aborted work counts it once.
	feed(50, 70)
	if got := p.tasks[0].part.Pending(); got != pending+70 {
		t.Errorf("%d pending after redoing the work, want %d", got, pending+70)
	}
}
