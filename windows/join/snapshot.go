package join

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/reckonhq/reckon/internal/wire"
)

// Snapshot format, version 1. Integers are little-endian; varints are
// encoding/binary's (uvarint, and zigzag varint for signed values).
//
//	magic     "RKJ" and the version byte 0x01
//	varint    watermark (math.MinInt64 before the first Advance)
//	varint    next sweep point
//	varint    ref: time origin of the entries below
//	uvarint   n: number of entries
//	n times:
//	  8 bytes  key
//	  uvarint  model
//	  byte     flags: state (1 pending, 2 waiting, 3 closed) | 0x04 predicted | 0x08 label | 0x20 value | 0x40 tagged
//	  varint   time − ref, wrapping in int64 arithmetic (exact for any time)
//	  4 bytes  score bits, pending entries and waiting ones with flag 0x20
//	  uvarint  tag, pending entries with flag 0x40 (a tag other than 0)
//
// Entries hold times, not deadlines. A snapshot restored into a Store with a
// different TTL applies the new TTL to every held id. At most one entry per
// (key, model) is allowed. Typical entries take 15 to 19 bytes, so 5 million
// held ids are about 90 MB. That is more than a default Kafka message
// (1 MB): whoever writes the snapshot must chunk it. The snapshot has no
// checksum, because Kafka records carry a CRC.
const (
	snapshotMagic   = "RKJ"
	snapshotVersion = 1
	// minEntryLen is the shortest encoded entry: key, model, flags, time.
	minEntryLen = 8 + 1 + 1 + 1
)

var (
	errTruncated = errors.New("join: snapshot truncated or malformed")
	errNotNew    = errors.New("join: UnmarshalBinary on a Store not made by New")
)

// MarshalBinary returns a snapshot of the join state: held ids, watermark and
// sweep schedule. It implements encoding.BinaryMarshaler.
func (s *Store) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 64+s.Len()*19))
}

// AppendBinary appends a snapshot to b, as MarshalBinary returns it. It
// implements encoding.BinaryAppender.
func (s *Store) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, snapshotMagic...)
	b = append(b, snapshotVersion)
	b = binary.AppendVarint(b, s.wm)
	b = binary.AppendVarint(b, s.nextSweep)
	b = binary.AppendVarint(b, s.base)
	b = binary.AppendUvarint(b, uint64(s.Len()))
	for i := range s.tab.slots {
		if !s.tab.slots[i].empty() {
			b = appendEntry(b, s.entryAt(i), s.base)
		}
	}
	for _, e := range s.overSorted() {
		b = appendEntry(b, e, s.base)
	}
	return b, nil
}

func appendEntry(b []byte, e entry, ref int64) []byte {
	tagged := e.state() == statePending && e.tag != 0
	flags := e.flags
	if tagged {
		flags |= flagTagged
	}
	b = binary.LittleEndian.AppendUint64(b, e.key)
	b = binary.AppendUvarint(b, uint64(e.model))
	b = append(b, flags)
	b = binary.AppendVarint(b, e.t-ref)
	if e.hasScore() {
		b = binary.LittleEndian.AppendUint32(b, e.score)
	}
	if tagged {
		b = binary.AppendUvarint(b, e.tag)
	}
	return b
}

// UnmarshalBinary replaces the join state with a snapshot made by
// MarshalBinary. It keeps the receiver's TTL, options and Stats. On error the
// receiver is unchanged. It implements encoding.BinaryUnmarshaler.
func (s *Store) UnmarshalBinary(data []byte) error {
	if s.ttl < 1 {
		return errNotNew
	}
	if len(data) < len(snapshotMagic)+1 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return errors.New("join: not a join snapshot")
	}
	if v := data[len(snapshotMagic)]; v != snapshotVersion {
		return fmt.Errorf("join: snapshot version %d, want %d", v, snapshotVersion)
	}
	d := wire.NewReader(data[len(snapshotMagic)+1:], func(reason string) error {
		return fmt.Errorf("%w: %s", errTruncated, reason)
	})
	wm, next, ref, n := d.Varint(), d.Varint(), d.Varint(), d.Uvarint()
	if d.Err() != nil {
		return d.Err()
	}
	if n > uint64(d.Len()/minEntryLen) {
		return fmt.Errorf("join: snapshot claims %d entries in %d bytes", n, d.Len())
	}

	// Build the new state aside, then swap it in.
	ns := Store{core: core{ttl: s.ttl, interval: s.interval, wm: wm, nextSweep: next, stats: s.stats}}
	ns.tab.alloc(capacityFor(int(n))) // set picks the base
	for range n {
		e := entry{key: d.Uint64()}
		if m := d.Uvarint(); m > math.MaxUint16 {
			return fmt.Errorf("join: snapshot model index %d out of range", m)
		} else {
			e.model = uint16(m)
		}
		e.flags = d.Byte()
		e.t = ref + d.Varint()
		if e.hasScore() {
			e.score = d.Uint32()
		}
		if e.flags&flagTagged != 0 {
			e.tag = d.Uvarint()
			e.flags &^= flagTagged
		}
		if d.Err() != nil {
			return d.Err()
		}
		switch e.state() {
		case statePending:
			ns.pending++
		case stateWaiting:
			ns.waiting++
		case stateClosed:
		default:
			return fmt.Errorf("join: snapshot entry has invalid state %d", e.state())
		}
		if e.flags&^flagsKnown != 0 {
			return fmt.Errorf("join: snapshot entry has unknown flags %#x", e.flags)
		}
		r := ns.lookup(e.key, e.model)
		if r.found {
			return fmt.Errorf("join: snapshot holds key %#x of model %d twice", e.key, e.model)
		}
		ns.set(&r, e)
	}
	if d.Len() != 0 {
		return fmt.Errorf("join: %d bytes after the snapshot", d.Len())
	}
	*s = ns
	return nil
}
