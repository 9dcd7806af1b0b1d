package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// scanNumber scans s as a number and returns what exactFloat made of it.
func scanNumber(s string) (float64, bool) {
	sc := scanner{b: []byte(s)}
	var v Value
	if !sc.number(&v) || sc.i != len(s) {
		panic("not a number literal: " + s)
	}
	return v.Num, sc.exact
}

// TestExactFloatMatchesStrconv checks the scanner's conversion of number
// literals against strconv.ParseFloat bit for bit, on edge cases and on
// random literals of every shape the JSON grammar allows.
func TestExactFloatMatchesStrconv(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := scanNumber(s)
		if !ok {
			return // strconv decides
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: fastFloat %v (%#x), strconv %v (%#x) %v", s, got, math.Float64bits(got), want, math.Float64bits(want), err)
		}
	}
	accepted := 0
	for _, s := range []string{"0", "-0", "0.0", "-0.0", "0e5", "-0E-400", "1", "37", "123.45", "0.873",
		"12.7", "1e3", "1E+3", "1e-3", "9007199254740992", "9007199254740993", "-9007199254740992",
		"1e22", "1e23", "1e-22", "1e-23", "123456789012345678", "1234567890123456789",
		"12345678901234567890", "0.1", "0.2", "0.3", "4.35", "2.675", "1.7976931348623157e308",
		"5e-324", "0.000000000000000000001", "1e0000000000000000000005", "1e99999999999999", "0e99999999999", "1e-99999999999"} {
		check(s)
	}
	for _, s := range []string{"37", "123.45", "-0.873", "1e3", "9007199254740992", "1e22", "1e-22"} {
		if _, ok := scanNumber(s); !ok {
			t.Errorf("%q: fast path not taken", s)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	for range 2_000_000 {
		s := ""
		if r.IntN(2) == 0 {
			s = "-"
		}
		if ip := digits(1 + r.IntN(12)); ip[0] == '0' {
			s += "0"
		} else {
			s += ip
		}
		if r.IntN(3) > 0 {
			s += "." + digits(1+r.IntN(12))
		}
		if r.IntN(4) == 0 {
			s += []string{"e", "E", "e+", "e-", "E-"}[r.IntN(5)] + strconv.Itoa(r.IntN(40))
		}
		if _, ok := scanNumber(s); ok {
			accepted++
		}
		check(s)
	}
	if accepted < 1_000_000 {
		t.Errorf("fast path took only %d of 2,000,000 literals", accepted)
	}
}

// TestRFC3339MillisMatchesTimeParse checks that whatever rfc3339Millis
// accepts, time.Parse accepts too and gives the same milliseconds: on edge
// cases and on random strings of the right shape with random field values,
// some out of range.
func TestRFC3339MillisMatchesTimeParse(t *testing.T) {
	check := func(s string) bool {
		t.Helper()
		got, ok := rfc3339Millis([]byte(s))
		if !ok {
			return false
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || got != want.UnixMilli() {
			t.Fatalf("%q: rfc3339Millis %d, time.Parse %d %v", s, got, want.UnixMilli(), err)
		}
		return true
	}
	for _, s := range []string{"2026-11-26T21:30:22.123Z", "2026-11-26T21:30:22Z", "1970-01-01T00:00:00Z",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00+01:00",
		"2026-01-01T00:00:00.5+02:00", "2026-01-01T00:00:00.123456-23:59", "1969-12-31T23:59:59.999Z"} {
		if !check(s) {
			t.Errorf("%q: fast path not taken", s)
		}
	}
	for _, s := range []string{"2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-01-01t00:00:00Z",
		"2026-01-01T00:00:00z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+24:00",
		"2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00.1234567891Z",
		"2026-1-01T00:00:00Z", "+026-01-01T00:00:00Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00,5Z"} {
		if check(s) {
			t.Errorf("%q: accepted by the fast path", s)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	two := func(hi int) string { return fmt.Sprintf("%02d", r.IntN(hi)) }
	accepted := 0
	for range 1_000_000 {
		s := fmt.Sprintf("%04d-%s-%sT%s:%s:%s", r.IntN(10000), two(14), two(33), two(26), two(62), two(62))
		if r.IntN(2) == 0 {
			s += "." + strconv.FormatUint(r.Uint64(), 10)[:r.IntN(12)] // up to 11 digits, or none
		}
		switch r.IntN(3) {
		case 0:
			s += "Z"
		case 1:
			s += []string{"+", "-"}[r.IntN(2)] + two(26) + ":" + two(62)
		default:
			s += []string{"z", "", "+01", "-00:00:00", "Z ", "+1:00"}[r.IntN(6)]
		}
		if check(s) {
			accepted++
		}
	}
	if accepted < 100_000 {
		t.Errorf("fast path took only %d of 1,000,000 strings", accepted)
	}
}
