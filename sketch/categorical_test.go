package sketch

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func categoricalOf(limit int, vs ...string) *Categorical {
	c := NewCategorical(limit)
	for _, v := range vs {
		c.Add([]byte(v))
	}
	return c
}

func countsOf(c *Categorical) map[string]uint64 {
	return maps.Collect(c.All())
}

func TestCategoricalCap(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		values   []string
		counts   map[string]uint64
		other    uint64
		distinct uint64
	}{
		{"empty", 3, nil, map[string]uint64{}, 0, 0},
		{"under cap", 3, []string{"a", "b", "a"}, map[string]uint64{"a": 2, "b": 1}, 0, 2},
		{"at cap", 2, []string{"a", "b", "a"}, map[string]uint64{"a": 2, "b": 1}, 0, 2},
		{
			"over cap: first come, tracked keep counting", 2,
			[]string{"a", "b", "c", "a", "d", "c", "b"},
			map[string]uint64{"a": 2, "b": 2}, 3, 4,
		},
		{"empty string is a value", 5, []string{"", "", "x"}, map[string]uint64{"": 2, "x": 1}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := categoricalOf(tt.limit, tt.values...)
			c.AddMissing()
			if got := countsOf(c); !maps.Equal(got, tt.counts) {
				t.Errorf("counts = %v, want %v", got, tt.counts)
			}
			if c.Other() != tt.other || c.Missing() != 1 {
				t.Errorf("other, missing = %d, %d; want %d, 1", c.Other(), c.Missing(), tt.other)
			}
			if got := c.Distinct(); got != tt.distinct {
				t.Errorf("Distinct = %d, want %d", got, tt.distinct)
			}
			if c.Total() != uint64(len(tt.values))+1 || c.NonMissing() != uint64(len(tt.values)) {
				t.Errorf("Total, NonMissing = %d, %d", c.Total(), c.NonMissing())
			}
			if c.Exact() != (tt.other == 0) {
				t.Errorf("Exact = %v", c.Exact())
			}
		})
	}
}

func TestCategoricalDefaults(t *testing.T) {
	var zero Categorical
	zero.AddString("x")
	if zero.Limit() != DefaultCategoricalLimit || NewCategorical(0).Limit() != DefaultCategoricalLimit ||
		NewCategorical(-5).Limit() != DefaultCategoricalLimit || NewCategorical(7).Limit() != 7 {
		t.Error("limit defaults")
	}
	if zero.Count("x") != 1 {
		t.Error("zero value does not count")
	}
}

func TestCategoricalTop(t *testing.T) {
	c := categoricalOf(10, "b", "a", "c", "a", "b", "d")
	want := []ValueCount{{"a", 2}, {"b", 2}, {"c", 1}, {"d", 1}}
	if got := c.Top(0); !slices.Equal(got, want) {
		t.Errorf("Top(0) = %v", got)
	}
	if got := c.Top(2); !slices.Equal(got, want[:2]) {
		t.Errorf("Top(2) = %v", got)
	}
	var keys []string
	for k := range c.All() {
		keys = append(keys, k)
	}
	if !slices.Equal(keys, []string{"a", "b", "c", "d"}) {
		t.Errorf("All order = %v", keys)
	}
}

// TestCategoricalMerge checks the stated guarantees under merges of capped
// sketches, and commutativity.
func TestCategoricalMerge(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		a, b      []string
		counts    map[string]uint64
		other     uint64
		exactness bool
	}{
		{"disjoint under cap", 5, []string{"a", "b"}, []string{"c"}, map[string]uint64{"a": 1, "b": 1, "c": 1}, 0, true},
		{"overlap", 5, []string{"a", "a", "b"}, []string{"a", "c"}, map[string]uint64{"a": 3, "b": 1, "c": 1}, 0, true},
		{
			"union over cap keeps the heaviest", 2,
			[]string{"a", "b", "b"}, []string{"c", "c", "c", "a"},
			map[string]uint64{"c": 3, "a": 2}, 2, false,
		},
		{
			"ties broken by value", 2,
			[]string{"z", "y"}, []string{"x"},
			map[string]uint64{"x": 1, "y": 1}, 1, false,
		},
		{
			"others add up", 1,
			[]string{"a", "b", "b"}, []string{"a", "c"},
			map[string]uint64{"a": 2}, 3, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ab, ba := categoricalOf(tt.limit, tt.a...), categoricalOf(tt.limit, tt.b...)
			if err := ab.Merge(categoricalOf(tt.limit, tt.b...)); err != nil {
				t.Fatal(err)
			}
			if err := ba.Merge(categoricalOf(tt.limit, tt.a...)); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Categorical{ab, ba} {
				if got := countsOf(c); !maps.Equal(got, tt.counts) || c.Other() != tt.other {
					t.Errorf("counts, other = %v, %d; want %v, %d", got, c.Other(), tt.counts, tt.other)
				}
				if c.Exact() != tt.exactness {
					t.Errorf("Exact = %v", c.Exact())
				}
			}
			if c1, c2 := ab.Clone(), ba.Clone(); c1.Distinct() != c2.Distinct() {
				t.Errorf("Distinct differs: %d vs %d", c1.Distinct(), c2.Distinct())
			}
			checkCategoricalGuarantees(t, ab, append(slices.Clone(tt.a), tt.b...))
		})
	}
}

