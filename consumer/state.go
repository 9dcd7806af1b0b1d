package consumer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows"
	"github.com/reckonhq/reckon/windows/join"
)

// State in Kafka. Partition p of <group>-state (compacted, as many
// partitions as the inputs) is the changelog of partition p's core and of
// aggregation p (windows.Partition, windows.Aggregation): each transaction
// writes the core's records that changed in it (AppendChanges), in the
// same transaction as the input offsets they reflect, so compaction keeps
// exactly the committed state. A core record larger than chunkBytes is
// written in chunks (a Kafka record is limited to about 1 MB):
//
//	key    uvarint chunk index i, the core's key
//	value  stateRecordVersion, uvarint sequence, uvarint chunk count n, chunk bytes
//
// A deleted core key, or a value written in fewer chunks than before,
// tombstones the chunks it no longer uses. Restoring reads the partition up
// to its last stable offset and keeps, per key, the newest record; chunk
// 0's sequence says which chunks belong together.

const (
	stateRecordVersion = 2
	chunkBytes         = 512 << 10
)

var errState = errors.New("consumer: corrupt state")

// stateLog is what this member keeps of one partition of <group>-state:
// the committed core records (the rollback target of an aborted
// transaction) and the records of the open one.
type stateLog struct {
	committed map[string][]byte // core key → value
	chunks    map[string]int    // core key → chunks of its newest write
	seq       uint64            // writes so far, to tie chunks together
	txn       []stateChange     // this transaction's changes, in order
}

type stateChange struct {
	key, value []byte // value nil: delete
}

func newStateLog() *stateLog {
	return &stateLog{committed: map[string][]byte{}, chunks: map[string]int{}}
}

// emit records a change of this transaction (the core's AppendChanges
// callback). It copies key and value.
func (l *stateLog) emit(key, value []byte) {
	c := stateChange{key: slices.Clone(key)}
	if value != nil {
		c.value = slices.Clone(value)
	}
	l.txn = append(l.txn, c)
}

// records appends the state-topic records of this transaction's changes to
// out.
func (l *stateLog) records(out []*kgo.Record, topic string, partition int32) []*kgo.Record {
	chunks := map[string]int{}
	prev := func(k string) int {
		if n, ok := chunks[k]; ok {
			return n
		}
		return l.chunks[k]
	}
	for _, c := range l.txn {
		k := string(c.key)
		n := 0
		if c.value != nil {
			l.seq++
			n = max(1, (len(c.value)+chunkBytes-1)/chunkBytes)
			for i := range n {
				chunk := c.value[i*chunkBytes : min(len(c.value), (i+1)*chunkBytes)]
				v := make([]byte, 0, len(chunk)+16)
				v = append(v, stateRecordVersion)
				v = binary.AppendUvarint(v, l.seq)
				v = binary.AppendUvarint(v, uint64(n))
				v = append(v, chunk...)
				out = append(out, &kgo.Record{Topic: topic, Partition: partition, Key: chunkKey(i, c.key), Value: v})
			}
		}
		for i := n; i < prev(k); i++ {
			out = append(out, &kgo.Record{Topic: topic, Partition: partition, Key: chunkKey(i, c.key)})
		}
		chunks[k] = n
	}
	return out
}

// commit applies this transaction's changes to the committed state.
func (l *stateLog) commit() {
	for _, c := range l.txn {
		k := string(c.key)
		if c.value == nil {
			delete(l.committed, k)
			delete(l.chunks, k)
			continue
		}
		l.committed[k] = c.value
		l.chunks[k] = max(1, (len(c.value)+chunkBytes-1)/chunkBytes)
	}
	l.txn = l.txn[:0]
}

// abort forgets this transaction's changes.
func (l *stateLog) abort() { l.txn = l.txn[:0] }

func chunkKey(i int, key []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(key)+2), uint64(i))
	return append(b, key...)
}

// parseChunkKey splits a state-topic key into chunk index and core key.
func parseChunkKey(key []byte) (int, []byte, error) {
	r := wire.NewReader(key, wire.Corrupt(errState))
	i := r.Uvarint()
	if r.Err() != nil || i > 1<<20 || r.Len() == 0 {
		return 0, nil, fmt.Errorf("%w: state key %q", errState, key)
	}
	return int(i), r.Rest(), nil
}

func parseChunk(v []byte) (seq uint64, n int, data []byte, err error) {
	r := wire.NewReader(v, wire.Corrupt(errState))
	if ver := r.Byte(); r.Err() == nil && ver != stateRecordVersion {
		return 0, 0, nil, fmt.Errorf("%w: state record version %d", errState, ver)
	}
	seq = r.Uvarint()
	n64 := r.Uvarint()
	if r.Err() != nil || n64 == 0 || n64 > 1<<20 {
		return 0, 0, nil, fmt.Errorf("%w: chunk header", errState)
	}
	return seq, int(n64), r.Rest(), nil
}

