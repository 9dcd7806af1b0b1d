package windows

import (
	"encoding/binary"
	"fmt"

	"github.com/reckonhq/reckon/internal/wire"
	"github.com/reckonhq/reckon/windows/perf"
)

// Members exchange three kinds of message, in the partitions of an internal
// topic (the runtime's concern): panes a partition harvested, sent to the
// partition of the aggregation that owns their model; progress, every
// partition's watermark, sent to every aggregation after the panes it
// covers; and the calibrator of a completed stream reference, sent to every
// partition so that every member estimates with it.
//
// A message is a kind (which the runtime carries beside the value, e.g. in
// a record header) and a value: a version byte, the source (the partition
// of a pane or progress, the model of a calibrator) and the payload.

// MessageKind is what a message carries.
type MessageKind uint8

// Message kinds.
const (
	KindPane MessageKind = iota + 1
	KindProgress
	KindCalibrator
)

var kindNames = [...]string{KindPane: "pane", KindProgress: "progress", KindCalibrator: "calibrator"}

// String is the kind's name: "pane", "progress" or "calibrator".
func (k MessageKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("MessageKind(%d)", uint8(k))
}

// ParseMessageKind is the kind named s.
func ParseMessageKind(s string) (MessageKind, bool) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return MessageKind(k), true
		}
	}
	return 0, false
}

const (
	messageV1      = 1 // progress without the finished flag; still read
	messageVersion = 2
)

// Progress is a partition's report to the aggregations: its watermark and
// whether it is idle. Reported values of one partition never go back. An
// idle partition has sent every pane it holds; a finished one (reckon run
// --until-end) has read its input and counts as idle.
type Progress struct {
	Source    int32
	Watermark int64
	Idle      bool
	Finished  bool
}

// AppendPaneMessage appends the message of a harvested pane.
func AppendPaneMessage(b []byte, p *Partial) ([]byte, error) {
	b = append(b, messageVersion)
	b = binary.AppendUvarint(b, uint64(p.Source))
	return p.AppendBinary(b)
}

// AppendProgressMessage appends the message of a progress report.
func AppendProgressMessage(b []byte, pr Progress) []byte {
	b = append(b, messageVersion)
	b = binary.AppendUvarint(b, uint64(pr.Source))
	b = binary.AppendVarint(b, pr.Watermark)
	var flags byte
	if pr.Idle {
		flags |= 1
	}
	if pr.Finished {
		flags |= 2
	}
	return append(b, flags)
}

// AppendCalibratorMessage appends the message of model's calibrator (nil:
// the identity).
func AppendCalibratorMessage(b []byte, model int, c *perf.Calibrator) ([]byte, error) {
	b = append(b, messageVersion)
	b = binary.AppendUvarint(b, uint64(model))
	if c == nil {
		return b, nil
	}
	return c.AppendBinary(b)
}

// messageHeader reads a message's version and source.
func messageHeader(data []byte) (version byte, src uint64, rest []byte, err error) {
	r := wire.NewReader(data, wire.Corrupt(ErrCorrupt))
	version = r.Byte()
	if r.Err() == nil && version != messageVersion && version != messageV1 {
		return 0, 0, nil, fmt.Errorf("%w: message version %d (written by a newer reckon?)", ErrCorrupt, version)
	}
	src = r.Uvarint()
	return version, src, r.Rest(), r.Err()
}

// DecodeProgressMessage reads a progress message (AppendProgressMessage).
func DecodeProgressMessage(data []byte) (Progress, error) {
	version, src, rest, err := messageHeader(data)
	if err != nil {
		return Progress{}, err
	}
	r := wire.NewReader(rest, wire.Corrupt(ErrCorrupt))
	pr := Progress{Source: int32(src), Watermark: r.Varint()}
	if version == messageV1 {
		pr.Idle = r.Bool()
	} else {
		flags := r.Byte()
		if flags > 3 {
			r.Fail("unknown progress flags")
		}
		pr.Idle, pr.Finished = flags&1 != 0, flags&2 != 0
	}
	if src > 1<<31-1 {
		r.Fail("progress source out of range")
	}
	return pr, r.End()
}
