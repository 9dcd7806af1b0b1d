package bench

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// CPUBreakdown attributes a phase's CPU profile to components.
type CPUBreakdown struct {
	Samples    int         `json:"samples"`
	Seconds    float64     `json:"cpu_seconds"`
	Components []Component `json:"components"` // by share, largest first
	// ReckonMicrosPerEvent is CPU in reckon's own code per record of the
	// phase: the partition workers and the loop (full pipeline) or the
	// decoders (ceiling).
	ReckonMicrosPerEvent float64 `json:"reckon_us_per_event"`
	// DecodeMicrosPerEvent is the part of it in package event.
	DecodeMicrosPerEvent float64 `json:"decode_us_per_event"`
	// Top are the functions with the most CPU of their own (flat).
	Top []Func `json:"top"`
}

// Component is one part of a breakdown.
type Component struct {
	Name           string  `json:"name"`
	Share          float64 `json:"share"`
	MicrosPerEvent float64 `json:"us_per_event"`
	Reckon         bool    `json:"reckon"` // reckon's own code
}

// Func is one function's CPU: flat (its own) and cumulative (with callees).
type Func struct {
	Name      string  `json:"name"`
	FlatShare float64 `json:"flat_share"`
	CumShare  float64 `json:"cum_share"`
}

// benchPkg is this package's path as profiles name its functions. The
// rules take it from the type rather than a literal: while the package sat
// at consumer/bench, a literal "reckon/bench." never matched, and the
// ceiling's decoding was attributed to the processor's loop.
var benchPkg = reflect.TypeFor[ceilPart]().PkgPath() + "."

// taskFrame names the methods of the processor's per-partition tasks
// (consumer/task.go), which its batch goroutines run: decoding, the
// partition's windows, sketches and join. consumer does not export the
// type, so the name is a literal; notes() flags a profile in which it
// matched nothing.
const taskFrame = "reckon/consumer.(*task)"

// component rules, first match wins; frames are the sample's stack.
var componentRules = []struct {
	name   string
	reckon bool
	match  func(stack string) bool
}{
	{"reckon worker: decode", true, both(taskFrame, "reckon/event.")},
	{"reckon worker: join", true, both(taskFrame, "reckon/windows/join.")},
	{"reckon worker: sketches", true, both(taskFrame, "reckon/sketch.")},
	{"reckon worker: windows", true, both(taskFrame, "reckon/windows")},
	{"reckon worker: other", true, has(taskFrame)},
	{"ceiling: decode", true, both(benchPkg+"(*ceilPart)", "reckon/event.")},
	{"ceiling: other", true, has(benchPkg + "(*ceilPart)")},
	{"kfake (embedded broker)", false, has("franz-go/pkg/kfake.")},
	{"franz-go client", false, anyOf("franz-go/pkg/kgo.", "franz-go/pkg/kmsg.", "klauspost/compress", "pierrec/lz4")},
	// The processor's loop between batches (harvest, aggregate, results,
	// metrics); its goroutine starts in the bench, so this comes first.
	{"reckon loop", true, anyOf("reckon/consumer.", "reckon/windows", "reckon/exporter", "reckon/results",
		"reckon/event.", "reckon/sketch.", "prometheus/client_golang")},
	{"bench harness", false, has(benchPkg)},
	{"GC (background)", false, anyOf("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge")},
	{"runtime and other", false, func(string) bool { return true }},
}

// componentOf is the index of the first rule that matches a stack (its
// frames joined by newlines); the last rule matches every stack.
func componentOf(stack string) int {
	for i, r := range componentRules {
		if r.match(stack) {
			return i
		}
	}
	return len(componentRules) - 1
}

func has(s string) func(string) bool { return func(st string) bool { return strings.Contains(st, s) } }

func both(a, b string) func(string) bool {
	return func(st string) bool { return strings.Contains(st, a) && strings.Contains(st, b) }
}

func anyOf(ss ...string) func(string) bool {
	return func(st string) bool {
		for _, s := range ss {
			if strings.Contains(st, s) {
				return true
			}
		}
		return false
	}
}