// assembleState turns the newest record of every state-topic key of one
// partition into the committed core records.
func assembleState(latest map[string][]byte) (*stateLog, error) {
	l := newStateLog()
	type first struct {
		seq uint64
		n   int
	}
	heads := map[string]first{}
	parts := map[string][][]byte{}
	for key, v := range latest {
		i, core, err := parseChunkKey([]byte(key))
		if err == nil && len(v) > 0 && v[0] < stateRecordVersion {
			err = fmt.Errorf("%w: state record version %d", errState, v[0])
		}
		if err != nil {
			return nil, fmt.Errorf("%w (a state topic written by an earlier reckon cannot be read: start a new consumer group)", err)
		}
		seq, n, data, err := parseChunk(v)
		if err != nil {
			return nil, err
		}
		if i >= n {
			return nil, fmt.Errorf("%w: chunk %d of %d", errState, i, n)
		}
		k := string(core)
		if i == 0 {
			heads[k] = first{seq, n}
		}
		ps := parts[k]
		if ps == nil {
			ps = make([][]byte, n)
			parts[k] = ps
		}
		if len(ps) != n {
			return nil, fmt.Errorf("%w: chunks of key %x disagree on their count", errState, core)
		}
		ps[i] = data
		l.seq = max(l.seq, seq)
	}
	for k, h := range heads {
		ps := parts[k]
		var value []byte
		for i, d := range ps {
			if d == nil {
				return nil, fmt.Errorf("%w: key %x lacks chunk %d of %d", errState, k, i, h.n)
			}
			value = append(value, d...)
		}
		l.committed[k] = value
		l.chunks[k] = h.n
	}
	// Chunk sequences are checked where they can disagree: a value written
	// in several chunks.
	for key, v := range latest {
		i, core, _ := parseChunkKey([]byte(key))
		if i == 0 {
			continue
		}
		seq, _, _, _ := parseChunk(v)
		if h, ok := heads[string(core)]; ok && seq != h.seq {
			return nil, fmt.Errorf("%w: chunk %d of key %x belongs to write %d, chunk 0 to %d", errState, i, core, seq, h.seq)
		}
	}
	return l, nil
}

// readState reads the committed state of the given partitions of topic.
func readState(ctx context.Context, base []kgo.Opt, topic string, partitions []int32) (map[int32]*stateLog, error) {
	latest := make(map[int32]map[string][]byte, len(partitions))
	from := make(map[int32]int64, len(partitions))
	for _, p := range partitions {
		latest[p], from[p] = map[string][]byte{}, 0
	}
	_, err := readCommitted(ctx, base, topic, from, func(part int32, r *kgo.Record) error {
		if r.Value == nil {
			delete(latest[part], string(r.Key))
		} else {
			latest[part][string(r.Key)] = r.Value
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int32]*stateLog, len(partitions))
	for _, p := range partitions {
		l, err := assembleState(latest[p])
		if err != nil {
			return nil, fmt.Errorf("state partition %s/%d: %w", topic, p, err)
		}
		out[p] = l
	}
	return out, nil
}

// readCommitted reads the given partitions of topic, each from its offset
// in from, up to their last stable offsets, which it returns, and calls
// each for every data record, in order. It first waits until no
// transaction is open on them (a predecessor's, which its fencing or the
// transaction timeout ends), so that what it reads is what the input
// offsets were committed with.
func readCommitted(ctx context.Context, base []kgo.Opt, topic string, from map[int32]int64, each func(part int32, r *kgo.Record) error) (map[int32]int64, error) {
	if len(from) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(base), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var ends map[int32]int64
	for {
		stable, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("listing stable offsets of %s: %w", topic, err)
		}
		high, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
		}
		ends = make(map[int32]int64, len(from))
		open := false
		for p := range from {
			s, okS := stable.Lookup(topic, p)
			h, okH := high.Lookup(topic, p)
			if !okS || !okH || s.Err != nil || h.Err != nil {
				return nil, fmt.Errorf("state partition %s/%d: offsets not listed (%v %v)", topic, p, s.Err, h.Err)
			}
			ends[p] = s.Offset
			open = open || s.Offset < h.Offset
		}
		if !open {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for open transactions on %s to end: %w", topic, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}

	assign := map[int32]kgo.Offset{}
	for p, at := range from {
		if at < ends[p] {
			assign[p] = kgo.NewOffset().At(at)
		}
	}
	if len(assign) > 0 {
		cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign})
	}
	for len(assign) > 0 {
		// A poll that returns nothing for a while means the rest below
		// the stable end was compacted away.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("reading %s: %w", topic, ferr)
		}
		if fs.NumRecords() == 0 {
			break
		}
		fs.EachPartition(func(ft kgo.FetchTopicPartition) {
			for _, r := range ft.Records {
				if r.Offset >= ends[ft.Partition] {
					break // written after we listed the end: not ours to read
				}
				if !r.Attrs.IsControl() && ferr == nil {
					ferr = each(ft.Partition, r)
				}
			}
			// Control records (kept) take the offsets of transaction
			// markers, so the last offset below the end is always seen.
			if n := len(ft.Records); n > 0 && ft.Records[n-1].Offset+1 >= ends[ft.Partition] {
				delete(assign, ft.Partition)
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("%s: %w", topic, ferr)
		}
	}
	return ends, nil
}

// restore rebuilds partition part's core, with its join store st, and its
// aggregation from its committed state.
func (p *Processor) restore(part int32, l *stateLog, st *join.DiskStore, now time.Time) (*windows.Partition, *windows.Aggregation, error) {
	core, err := windows.RestorePartition(p.set, p.cals, part, now, st, windows.Records(l.committed))
	if err != nil {
		return nil, nil, err
	}
	agg, err := windows.RestoreAggregation(p.set, part, windows.Records(l.committed))
	if err != nil {
		return nil, nil, err
	}
	return core, agg, nil
}
