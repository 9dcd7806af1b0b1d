package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// meter measures one throughput phase: wall time, process CPU and heap
// allocations from the end of the first batch to the end of the batch that
// processed the last record (both observed), peak memory over the whole
// phase, and optionally a CPU profile.
type meter struct {
	name      string
	log       io.Writer
	heapStart uint64

	start, first, last mark // first, last: of the observed counts
	counts             int  // distinct counts observed

	peak      peakSampler
	prof      bytes.Buffer
	profiling bool
}

func startMeter(name string, profile bool, log io.Writer) *meter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &meter{name: name, log: log, heapStart: ms.HeapInuse}
	m.peak.start(20 * time.Millisecond)
	if profile {
		if err := pprof.StartCPUProfile(&m.prof); err != nil {
			fmt.Fprintf(log, "bench: %s: no CPU profile: %v\n", name, err)
		} else {
			m.profiling = true
		}
	}
	m.start = takeMark(0)
	return m
}

// mark is the process's counters when n records had been counted.
type mark struct {
	ok      bool
	t       time.Time
	n       uint64
	cpu     time.Duration
	mallocs uint64
	bytes   uint64
	gc      uint32
}

func takeMark(n uint64) mark {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mark{ok: true, t: time.Now(), n: n, cpu: cpuTime(), mallocs: ms.Mallocs, bytes: ms.TotalAlloc, gc: ms.NumGC}
}

// observe records the cumulative count of records processed: the first
// non-zero count starts the measured interval, and each change is marked.
func (m *meter) observe(n uint64) {
	if n == 0 || n == m.last.n {
		return
	}
	mk := takeMark(n)
	m.counts++
	if !m.first.ok {
		m.first = mk
	}
	m.last = mk
}

// finish ends the phase with n records processed in all. events is what the
// profile's per-event figures divide by (the records of the whole phase).
func (m *meter) finish(n uint64, profileFile string) Phase {
	end := takeMark(n)
	if m.profiling {
		pprof.StopCPUProfile()
	}
	heap, sys := m.peak.stop()
	p := Phase{Name: m.name, Events: n, HeapInuseStart: m.heapStart, PeakHeapInuse: heap, PeakSys: sys, Counts: m.counts}
	from := m.first
	if m.last.ok && m.last.n == n {
		end = m.last // the phase may go on after its last record (a commit)
	}
	// Without a batch after the first (a tiny run), measure the whole phase.
	if !from.ok || end.n <= from.n {
		from = m.start
	}
	p.Measured = end.n - from.n
	p.Seconds = end.t.Sub(from.t).Seconds()
	p.GCCycles = end.gc - from.gc
	if p.Measured > 0 && p.Seconds > 0 {
		e := float64(p.Measured)
		p.EventsPerSec = e / p.Seconds
		p.CPUMicrosPerEvent = float64((end.cpu - from.cpu).Microseconds()) / e
		p.AllocsPerEvent = float64(end.mallocs-from.mallocs) / e
		p.AllocBytesPerEvent = float64(end.bytes-from.bytes) / e
	}
	if m.profiling {
		if profileFile != "" {
			if err := os.WriteFile(profileFile, m.prof.Bytes(), 0o644); err != nil {
				fmt.Fprintf(m.log, "bench: writing %s: %v\n", profileFile, err)
			}
		}
		b, err := breakdown(m.prof.Bytes(), n)
		if err != nil {
			fmt.Fprintf(m.log, "bench: %s: reading the CPU profile: %v\n", m.name, err)
		} else {
			p.CPU = b
		}
	}
	return p
}

// profilePath names the CPU profile of a phase of run i of n in dir ("" for
// none).
func profilePath(dir, kafka, phase string, i, n int) string {
	if dir == "" {
		return ""
	}
	if n > 1 {
		phase += "-" + strconv.Itoa(i+1)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(strings.Fields(kafka)[0]+"-"+phase))
	return filepath.Join(dir, name+".pprof")
}

// peakSampler samples heap in use and memory obtained from the OS with
// runtime/metrics (no stop-the-world) and keeps the high-water marks.
type peakSampler struct {
	stopc     chan struct{}
	wg        sync.WaitGroup
	heap, sys uint64
}

var peakMetrics = []string{
	"/memory/classes/heap/objects:bytes", // + unused = MemStats.HeapInuse
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/total:bytes", // = MemStats.Sys
}

func (s *peakSampler) start(every time.Duration) {
	s.stopc = make(chan struct{})
	samples := make([]metrics.Sample, len(peakMetrics))
	for i, n := range peakMetrics {
		samples[i].Name = n
	}
	sample := func() {
		metrics.Read(samples)
		var v [3]uint64
		for i := range samples {
			if samples[i].Value.Kind() == metrics.KindUint64 {
				v[i] = samples[i].Value.Uint64()
			}
		}
		s.heap = max(s.heap, v[0]+v[1])
		s.sys = max(s.sys, v[2])
	}
	sampleEvery(&s.wg, s.stopc, every, sample)
}

// sampleEvery calls sample now, then every period on a goroutine of wg,
// and once more when stop is closed, as the last sample.
func sampleEvery(wg *sync.WaitGroup, stop <-chan struct{}, every time.Duration, sample func()) {
	sample()
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	})
}

func (s *peakSampler) stop() (heap, sys uint64) {
	close(s.stopc)
	s.wg.Wait()
	return s.heap, s.sys
}
