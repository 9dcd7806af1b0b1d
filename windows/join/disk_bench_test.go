package join

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The DiskStore benchmarks hold a given number of pending predictions:
// 100 thousand, 1 and 10 million, one size per process (a process keeps the
// heap of the sizes it ran before, which the memory figures would count):
//
//	for n in 100000 1000000 10000000; do
//	  RECKON_BENCH_PENDING=$n go test ./windows/join -run '^$' -bench 'DiskStore|DiskOpen|DiskRestore' -benchtime 300000x
//	done
//
// 100 million is not in the suite (about 20 GB of disk and an hour):
//
//	RECKON_BENCH_PENDING=100000000 go test ./windows/join -run '^$' -bench 'DiskStore' -benchtime 300000x -timeout 3h
//
// Without RECKON_BENCH_PENDING, each benchmark runs the three sizes in turn.
var benchPending = []int{100_000, 1_000_000, 10_000_000}

func benchSizes(b *testing.B) []int {
	if v := os.Getenv("RECKON_BENCH_PENDING"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("RECKON_BENCH_PENDING: %v", err)
		}
		return []int{n}
	}
	return benchPending
}

// benchMemory is the memory budget of the benchmarks' stores: the default.
const benchMemory = defaultMemory

// diskStream is the stream the DiskStore benchmarks replay, one step per
// millisecond of event time: a new prediction, and the outcomes due then.
// Half the predictions get an outcome, after a delay of (k + 1/2)/K of the
// TTL for k = id mod K, so delays spread evenly over the TTL; the others
// expire. So about 3/4 · ttl predictions are pending, and 1/2 · ttl ids are
// closed. The watermark trails by a second and moves every 1,000 steps; the
// store commits every 10,000 events, as a partition worker does once a
// second at 10,000 events/s.
type diskStream struct {
	d      *DiskStore
	ttl    int64
	t      int64 // the next step's time
	events int   // since the start
	sink   countingSink

	sinceCommit  int
	changelogB   int // key and value bytes of the changelog records
	records      int
	commitTime   time.Duration
	changelogPos int64
}

const (
	delayBuckets  = 64
	streamCommit  = 10_000
	streamAdvance = 1_000
)

func ttlForPending(n int) int64 { return int64(n) * 4 / 3 }

func (s *diskStream) delay(k int64) int64 { return s.ttl * (2*k + 1) / (2 * delayBuckets) }

func labelled(id int64) bool { return mix64(uint64(id))&1 == 0 }

func (s *diskStream) step(b testing.TB) {
	t := s.t
	s.t++
	s.d.AddPrediction(Prediction{Key: mix64(uint64(t)), Model: uint16(t & 3), TimeMs: t, Score: 0.5, Predicted: t&1 == 0}, &s.sink)
	s.event(b)
	for k := range int64(delayBuckets) {
		id := t - s.delay(k)
		if id < 0 || id%delayBuckets != k || !labelled(id) {
			continue
		}
		s.d.AddOutcome(Outcome{Key: mix64(uint64(id)), Model: uint16(id & 3), TimeMs: t, Label: true}, &s.sink)
		s.event(b)
	}
	if t%streamAdvance == 0 {
		s.d.Advance(t-1000, &s.sink)
	}
}

