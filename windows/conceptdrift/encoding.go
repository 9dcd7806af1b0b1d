package conceptdrift

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/reckonhq/reckon/internal/wire"
)

// Sentinel errors wrapped by [*DecodeError]; test with errors.Is.
var (
	// ErrVersion means the encoding is of a version this build does not know.
	ErrVersion = errors.New("unsupported encoding version")
	// ErrCorrupt means the bytes are not a valid encoding: wrong magic,
	// truncated, trailing bytes, an invalid parameter or inconsistent state.
	ErrCorrupt = errors.New("corrupt encoding")
	// ErrKind means the bytes encode a different kind of detector than the
	// receiver of UnmarshalBinary.
	ErrKind = errors.New("encoding is of another detector")
)

// DecodeError is returned by UnmarshalBinary and [Unmarshal]. It wraps
// [ErrVersion], [ErrCorrupt] or [ErrKind]; when a decoded parameter is
// invalid, Err is ErrCorrupt and Param holds the [*ConfigError].
type DecodeError struct {
	Detector string // the receiver's name, or "" for Unmarshal
	Version  uint8  // version byte read, or 0
	Reason   string
	Err      error
	Param    *ConfigError
}

func (e *DecodeError) Error() string {
	d := e.Detector
	if d == "" {
		d = "detector"
	}
	return fmt.Sprintf("conceptdrift: decoding %s (version %d): %v: %s", d, e.Version, e.Err, e.Reason)
}

func (e *DecodeError) Unwrap() []error {
	if e.Param != nil {
		return []error{e.Err, e.Param}
	}
	return []error{e.Err}
}

// Encoding header: magic, kind, version.
const (
	magic = "RKCD"

	kindADWIN       = 1
	kindDDM         = 2
	kindPageHinkley = 3

	adwinVersion       = 1
	ddmVersion         = 1
	pageHinkleyVersion = 1
)

// Unmarshal decodes a detector of whichever kind data encodes.
func Unmarshal(data []byte) (Detector, error) {
	if len(data) < len(magic)+2 || string(data[:len(magic)]) != magic {
		return nil, &DecodeError{Reason: "missing header", Err: ErrCorrupt}
	}
	var d Detector
	switch data[len(magic)] {
	case kindADWIN:
		d = new(ADWIN)
	case kindDDM:
		d = new(DDM)
	case kindPageHinkley:
		d = new(PageHinkley)
	default:
		return nil, &DecodeError{Version: data[len(magic)+1], Reason: fmt.Sprintf("unknown detector kind %d", data[len(magic)]), Err: ErrCorrupt}
	}
	if err := d.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return d, nil
}

type encoder struct{ b []byte }

func (e *encoder) header(kind, version uint8) {
	e.b = append(e.b, magic...)
	e.b = append(e.b, kind, version)
}
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int)        { e.uvarint(uint64(v)) }
func (e *encoder) f64(v float64)    { e.b = wire.AppendFloat64(e.b, v) }
func (e *encoder) bool(v bool)      { e.b = wire.AppendBool(e.b, v) }

// decoder reads what encoder wrote, with a wire.Reader whose failures are
// *DecodeErrors of the detector being decoded.
type decoder struct {
	name    string
	version uint8
	*wire.Reader
}

func newDecoder(name string, data []byte) *decoder {
	d := &decoder{name: name}
	d.Reader = wire.NewReader(data, func(reason string) error {
		return &DecodeError{Detector: d.name, Version: d.version, Reason: reason, Err: ErrCorrupt}
	})
	return d
}

func (d *decoder) fail(sentinel error, format string, args ...any) {
	d.FailWith(&DecodeError{Detector: d.name, Version: d.version, Reason: fmt.Sprintf(format, args...), Err: sentinel})
}

// header checks magic, kind and version.
func (d *decoder) header(kind, version uint8) {
	if d.Len() < len(magic)+2 || string(d.Rest()[:len(magic)]) != magic {
		d.fail(ErrCorrupt, "missing header")
		return
	}
	h := d.Bytes(len(magic) + 2)
	d.version = h[len(magic)+1]
	switch {
	case h[len(magic)] != kind:
		d.fail(ErrKind, "detector kind %d, want %d", h[len(magic)], kind)
	case d.version != version:
		d.fail(ErrVersion, "this build reads version %d", version)
	}
}

// int reads a uvarint that must fit an int (parameters and counts).
func (d *decoder) int() int {
	v := d.Uvarint()
	if v > math.MaxInt32 {
		d.fail(ErrCorrupt, "value %d out of range", v)
		return 0
	}
	return int(v)
}

// span checks a decoded InDrift span against its length.
func (d *decoder) span(h hold) {
	if d.Err() == nil && h.active > uint64(h.n) {
		d.fail(ErrCorrupt, "InDrift span %d longer than hold %d", h.active, h.n)
	}
}

// params records an invalid decoded parameter.
func (d *decoder) params(err error) {
	if err == nil || d.Err() != nil {
		return
	}
	var ce *ConfigError
	errors.As(err, &ce)
	d.FailWith(&DecodeError{Detector: d.name, Version: d.version, Reason: "invalid parameter", Err: ErrCorrupt, Param: ce})
}

// MarshalBinary encodes the parameters and state (version 1). It never
// fails.
func (a *ADWIN) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// AppendBinary appends the encoding of a to b. It never fails.
func (a *ADWIN) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(kindADWIN, adwinVersion)
	e.f64(a.delta)
	e.int(a.clock)
	e.int(a.maxBuckets)
	e.int(a.minWindow)
	e.int(a.grace)
	e.int(a.hold.n)
	e.uvarint(a.hold.active)
	e.uvarint(a.tick)
	e.uvarint(a.width)
	e.f64(a.total)
	e.f64(a.variance)
	e.bool(a.restart)
	e.int(a.rows)
	for r := range a.rows {
		e.int(a.counts[r])
		base := r * (a.maxBuckets + 1)
		for k := range a.counts[r] {
			e.f64(a.totals[base+k])
			e.f64(a.variances[base+k])
		}
	}
	return e.b, nil
}

