package reference

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/reckonhq/reckon/event"
	"github.com/reckonhq/reckon/sketch"
	"github.com/reckonhq/reckon/windows"
)

// Stream references and reference profiles of the same rows (issue 16,
// item 2). A profile adds the rows one by one; a stream reference merges
// the panes of several partitions in (pane start, partition) order. Both
// compress numeric sketches at sketch.ReferenceCompression. While a numeric
// feature has at most 10,000 distinct values, its sketches are exact and
// the merge of exact panes is their union: the two references are equal
// byte for byte. Beyond, both are digests built in different orders, and
// their statistics differ by no more than the bounds below (docs/drift.md
// quotes them).

// streamBounds are the largest differences between the statistics of a
// stream reference and a profile of the same 50,000 rows, against windows
// of 5,000 rows, as TestStreamMatchesProfile asserts them.
var streamBounds = map[sketch.Method]float64{
	sketch.MethodKS:          0.0005, // measured 1.1e-4
	sketch.MethodPSI:         0.001,  // 2.7e-4
	sketch.MethodWasserstein: 0.0005, // 5.2e-5
	sketch.MethodJS:          0.002,  // 8.2e-4: the references' bin edges differ
	sketch.MethodChi2:        0,      // categorical counts are exact either way
}

// streamReference builds the stream reference of the wire records in data:
// each prediction of model fraud goes to the pane of its timestamp
// (paneMs long) in partition i mod partitions, through the per-event update
// the partition workers use (Partial.AddPrediction), and the panes are
// offered to a windows.Reference over their whole time range.
func streamReference(t testing.TB, data string, paneMs int64, partitions int) *windows.Reference {
	t.Helper()
	cfg := testCfg(t)
	schema := event.SchemaFromConfig(cfg)
	model, _ := schema.Lookup([]byte("fraud"))
	layout := windows.LayoutOf(cfg)
	dec := event.NewDecoder(schema, 0)
	pred := dec.NewPrediction()
	panes := map[[2]int64]*windows.Partial{}
	var from, to int64 = math.MaxInt64, math.MinInt64
	for i, line := range bytes.Split([]byte(strings.TrimSpace(data)), []byte("\n")) {
		if err := dec.DecodePrediction(line, pred); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if pred.Model != model {
			continue
		}
		start := pred.TimeMs / paneMs * paneMs
		key := [2]int64{start, int64(i % partitions)}
		p := panes[key]
		if p == nil {
			p = layout.NewPartial(model)
			p.Start, p.End, p.Source = start, start+paneMs, int32(key[1])
			panes[key] = p
		}
		p.AddPrediction(pred, nil, false)
		from, to = min(from, start), max(to, start+paneMs)
	}
	ref := windows.NewStreamReference(layout, model, from, to)
	for _, p := range panes {
		if err := ref.Offer(p); err != nil {
			t.Fatal(err)
		}
	}
	ref.Finish()
	return ref
}

// streamDiff compares the drift reports of two references against the same
// windows: the largest difference of each statistic and p-value, and the
// number of decisions that differ.
type streamDiff struct {
	stat      map[sketch.Method]float64
	pvalue    map[sketch.Method]float64
	decisions int
	compared  int
}

func compareReferences(t testing.TB, a, b *windows.Reference, curs []*windows.Partial, params []sketch.DriftParams) streamDiff {
	t.Helper()
	diff := streamDiff{stat: map[sketch.Method]float64{}, pvalue: map[sketch.Method]float64{}}
	for _, cur := range curs {
		ra := windows.Compare(a, cur, params, params[0])
		rb := windows.Compare(b, cur, params, params[0])
		fds := append(ra.Features, ra.Score)
		fdb := append(rb.Features, rb.Score)
		for i := range fds {
			for k, s := range fds[i].Stats {
				diff.stat[s.Method] = math.Max(diff.stat[s.Method], math.Abs(s.Value-fdb[i].Stats[k].Value))
			}
			for k, s := range fds[i].PValues {
				diff.pvalue[s.Method] = math.Max(diff.pvalue[s.Method], math.Abs(s.Value-fdb[i].PValues[k].Value))
			}
			if fds[i].OK {
				diff.compared++
				if da, db := fds[i].Decision, fdb[i].Decision; da.Method != db.Method || da.Drifted != db.Drifted {
					diff.decisions++
				}
			}
		}
	}
	return diff
}