func (s *diskStream) event(b testing.TB) {
	s.events++
	if s.sinceCommit++; s.sinceCommit < streamCommit {
		return
	}
	s.sinceCommit = 0
	start := time.Now()
	err := s.d.Changes(func(k, v []byte) {
		s.changelogB += len(k) + len(v)
		s.records++
		s.changelogPos++
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.d.Commit(s.changelogPos); err != nil {
		b.Fatal(err)
	}
	s.commitTime += time.Since(start)
}

// fill runs the stream until it is in its steady state.
func (s *diskStream) fill(b testing.TB) {
	if err := s.d.Restored(0); err != nil {
		b.Fatal(err)
	}
	for s.t < s.ttl*3/2 {
		s.step(b)
	}
}

// restoreSteady puts the store in the stream's steady state at time
// 3/2 · ttl by a cold restore of the changelog that state has, much faster
// than running the stream there: each id's state follows from the stream's
// definition, taken as of a sweep at the watermark then.
func (s *diskStream) restoreSteady(b testing.TB) {
	now := s.ttl * 3 / 2
	wm := now - 1 - 1000
	var key, val []byte
	var n int64
	put := func(id int64, e entry) {
		key = appendEKey(key[:0], mix64(uint64(id)), uint16(id&3))
		val = appendEntryValue(val[:0], e)
		if err := s.d.Restore(key, val); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for id := max(now-2*s.ttl, 0); id < now; id++ {
		to := id + s.delay(id%delayBuckets)
		switch {
		case labelled(id) && to < now: // joined
			if to+s.ttl > wm {
				put(id, entry{t: to, flags: stateClosed})
			}
		case id+s.ttl > wm:
			flags := statePending
			if id&1 == 0 {
				flags |= flagPredicted
			}
			put(id, entry{t: id, score: math.Float32bits(0.5), flags: flags})
		}
	}
	next := (wm/s.ttl*16 + 1) * s.ttl / 16 // approximately the next sweep point
	if err := s.d.Restore([]byte(metaKey), appendMetaValue(nil, wm, max(next, wm+1), wm-s.ttl)); err != nil {
		b.Fatal(err)
	}
	if err := s.d.Restored(n); err != nil {
		b.Fatal(err)
	}
	s.t, s.changelogPos = now, n
}

func newDiskStream(b testing.TB, pending int) *diskStream {
	d, err := Open(b.TempDir(), time.Duration(ttlForPending(pending))*time.Millisecond, WithMemory(benchMemory))
	if err != nil {
		b.Fatal(err)
	}
	return &diskStream{d: d, ttl: ttlForPending(pending)}
}

// BenchmarkDiskStore replays diskStream with the store holding about
// pending predictions (and half as many closed ids). The store gets to that
// steady state by a cold restore of its changelog, then waits for pebble's
// compactions to finish (RECKON_BENCH_FILL=run replays the stream from the
// start instead: slower, and the same figures). An op is one step, about 1.5
// events: ns/event and cpu-ns/event (all the process's CPU, pebble's
// compactions included) are the figures to read. It also reports the
// changelog written per event, the memory (Go heap in use, the process's
// resident set, and what the store counts) against the budget, the disk per
// held id, and the share of held ids not in the memory cache.
func BenchmarkDiskStore(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			s := newDiskStream(b, n)
			defer s.d.Close()
			if os.Getenv("RECKON_BENCH_FILL") == "run" {
				s.fill(b)
			} else {
				s.restoreSteady(b)
			}
			settle(b, s.d)
			s.events, s.changelogB, s.records, s.commitTime = 0, 0, 0, 0
			cpu := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				s.step(b)
			}
			b.StopTimer()
			ev := float64(s.events)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/ev, "ns/event")
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/ev, "cpu-ns/event")
			b.ReportMetric(float64(s.commitTime.Nanoseconds())/ev, "commit-ns/event")
			b.ReportMetric(float64(s.changelogB)/ev, "changelog-B/event")
			b.ReportMetric(float64(s.records)/ev, "records/event")
			b.ReportMetric(float64(s.d.Pending()), "pending")
			b.ReportMetric(float64(s.d.Len()), "held")
			b.ReportMetric(float64(s.d.cold)/float64(max(s.d.Len(), 1)), "cold-fraction")
			reportMemory(b, s.d)
		})
	}
}