// UnmarshalBinary replaces a's parameters and state with the decoded ones.
// On error, a [*DecodeError], a is unchanged.
func (a *ADWIN) UnmarshalBinary(data []byte) error {
	d := newDecoder(NameADWIN, data)
	d.header(kindADWIN, adwinVersion)
	t := ADWIN{delta: d.Float64(), clock: d.int(), maxBuckets: d.int(), minWindow: d.int(), grace: d.int()}
	t.hold.n = d.int()
	d.params(t.validate())
	t.hold.active = d.Uvarint()
	d.span(t.hold)
	t.tick = d.Uvarint()
	t.width = d.Uvarint()
	t.total = d.Float64()
	t.variance = d.Float64()
	t.restart = d.Bool()
	t.rows = d.int()
	if d.Err() == nil && (t.rows > adwinMaxRows || (t.rows == 0) != (t.width == 0)) {
		d.fail(ErrCorrupt, "%d bucket rows for a window of %d", t.rows, t.width)
	}
	if d.Err() != nil {
		return d.Err()
	}
	t.reserve(max(t.rows, adwinReservedRows))
	var width uint64
	for r := range t.rows {
		cnt := d.int()
		if d.Err() == nil && (cnt > t.maxBuckets || (cnt == 0 && r == t.rows-1) || uint64(cnt)*16 > uint64(d.Len())) {
			d.fail(ErrCorrupt, "row %d holds %d buckets", r, cnt)
		}
		if d.Err() != nil {
			return d.Err()
		}
		t.counts[r] = cnt
		base := r * (t.maxBuckets + 1)
		for k := range cnt {
			t.totals[base+k], t.variances[base+k] = d.Float64(), d.Float64()
		}
		width += uint64(cnt) << r
	}
	if d.Err() == nil && width != t.width {
		d.fail(ErrCorrupt, "buckets hold %d observations, window says %d", width, t.width)
	}
	if err := d.End(); err != nil {
		return err
	}
	*a = t
	return nil
}

// MarshalBinary encodes the parameters and state (version 1). It never
// fails.
func (d *DDM) MarshalBinary() ([]byte, error) { return d.AppendBinary(nil) }

// AppendBinary appends the encoding of d to b. It never fails.
func (d *DDM) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(kindDDM, ddmVersion)
	e.int(d.warmStart)
	e.f64(d.warnLevel)
	e.f64(d.drift)
	e.int(d.hold.n)
	e.uvarint(d.hold.active)
	e.uvarint(d.n)
	e.f64(d.p)
	e.f64(d.pMin)
	e.f64(d.sMin)
	e.f64(d.psMin)
	e.bool(d.warning)
	e.bool(d.restart)
	return e.b, nil
}

// UnmarshalBinary replaces d's parameters and state with the decoded ones.
// On error, a [*DecodeError], d is unchanged.
func (d *DDM) UnmarshalBinary(data []byte) error {
	dec := newDecoder(NameDDM, data)
	dec.header(kindDDM, ddmVersion)
	t := DDM{warmStart: dec.int(), warnLevel: dec.Float64(), drift: dec.Float64()}
	t.hold.n = dec.int()
	dec.params(t.validate())
	t.hold.active = dec.Uvarint()
	dec.span(t.hold)
	t.n = dec.Uvarint()
	t.p = dec.Float64()
	t.pMin, t.sMin, t.psMin = dec.Float64(), dec.Float64(), dec.Float64()
	t.warning = dec.Bool()
	t.restart = dec.Bool()
	if err := dec.End(); err != nil {
		return err
	}
	*d = t
	return nil
}

// MarshalBinary encodes the parameters and state (version 1). It never
// fails.
func (p *PageHinkley) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// AppendBinary appends the encoding of p to b. It never fails.
func (p *PageHinkley) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b}
	e.header(kindPageHinkley, pageHinkleyVersion)
	e.int(p.minInstances)
	e.f64(p.delta)
	e.f64(p.threshold)
	e.f64(p.alpha)
	e.uvarint(uint64(p.mode))
	e.int(p.hold.n)
	e.uvarint(p.hold.active)
	e.uvarint(p.n)
	e.f64(p.mean)
	e.f64(p.sumInc)
	e.f64(p.sumDec)
	e.f64(p.minInc)
	e.f64(p.maxDec)
	e.bool(p.restart)
	return e.b, nil
}

// UnmarshalBinary replaces p's parameters and state with the decoded ones.
// On error, a [*DecodeError], p is unchanged.
func (p *PageHinkley) UnmarshalBinary(data []byte) error {
	d := newDecoder(NamePageHinkley, data)
	d.header(kindPageHinkley, pageHinkleyVersion)
	t := PageHinkley{minInstances: d.int(), delta: d.Float64(), threshold: d.Float64(), alpha: d.Float64()}
	mode := d.Uvarint()
	if mode > math.MaxUint8 {
		mode = 0 // rejected by validate
	}
	t.mode = Mode(mode)
	t.hold.n = d.int()
	d.params(t.validate())
	t.hold.active = d.Uvarint()
	d.span(t.hold)
	t.n = d.Uvarint()
	t.mean = d.Float64()
	t.sumInc, t.sumDec = d.Float64(), d.Float64()
	t.minInc, t.maxDec = d.Float64(), d.Float64()
	t.restart = d.Bool()
	if err := d.End(); err != nil {
		return err
	}
	*p = t
	return nil
}