// windowsOf returns count windows of rows rows each as single partials of
// model fraud, drawn like the reference (seeds from seed on); the odd ones
// with amounts scaled by 1.05, a drift KS sees at this size.
func windowsOf(t testing.TB, count, rows int, seed uint64) []*windows.Partial {
	t.Helper()
	out := make([]*windows.Partial, count)
	for k := range out {
		rs := genRows(rows, seed+uint64(k))
		if k%2 == 1 {
			for i := range rs {
				if rs[i].amount != nil {
					rs[i].amount = ptr(*rs[i].amount * 1.05)
				}
			}
		}
		out[k] = build(t, FormatJSONL, wireOf(rs)).Partial
	}
	return out
}

func TestStreamMatchesProfile(t *testing.T) {
	ks := sketch.DriftParams{Numeric: sketch.MethodKS, Categorical: sketch.MethodChi2}
	params := func(p sketch.DriftParams) []sketch.DriftParams { return []sketch.DriftParams{p, p, p, p} }
	curs := windowsOf(t, 10, 5000, 1000)

	// 8,000 rows: every numeric feature exact. 4 partitions, panes of 1 s
	// (rows are 1 ms apart): 8 panes of 250 rows per partition.
	rows := wireOf(genRows(8000, 7))
	file := build(t, FormatJSONL, rows).Reference()
	stream := streamReference(t, rows, 1000, 4)
	for i, f := range file.Features {
		if f.Num != nil && !f.Num.Exact() {
			t.Fatalf("feature %d is not exact with 8,000 rows", i)
		}
	}
	for name, enc := range map[string]func(*windows.Reference) []byte{
		"amount": func(r *windows.Reference) []byte { b, _ := r.Features[0].Num.MarshalBinary(); return b },
		"age":    func(r *windows.Reference) []byte { b, _ := r.Features[1].Num.MarshalBinary(); return b },
		"score":  func(r *windows.Reference) []byte { b, _ := r.Score.MarshalBinary(); return b },
		"country": func(r *windows.Reference) []byte {
			b, _ := r.Features[2].Cat.MarshalBinary()
			return b
		},
	} {
		// Exact sketches hold the same values; only the buffer of values
		// not merged yet may differ, so compare their merged form.
		a, b := enc(file), enc(stream)
		if name != "country" {
			a, b = flushedEncoding(t, a), flushedEncoding(t, b)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("8,000 rows: %s differs between the profile and the stream reference", name)
		}
	}
	for _, p := range []sketch.DriftParams{ks, {}} {
		d := compareReferences(t, file, stream, curs, params(p))
		for m, v := range d.stat {
			if v != 0 {
				t.Errorf("8,000 rows, %v: %v differs by %v", p.Numeric, m, v)
			}
		}
		if d.decisions != 0 {
			t.Errorf("8,000 rows: %d of %d decisions differ", d.decisions, d.compared)
		}
	}

	// 50,000 rows (issue 16's reference): digests, within the bounds.
	rows = wireOf(genRows(50_000, 8))
	file = build(t, FormatJSONL, rows).Reference()
	stream = streamReference(t, rows, 5000, 4)
	var sb strings.Builder
	sb.WriteString("\n| reference of 50,000 rows | KS | p(KS) | PSI | Wasserstein | JS | chi2 | decisions differing |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range []sketch.DriftParams{ks, {}} {
		d := compareReferences(t, file, stream, curs, params(p))
		fmt.Fprintf(&sb, "| %v / %v | %.1e | %.1e | %.1e | %.1e | %.1e | %.1e | %d of %d |\n", p.Numeric, p.Categorical,
			d.stat[sketch.MethodKS], d.pvalue[sketch.MethodKS], d.stat[sketch.MethodPSI], d.stat[sketch.MethodWasserstein],
			d.stat[sketch.MethodJS], d.stat[sketch.MethodChi2], d.decisions, d.compared)
		for m, bound := range streamBounds {
			if d.stat[m] > bound {
				t.Errorf("50,000 rows: %v differs by %.2e between profile and stream reference, bound %v", m, d.stat[m], bound)
			}
		}
	}
	t.Log(sb.String())
}

// flushedEncoding re-encodes an exact numeric sketch with its buffer merged
// into its values: add the values again into a fresh sketch through a merge.
func flushedEncoding(t testing.TB, b []byte) []byte {
	t.Helper()
	var n sketch.Numeric
	if err := n.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	m := sketch.NewNumeric(n.Edges())
	if err := m.SetCompression(n.Compression()); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(&n); err != nil {
		t.Fatal(err)
	}
	out, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
