package event

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestFastFloatMatchesStrconv checks fastFloat against strconv.ParseFloat bit
// for bit, on edge cases and on random literals of every shape the JSON
// grammar allows.
func TestFastFloatMatchesStrconv(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := fastFloat([]byte(s))
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
		"5e-324", "0.000000000000000000001", "1e0000000000000000000005", "1e99999999999999"} {
		check(s)
	}
	for _, s := range []string{"37", "123.45", "-0.873", "1e3", "9007199254740992", "1e22", "1e-22"} {
		if _, ok := fastFloat([]byte(s)); !ok {
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
		if _, ok := fastFloat([]byte(s)); ok {
			accepted++
		}
		check(s)
	}
	if accepted < 1_000_000 {
		t.Errorf("fast path took only %d of 2,000,000 literals", accepted)
	}
}