// breakdown parses a CPU profile (runtime/pprof's gzipped protobuf) and
// attributes it; events is the number of records of the phase.
func breakdown(data []byte, events uint64) (*CPUBreakdown, error) {
	samples, err := parseProfile(data)
	if err != nil {
		return nil, err
	}
	b := &CPUBreakdown{}
	var total int64
	byComp := make([]int64, len(componentRules))
	flat, cum := map[string]int64{}, map[string]int64{}
	for _, s := range samples {
		total += s.ns
		b.Samples += int(s.count)
		byComp[componentOf(strings.Join(s.stack, "\n"))] += s.ns
		if len(s.stack) > 0 {
			flat[s.stack[0]] += s.ns
		}
		seen := map[string]bool{}
		for _, f := range s.stack {
			if !seen[f] {
				seen[f] = true
				cum[f] += s.ns
			}
		}
	}
	if total == 0 {
		return b, nil
	}
	b.Seconds = float64(total) / 1e9
	perEvent := func(ns int64) float64 {
		if events == 0 {
			return 0
		}
		return float64(ns) / 1e3 / float64(events)
	}
	for i, r := range componentRules {
		if byComp[i] == 0 {
			continue
		}
		b.Components = append(b.Components, Component{Name: r.name, Share: float64(byComp[i]) / float64(total),
			MicrosPerEvent: perEvent(byComp[i]), Reckon: r.reckon})
		if r.reckon {
			b.ReckonMicrosPerEvent += perEvent(byComp[i])
		}
		if strings.HasSuffix(r.name, ": decode") {
			b.DecodeMicrosPerEvent += perEvent(byComp[i])
		}
	}
	slices.SortStableFunc(b.Components, func(x, y Component) int { return cmp.Compare(y.Share, x.Share) })
	for name, ns := range flat {
		b.Top = append(b.Top, Func{Name: name, FlatShare: float64(ns) / float64(total), CumShare: float64(cum[name]) / float64(total)})
	}
	slices.SortFunc(b.Top, func(x, y Func) int {
		return cmp.Or(cmp.Compare(y.FlatShare, x.FlatShare), strings.Compare(x.Name, y.Name))
	})
	b.Top = b.Top[:min(len(b.Top), 25)]
	return b, nil
}

type profSample struct {
	stack []string // function names, leaf first (inlined frames included)
	count int64    // profiling ticks
	ns    int64
}

// parseProfile reads the samples of a pprof CPU profile: just enough of
// profile.proto (samples, locations, functions, strings) to attribute CPU.
func parseProfile(data []byte) ([]profSample, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	type rawSample struct {
		locs   []uint64
		values []int64
	}
	var (
		samples  []rawSample
		strs     []string
		locFuncs = map[uint64][]uint64{} // location id → function ids, leaf first
		funcName = map[uint64]int64{}    // function id → string index
	)
	err := fields(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 2: // sample
			var s rawSample
			err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					s.locs = appendVarints(s.locs, typ, v, x)
				case 2:
					for _, u := range appendVarints(nil, typ, v, x) {
						s.values = append(s.values, int64(u))
					}
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case 4: // location
			var id uint64
			var fns []uint64
			err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					id = x
				case 4: // line
					return fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
						if num == 1 {
							fns = append(fns, x)
						}
						return nil
					})
				}
				return nil
			})
			locFuncs[id] = fns
			return err
		case 5: // function
			var id uint64
			var name int64
			err := fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
				switch num {
				case 1:
					id = x
				case 2:
					name = int64(x)
				}
				return nil
			})
			funcName[id] = name
			return err
		case 6:
			strs = append(strs, string(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]profSample, 0, len(samples))
	for _, s := range samples {
		ps := profSample{}
		if len(s.values) > 1 {
			ps.count, ps.ns = s.values[0], s.values[1]
		} else if len(s.values) == 1 {
			ps.count, ps.ns = 1, s.values[0]
		}
		for _, l := range s.locs {
			for _, f := range locFuncs[l] {
				if i := funcName[f]; i >= 0 && int(i) < len(strs) {
					ps.stack = append(ps.stack, strs[i])
				}
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// fields calls fn for each field of a protobuf message: v is the payload of
// a length-delimited field, x the value of a varint or fixed one.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("profile: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("profile: bad field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// appendVarints appends a repeated varint field's values, packed or not.
func appendVarints(dst []uint64, typ protowire.Type, v []byte, x uint64) []uint64 {
	if typ == protowire.VarintType {
		return append(dst, x)
	}
	for len(v) > 0 {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			break
		}
		dst = append(dst, u)
		v = v[n:]
	}
	return dst
}