// TestCategoricalMergeGuarantees merges many random capped shards in random
// trees and checks Count(v) ≤ true(v) ≤ Count(v) + Other and exact totals.
func TestCategoricalMergeGuarantees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for trial := range 20 {
		limit := 1 + r.IntN(8)
		var all []string
		var shards []*Categorical
		for range 1 + r.IntN(6) {
			var vs []string
			for range r.IntN(40) {
				vs = append(vs, strconv.Itoa(int(r.ExpFloat64()*4)))
			}
			all = append(all, vs...)
			shards = append(shards, categoricalOf(limit, vs...))
		}
		for len(shards) > 1 {
			i, j := r.IntN(len(shards)), r.IntN(len(shards)-1)
			if j >= i {
				j++
			}
			if err := shards[i].Merge(shards[j]); err != nil {
				t.Fatal(err)
			}
			shards = slices.Delete(shards, j, j+1)
		}
		if t.Failed() {
			t.Logf("trial %d", trial)
		}
		checkCategoricalGuarantees(t, shards[0], all)
	}
}

func checkCategoricalGuarantees(t *testing.T, c *Categorical, all []string) {
	t.Helper()
	truth := map[string]uint64{}
	for _, v := range all {
		truth[v]++
	}
	if c.NonMissing() != uint64(len(all)) {
		t.Errorf("NonMissing = %d, want %d", c.NonMissing(), len(all))
	}
	if c.Len() > c.Limit() {
		t.Errorf("%d values tracked over limit %d", c.Len(), c.Limit())
	}
	for v, n := range truth {
		if got := c.Count(v); got > n || n > got+c.Other() {
			t.Errorf("value %q: count %d, true %d, other %d", v, got, n, c.Other())
		}
	}
	if c.Exact() && c.Distinct() != uint64(len(truth)) {
		t.Errorf("exact Distinct = %d, want %d", c.Distinct(), len(truth))
	}
}

func TestCategoricalAddDoesNotAllocate(t *testing.T) {
	c := NewCategorical(0)
	vals := make([][]byte, 20)
	for i := range vals {
		vals[i] = []byte("country-" + strconv.Itoa(i))
		c.Add(vals[i])
	}
	i := 0
	if a := testing.AllocsPerRun(10_000, func() {
		c.Add(vals[i%len(vals)])
		i++
	}); a != 0 {
		t.Errorf("Add of a known value allocates %v times", a)
	}
	if a := testing.AllocsPerRun(10_000, func() {
		c.AddString("country-3")
	}); a != 0 {
		t.Errorf("AddString of a known value allocates %v times", a)
	}
}

func TestCategoricalKeysDoNotAlias(t *testing.T) {
	c := NewCategorical(0)
	b := []byte("abc")
	c.Add(b)
	b[0] = 'x'
	if c.Count("abc") != 1 || c.Count("xbc") != 0 {
		t.Error("tracked key aliases the caller's buffer")
	}
}

func TestCategoricalResetClone(t *testing.T) {
	c := categoricalOf(2, "a", "b", "c")
	c.AddMissing()
	cl := c.Clone()
	before := mustMarshal(t, cl)
	c.Reset()
	if c.Total() != 0 || c.Distinct() != 0 || c.Len() != 0 || c.Limit() != 2 {
		t.Error("Reset left state")
	}
	c.AddString("z")
	if c.Count("z") != 1 || c.Distinct() != 1 {
		t.Error("reset sketch does not count")
	}
	if !bytes.Equal(before, mustMarshal(t, cl)) {
		t.Error("Reset changed the clone")
	}
	if err := cl.Merge(cl); err != nil || cl.NonMissing() != 6 || cl.Missing() != 2 {
		t.Errorf("self merge: %v, %d", err, cl.NonMissing())
	}
	if err := cl.Merge(nil); err != nil {
		t.Error(err)
	}
}

// TestCategoricalRecycled checks that a sketch reused through Reset, life
// after life, is indistinguishable from a fresh one fed the same values:
// encoding, counts, clone, merge and the statistics, under the cap and past
// it. Its values of earlier lives are reused, not copied again.
func TestCategoricalRecycled(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	recycled := NewCategorical(8)
	for life := range 30 {
		recycled.Reset()
		fresh := NewCategorical(8)
		var seen []string
		for range r.IntN(60) {
			v := "v" + strconv.Itoa(r.IntN(4+life%12)) // values come and go between lives
			seen = append(seen, v, "absent")
			if r.IntN(2) == 0 {
				recycled.Add([]byte(v))
				fresh.Add([]byte(v))
			} else {
				recycled.AddString(v)
				fresh.AddString(v)
			}
		}
		if !bytes.Equal(mustMarshal(t, recycled), mustMarshal(t, fresh)) {
			t.Fatalf("life %d: recycled encodes differently from fresh:\n%x\n%x", life, mustMarshal(t, recycled), mustMarshal(t, fresh))
		}
		for _, v := range seen {
			if recycled.Count(v) != fresh.Count(v) {
				t.Fatalf("life %d: Count(%q) %d, want %d", life, v, recycled.Count(v), fresh.Count(v))
			}
		}
		if recycled.Len() != fresh.Len() || recycled.Distinct() != fresh.Distinct() || recycled.Total() != fresh.Total() {
			t.Fatalf("life %d: Len/Distinct/Total differ", life)
		}
		if !bytes.Equal(mustMarshal(t, recycled.Clone()), mustMarshal(t, fresh)) {
			t.Fatalf("life %d: clone of recycled differs", life)
		}
		other := categoricalOf(8, "v1", "v2", "v9", "w")
		m1, m2 := recycled.Clone(), fresh.Clone()
		if err := m1.Merge(other); err != nil {
			t.Fatal(err)
		}
		if err := m2.Merge(other); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mustMarshal(t, m1), mustMarshal(t, m2)) {
			t.Fatalf("life %d: merge into recycled differs", life)
		}
		if fresh.NonMissing() > 0 {
			c1, _, err1 := ChiSquare(other, recycled)
			c2, _, err2 := ChiSquare(other, fresh)
			if c1 != c2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("life %d: chi-square %v %v, want %v %v", life, c1, err1, c2, err2)
			}
		}
	}
}