// reportMemory reports the live Go heap (after a collection), the resident
// set of the process (after returning freed memory to the system: the Go
// runtime otherwise keeps up to the heap's size again, by GOGC=100), what
// the store counts itself, and the disk per held id.
func reportMemory(b *testing.B, d *DiskStore) {
	var ms runtime.MemStats
	debug.FreeOSMemory() // collects, then returns what is free
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
	b.ReportMetric(float64(peakRSSBytes())/(1<<20), "peak-rss-MiB") // set-up included
	b.ReportMetric(float64(d.MemoryBytes())/(1<<20), "store-MiB")
	b.ReportMetric(float64(benchMemory)/(1<<20), "budget-MiB")
	b.ReportMetric(float64(d.DiskBytes())/float64(max(d.Len(), 1)), "disk-B/held")
}

// cpuTime returns the CPU time (user and system) the process has used, its
// background goroutines (pebble's flushes and compactions) included. On a
// shared machine it is a steadier measure of cost than the elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle compacts everything pebble holds, so that a benchmark does not pay
// for the compactions of its set-up, and then waits until pebble has run no
// flush or compaction for a second.
func settle(b testing.TB, d *DiskStore) {
	if err := d.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
	quiet := 0
	for start := time.Now(); quiet < 10 && time.Since(start) < 10*time.Minute; {
		time.Sleep(100 * time.Millisecond)
		m := d.db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Flush.NumInProgress == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// rssBytes returns the resident set of the process, or 0 where /proc has
// none.
func rssBytes() int64 { return procStatus("VmRSS:") }

// peakRSSBytes returns the largest resident set the process has had.
func peakRSSBytes() int64 { return procStatus("VmHWM:") }

// procStatus returns a size in /proc/self/status, in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fillPending makes a store in dir holding n pending predictions, by a cold
// restore of their changelog, compacts it, and closes it. It returns the
// changelog position.
func fillPending(b *testing.B, dir string, n int) int64 {
	d, err := Open(dir, 30*24*time.Hour, WithMemory(benchMemory))
	if err != nil {
		b.Fatal(err)
	}
	restorePending(b, d, n)
	settle(b, d)
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	return int64(n)
}

// restorePending restores the changelog of n pending predictions into d.
func restorePending(b *testing.B, d *DiskStore, n int) {
	var key, val []byte
	const t0 = 1_795_000_000_000
	for i := range n {
		key = appendEKey(key[:0], mix64(uint64(i)), uint16(i&3))
		val = appendEntryValue(val[:0], entry{t: t0 + int64(i)/8, score: 0x3f000000, flags: statePending})
		if err := d.Restore(key, val); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Restored(int64(n)); err != nil {
		b.Fatal(err)
	}
	if d.Pending() != n {
		b.Fatalf("%d pending after restoring, want %d", d.Pending(), n)
	}
}

// BenchmarkDiskOpen is a warm restore with nothing to replay: Open and
// Restored on a directory holding n pending predictions, which fills the
// memory cache up to its budget.
func BenchmarkDiskOpen(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			pos := fillPending(b, dir, n)
			b.ResetTimer()
			for b.Loop() {
				d, err := Open(dir, 30*24*time.Hour, WithMemory(benchMemory))
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Restored(pos); err != nil {
					b.Fatal(err)
				}
				if d.Pending() != n {
					b.Fatalf("%d pending after opening, want %d", d.Pending(), n)
				}
				b.StopTimer()
				d.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
		})
	}
}

// BenchmarkDiskRestore is a cold restore of n pending predictions from
// their changelog records, into an empty directory. It reports pending
// predictions restored per second.
func BenchmarkDiskRestore(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			var compact time.Duration
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				b.StartTimer()
				d, err := Open(dir, 30*24*time.Hour, WithMemory(benchMemory))
				if err != nil {
					b.Fatal(err)
				}
				restorePending(b, d, n)
				b.StopTimer()
				start := time.Now()
				settle(b, d)
				compact += time.Since(start)
				d.Close()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pending/s")
			// The merging of the sorted runs the restore leaves, which
			// pebble does in the background once the store is ready.
			b.ReportMetric(compact.Seconds()/float64(b.N), "then-compact-s")
			b.ReportMetric(float64(peakRSSBytes())/(1<<20), "peak-rss-MiB")
		})
	}
}
