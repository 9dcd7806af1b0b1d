package join

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/reckonhq/reckon/internal/wire"
)

// The changelog and the disk store share one encoding of an id's entry;
// docs/state.md describes both formats.
//
// Changelog records (what Changes gives and Restore takes):
//
//	entry     key   'J', 8 bytes key (big-endian), 2 bytes model (big-endian)
//	          value version 1, flags, varint time, 4 bytes score (LE; pending, or waiting with flag 0x20),
//	                uvarint tag (pending with flag 0x40 only: a tag other than 0)
//	          value nil: the id is no longer held (a tombstone)
//	metadata  key   'J'
//	          value version 1, varint watermark, varint next sweep, varint swept
//
// The disk store (pebble) holds:
//
//	'J' key model            → the entry, as in the changelog
//	'T' time key model       → flags (1 byte): the time index; time is
//	                           big-endian with the sign bit flipped, so keys
//	                           sort by time
//	'M'                      → the store's own metadata (appendLocalMeta)
//
// Varints are encoding/binary's zig-zag varints, read with internal/wire.
const (
	ePrefix       = 'J'
	tPrefix       = 'T'
	mPrefix       = 'M'
	metaKey       = "J"
	eKeyLen       = 1 + 8 + 2
	tKeyLen       = 1 + 8 + 8 + 2
	formatVersion = 1
)

var errFormat = errors.New("join: malformed state record")

// IsChangelogKey reports whether a record key belongs to a DiskStore's
// changelog: every such key starts with 'J', and no other key of reckon's
// state topic does.
func IsChangelogKey(key []byte) bool {
	return len(key) > 0 && key[0] == ePrefix
}

func appendEKey(b []byte, key uint64, model uint16) []byte {
	b = append(b, ePrefix)
	b = binary.BigEndian.AppendUint64(b, key)
	return binary.BigEndian.AppendUint16(b, model)
}

func appendTKey(b []byte, t int64, key uint64, model uint16) []byte {
	b = append(b, tPrefix)
	b = binary.BigEndian.AppendUint64(b, uint64(t)^(1<<63))
	b = binary.BigEndian.AppendUint64(b, key)
	return binary.BigEndian.AppendUint16(b, model)
}

// decodeTKey returns the entry a time index record describes, without its
// score.
func decodeTKey(k, v []byte) (entry, error) {
	if len(k) != tKeyLen || k[0] != tPrefix || len(v) != 1 {
		return entry{}, fmt.Errorf("%w: time index key %x", errFormat, k)
	}
	e := entry{
		t:     int64(binary.BigEndian.Uint64(k[1:]) ^ (1 << 63)),
		key:   binary.BigEndian.Uint64(k[9:]),
		model: binary.BigEndian.Uint16(k[17:]),
		flags: v[0],
	}
	return e, checkFlags(e.flags)
}

func checkFlags(f uint8) error {
	if f&stateMask == 0 || f&^(flagsKnown|flagTagged) != 0 {
		return fmt.Errorf("%w: flags %#x", errFormat, f)
	}
	return nil
}

func appendEntryValue(b []byte, e entry) []byte {
	tagged := e.state() == statePending && e.tag != 0
	flags := e.flags & flagsKnown
	if tagged {
		flags |= flagTagged
	}
	b = append(b, formatVersion, flags)
	b = binary.AppendVarint(b, e.t)
	if e.hasScore() {
		b = binary.LittleEndian.AppendUint32(b, e.score)
	}
	if tagged {
		b = binary.AppendUvarint(b, e.tag)
	}
	return b
}

