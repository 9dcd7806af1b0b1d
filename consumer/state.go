package consumer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows"
)

// State checkpoints. Partition p of <group>-state (compacted, as many
// partitions as the inputs) holds the checkpoints of worker p and merger p,
// written by the member that owns partition p in the same transaction as
// the input offsets they reflect. A checkpoint is one or more chunks (a
// Kafka record is limited to about 1 MB; the join state of a million
// pending predictions is some 17 MB):
//
//	key   "w/<p>/<i>" (worker) or "m/<p>/<i>" (merger), i = 0 … n-1
//	value version 1, uvarint sequence, uvarint n, chunk bytes
//
// A newer checkpoint with fewer chunks writes tombstones for the rest, so
// compaction keeps exactly the newest checkpoint. Restoring reads the
// partition up to its last stable offset and keeps, per key, the newest
// record; chunk 0's sequence says which chunks belong together.

const (
	stateVersion = 1
	chunkBytes   = 512 << 10
	kindWorker   = 'w'
	kindMerger   = 'm'
)

// checkpoint is the newest committed checkpoint of one worker or merger,
// kept so that an aborted transaction can roll back without reading Kafka.
type checkpoint struct {
	seq    uint64
	chunks int
	data   []byte // nil: nothing checkpointed yet
}

func stateKey(kind byte, partition int32, chunk int) []byte {
	return fmt.Appendf(nil, "%c/%d/%d", kind, partition, chunk)
}

// checkpointRecords returns the records that replace prev by data.
func checkpointRecords(topic string, kind byte, partition int32, prev checkpoint, data []byte) ([]*kgo.Record, checkpoint) {
	next := checkpoint{seq: prev.seq + 1, chunks: max(1, (len(data)+chunkBytes-1)/chunkBytes), data: data}
	recs := make([]*kgo.Record, 0, max(next.chunks, prev.chunks))
	for i := range next.chunks {
		chunk := data[i*chunkBytes : min(len(data), (i+1)*chunkBytes)]
		v := make([]byte, 0, len(chunk)+16)
		v = append(v, stateVersion)
		v = binary.AppendUvarint(v, next.seq)
		v = binary.AppendUvarint(v, uint64(next.chunks))
		v = append(v, chunk...)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: partition, Key: stateKey(kind, partition, i), Value: v})
	}
	for i := next.chunks; i < prev.chunks; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: partition, Key: stateKey(kind, partition, i)})
	}
	return recs, next
}

// restored is what a state partition held.
type restored struct {
	worker, merger checkpoint
}

// readState reads the newest committed checkpoints of the given partitions
// of topic. It first waits until no transaction is open on them (a
// predecessor's, which its fencing or the transaction timeout ends), so
// that what it reads is what the input offsets were committed with.
func readState(ctx context.Context, base []kgo.Opt, topic string, partitions []int32) (map[int32]*restored, error) {
	out := make(map[int32]*restored, len(partitions))
	for _, p := range partitions {
		out[p] = new(restored)
	}
	if len(partitions) == 0 {
		return out, nil
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
		ends = make(map[int32]int64, len(partitions))
		open := false
		for _, p := range partitions {
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
	for _, p := range partitions {
		if ends[p] > 0 {
			assign[p] = kgo.NewOffset().AtStart()
		}
	}
	if len(assign) == 0 {
		return out, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign})
	latest := make(map[string][]byte)
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
				switch {
				case r.Attrs.IsControl():
				case r.Value == nil:
					delete(latest, string(r.Key))
				default:
					latest[string(r.Key)] = r.Value
				}
			}
			// Control records (kept) take the offsets of transaction
			// markers, so the last offset below the end is always seen.
			if n := len(ft.Records); n > 0 && ft.Records[n-1].Offset+1 >= ends[ft.Partition] {
				delete(assign, ft.Partition)
			}
		})
	}
	for key, v := range latest {
		kind, p, i, ok := parseStateKey(key)
		if !ok || out[p] == nil || i != 0 {
			continue
		}
		cp, err := assemble(latest, kind, p, v)
		if err != nil {
			return nil, fmt.Errorf("state partition %s/%d: %w", topic, p, err)
		}
		if kind == kindWorker {
			out[p].worker = cp
		} else {
			out[p].merger = cp
		}
	}
	return out, nil
}

