package consumer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/windows/join"
)

// The delayed-label join's state (join.DiskStore) lives in a local store
// under state_dir, a cache of its changelog in <group>-join (compacted,
// co-partitioned with the inputs): each transaction writes a record per id
// that changed in it, and the store commits locally only once Kafka has
// committed. A member that owns partition p again on the same disk opens
// its store and replays the changelog from where the store stands (a warm
// restart); a new disk replays it all (cold). Each member has a directory
// of its own, named by its transactional id, so that members sharing a disk
// never open the same store.

// stateDir is this member's directory under state_dir, created when
// missing; a configuration without one gets a temporary directory, removed
// by cleanup.
func (p *Processor) openStateDir() (dir string, cleanup func(), err error) {
	if p.cfg.StateDir == "" {
		dir, err := os.MkdirTemp("", "reckon-state-")
		if err != nil {
			return "", nil, fmt.Errorf("state directory: %w", err)
		}
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	dir = filepath.Join(p.cfg.StateDir, p.transactionalID())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("state_dir: %w", err)
	}
	return dir, func() {}, nil
}

// openJoins opens the join stores of the given partitions and brings each
// up to the committed changelog. memory is each store's share of
// state_memory.
func (p *Processor) openJoins(ctx context.Context, parts []int32, memory int64) (map[int32]*join.DiskStore, error) {
	stores := make(map[int32]*join.DiskStore, len(parts))
	closeAll := func() {
		for _, st := range stores {
			st.Close()
		}
	}
	from := make(map[int32]int64, len(parts))
	for _, part := range parts {
		st, err := join.Open(filepath.Join(p.stateDir, fmt.Sprintf("join-%d", part)), p.cfg.LabelTTL, join.WithMemory(memory))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("opening the join store of partition %d: %w", part, err)
		}
		stores[part] = st
		// A store older than the changelog's tombstones may hold ids
		// that compaction has since deleted without a trace.
		if w := st.Written(); !w.IsZero() && time.Since(w) > p.joinRetention/2 {
			p.log.Info("join store too old for the changelog's tombstones; restoring it from the start", "partition", part, "written", w)
			if err := st.Reset(); err != nil {
				closeAll()
				return nil, err
			}
		}
		from[part] = st.Position()
	}
	ends, err := readCommitted(ctx, p.base, p.joinTopic, from, func(part int32, r *kgo.Record) error {
		return stores[part].Restore(r.Key, r.Value)
	})
	if err == nil {
		for _, part := range parts {
			st := stores[part]
			end := ends[part]
			if st.Position() > end {
				// The changelog ends before the store: the topic was
				// recreated. Start again from it.
				if err = st.Reset(); err != nil {
					break
				}
				var again map[int32]int64
				again, err = readCommitted(ctx, p.base, p.joinTopic, map[int32]int64{part: 0}, func(_ int32, r *kgo.Record) error {
					return st.Restore(r.Key, r.Value)
				})
				if err != nil {
					break
				}
				end = again[part]
			}
			if err = st.Restored(max(end, st.Position())); err != nil {
				break
			}
		}
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("restoring the join: %w", err)
	}
	return stores, nil
}

// joinWrites tracks, per partition, the offset after the last join
// changelog record written in the open transaction: where each store
// commits when the transaction does.
type joinWrites struct {
	mu   sync.Mutex
	next map[int32]int64
	err  error
}

func (w *joinWrites) reset() {
	w.mu.Lock()
	clear(w.next)
	w.err = nil
	w.mu.Unlock()
}

// produced is the promise of a join changelog record.
func (w *joinWrites) produced(r *kgo.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("topic %s: %w", r.Topic, err)
		}
		return
	}
	w.next[r.Partition] = max(w.next[r.Partition], r.Offset+1)
}