func decodeEntryValue(key uint64, model uint16, v []byte) (entry, error) {
	r := wire.NewReader(v, wire.Corrupt(errFormat))
	if ver := r.Byte(); r.Err() == nil && ver != formatVersion {
		return entry{}, fmt.Errorf("join: state entry version %d, want %d", ver, formatVersion)
	}
	e := entry{key: key, model: model, flags: r.Byte()}
	e.t = r.Varint()
	if e.hasScore() {
		e.score = r.Uint32()
	}
	if e.flags&flagTagged != 0 {
		e.tag = r.Uvarint()
	}
	if err := r.End(); err != nil {
		return entry{}, err
	}
	err := checkFlags(e.flags)
	e.flags &^= flagTagged
	return e, err
}

// parseEKey returns the id of an entry key.
func parseEKey(k []byte) (ident, bool) {
	if len(k) != eKeyLen || k[0] != ePrefix {
		return ident{}, false
	}
	return ident{binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint16(k[9:])}, true
}

func appendMetaValue(b []byte, wm, next, swept int64) []byte {
	b = append(b, formatVersion)
	b = binary.AppendVarint(b, wm)
	b = binary.AppendVarint(b, next)
	return binary.AppendVarint(b, swept)
}

func decodeMetaValue(v []byte) (wm, next, swept int64, err error) {
	r := wire.NewReader(v, wire.Corrupt(errFormat))
	if ver := r.Byte(); r.Err() == nil && ver != formatVersion {
		return 0, 0, 0, fmt.Errorf("join: state metadata version %d, want %d", ver, formatVersion)
	}
	wm, next, swept = r.Varint(), r.Varint(), r.Varint()
	return wm, next, swept, r.End()
}

// localMeta is the store's record of itself on disk ('M'):
//
//	version 1, complete (bool), varint position, varint watermark,
//	varint next sweep, varint swept, uvarint pending, uvarint waiting,
//	uvarint held, varint wall-clock time of the write (Unix ms)
//
// complete is false while a cold restore is under way: Open then empties
// the directory.
type localMeta struct {
	complete               bool
	pos, wm, nextSweep     int64
	swept                  int64
	pending, waiting, held int
	writtenMs              int64
}

func (d *DiskStore) appendLocalMeta(b []byte, complete bool) []byte {
	b = append(b, formatVersion)
	b = wire.AppendBool(b, complete)
	b = binary.AppendVarint(b, d.pos)
	b = binary.AppendVarint(b, d.wm)
	b = binary.AppendVarint(b, d.nextSweep)
	b = binary.AppendVarint(b, d.swept)
	b = binary.AppendUvarint(b, uint64(d.pending))
	b = binary.AppendUvarint(b, uint64(d.waiting))
	b = binary.AppendUvarint(b, uint64(d.held))
	d.writtenMs = time.Now().UnixMilli()
	return binary.AppendVarint(b, d.writtenMs)
}

// readMeta returns the store's metadata, or nil when there is none.
func (d *DiskStore) readMeta() (*localMeta, error) {
	v, closer, err := d.db.Get([]byte{mPrefix})
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("join: reading %s: %w", d.dir, err)
	}
	defer closer.Close()
	r := wire.NewReader(v, wire.Corrupt(errFormat))
	if ver := r.Byte(); r.Err() == nil && ver != formatVersion {
		return nil, fmt.Errorf("join: %s holds state of version %d, want %d: reset it", d.dir, ver, formatVersion)
	}
	m := &localMeta{complete: r.Bool()}
	m.pos, m.wm, m.nextSweep, m.swept = r.Varint(), r.Varint(), r.Varint(), r.Varint()
	m.pending, m.waiting, m.held = int(r.Uvarint()), int(r.Uvarint()), int(r.Uvarint())
	m.writtenMs = r.Varint()
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("join: %s: metadata: %w", d.dir, err)
	}
	return m, nil
}

// wipe deletes everything the store holds on disk.
func (d *DiskStore) wipe() error {
	if err := d.db.DeleteRange([]byte{0}, []byte{0xff}, pebble.NoSync); err != nil {
		return fmt.Errorf("join: emptying %s: %w", d.dir, err)
	}
	return nil
}