func parseStateKey(key string) (kind byte, partition int32, chunk int, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0][0] != kindWorker && parts[0][0] != kindMerger) {
		return 0, 0, 0, false
	}
	p, err1 := strconv.ParseInt(parts[1], 10, 32)
	i, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	return parts[0][0], int32(p), i, true
}

// assemble joins the chunks of the checkpoint whose chunk 0 is first.
func assemble(latest map[string][]byte, kind byte, p int32, first []byte) (checkpoint, error) {
	seq, n, data, err := parseChunk(first)
	if err != nil {
		return checkpoint{}, err
	}
	out := append([]byte(nil), data...)
	for i := 1; i < n; i++ {
		v, ok := latest[string(stateKey(kind, p, i))]
		if !ok {
			return checkpoint{}, fmt.Errorf("%w: %c checkpoint %d lacks chunk %d of %d", errState, kind, seq, i, n)
		}
		s, m, d, err := parseChunk(v)
		if err != nil {
			return checkpoint{}, err
		}
		if s != seq || m != n {
			return checkpoint{}, fmt.Errorf("%w: chunk %d belongs to checkpoint %d, chunk 0 to %d", errState, i, s, seq)
		}
		out = append(out, d...)
	}
	return checkpoint{seq: seq, chunks: n, data: out}, nil
}

func parseChunk(v []byte) (seq uint64, n int, data []byte, err error) {
	r := wire.NewReader(v, wire.Corrupt(errState))
	if ver := r.Byte(); r.Err() == nil && ver != stateVersion {
		return 0, 0, nil, fmt.Errorf("%w: chunk version %d", errState, ver)
	}
	seq = r.Uvarint()
	n64 := r.Uvarint()
	if r.Err() != nil || n64 == 0 || n64 > 1<<20 {
		return 0, 0, nil, fmt.Errorf("%w: chunk header", errState)
	}
	return seq, int(n64), r.Rest(), nil
}

const workerStateVersion = 1

// appendState appends w's checkpoint: event-time progress of its sources,
// its watermark, open panes and join state.
func (w *worker) appendState(b []byte) ([]byte, error) {
	b = append(b, workerStateVersion)
	b = binary.AppendUvarint(b, uint64(len(w.sources)))
	for _, s := range w.sources {
		st := s.State()
		b = binary.AppendVarint(b, st.MaxMs)
		b = wire.AppendBool(b, st.Seen)
	}
	b = binary.AppendVarint(b, w.wm.Current())
	var err error
	if b, err = wire.AppendBlob(b, w.panes); err != nil {
		return b, err
	}
	return wire.AppendBlob(b, w.join)
}

// restoreState replaces w's state with a checkpoint of appendState.
func (w *worker) restoreState(data []byte, now time.Time) error {
	r := wire.NewReader(data, wire.Corrupt(errState))
	if v := r.Byte(); r.Err() == nil && v != workerStateVersion {
		return fmt.Errorf("%w: worker version %d", errState, v)
	}
	if n := r.Uvarint(); r.Err() == nil && n != uint64(len(w.sources)) {
		return fmt.Errorf("%w: %d sources", errState, n)
	}
	var states [numInputTopics]windows.SourceState
	for i := range states {
		states[i] = windows.SourceState{MaxMs: r.Varint(), Seen: r.Bool()}
	}
	wm := r.Varint()
	panes, join := r.Blob(), r.Blob()
	if err := r.End(); err != nil {
		return err
	}
	if err := w.panes.UnmarshalBinary(panes); err != nil {
		return err
	}
	if err := w.join.UnmarshalBinary(join); err != nil {
		return err
	}
	for i, st := range states {
		w.sources[i] = windows.RestoreSource(st, now)
	}
	w.wm.Restore(wm)
	return nil
}
