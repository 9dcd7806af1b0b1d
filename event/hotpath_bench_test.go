package event

import "testing"

// Benchmarks of the pieces of a decode (BenchmarkDecodePrediction is the
// whole): the outcome record, the event time and the numbers. Reproduce with
//
//	go test ./event -run '^$' -bench . -benchmem

// benchOutcome is a typical outcome record.
const benchOutcome = `{"prediction_id":"5c1f0b9e-2d7a-4c11-9f3e-8a0b7d6e5f41","model":"bench",` +
	`"timestamp":"2026-11-27T09:02:00.000Z","label":1}`

func BenchmarkDecodeOutcome(b *testing.B) {
	d := NewDecoder(benchSchema(), 1<<20)
	var o Outcome
	rec := []byte(benchOutcome)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeOutcome(rec, &o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTimestamp is the event time of every record: an RFC 3339 string
// with milliseconds, as model servers usually write it.
func BenchmarkTimestamp(b *testing.B) {
	r := NewRules(benchSchema())
	v := Value{Type: TypeString, Str: []byte("2026-11-26T21:30:22.123Z")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.timestamp(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNumber scans and parses the number literals of benchRecord: eight
// per prediction (six features, score, latency).
func BenchmarkNumber(b *testing.B) {
	var lits [][]byte
	for _, s := range []string{"123.45", "37", "5230.1", "812", "3", "88.2", "0.873", "12.7"} {
		lits = append(lits, []byte(s))
	}
	var sc scanner
	var v Value
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lits {
			sc.b, sc.i = l, 0
			if !sc.number(&v) {
				b.Fatal(sc.err)
			}
			if !sc.exact {
				v.Num = parseFloat(sc.lit)
			}
		}
	}
}
