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
// allocations from the end of the first batch (observe) to the last record
// (finish), peak memory over the whole phase, and optionally a CPU profile.
type meter struct {
	name      string
	log       io.Writer
	started   time.Time
	heapStart uint64

	first        bool
	firstT       time.Time
	firstN       uint64
	firstCPU     time.Duration
	firstMallocs uint64
	firstBytes   uint64
	firstGC      uint32

	startCPU     time.Duration
	startMallocs uint64
	startBytes   uint64
	startGC      uint32

	peak      peakSampler
	prof      bytes.Buffer
	profiling bool
}

func startMeter(name string, profile bool, log io.Writer) *meter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &meter{name: name, log: log, heapStart: ms.HeapInuse,
		startMallocs: ms.Mallocs, startBytes: ms.TotalAlloc, startGC: ms.NumGC}
	m.peak.start(20 * time.Millisecond)
	if profile {
		if err := pprof.StartCPUProfile(&m.prof); err != nil {
			fmt.Fprintf(log, "bench: %s: no CPU profile: %v\n", name, err)
		} else {
			m.profiling = true
		}
	}
	m.started = time.Now()
	m.startCPU = cpuTime()
	return m
}

// observe records the cumulative count of records processed; the first
// non-zero count starts the measured interval.
func (m *meter) observe(n uint64) {
	if m.first || n == 0 {
		return
	}
	m.first = true
	m.firstT = time.Now()
	m.firstN = n
	m.firstCPU = cpuTime()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.firstMallocs, m.firstBytes, m.firstGC = ms.Mallocs, ms.TotalAlloc, ms.NumGC
}

// finish ends the phase with n records processed in all. events is what the
// profile's per-event figures divide by (the records of the whole phase).
func (m *meter) finish(n uint64, profileFile string) Phase {
	t := time.Now()
	cpu := cpuTime()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if m.profiling {
		pprof.StopCPUProfile()
	}
	heap, sys := m.peak.stop()
	p := Phase{Name: m.name, Events: n, HeapInuseStart: m.heapStart, PeakHeapInuse: heap, PeakSys: sys}
	// Without a batch after the first (a tiny run), measure the whole phase.
	t0, n0, cpu0, mallocs0, bytes0, gc0 := m.firstT, m.firstN, m.firstCPU, m.firstMallocs, m.firstBytes, m.firstGC
	if !m.first || n <= n0 {
		t0, n0, cpu0, mallocs0, bytes0, gc0 = m.started, 0, m.startCPU, m.startMallocs, m.startBytes, m.startGC
	}
	p.Measured = n - n0
	p.Seconds = t.Sub(t0).Seconds()
	p.GCCycles = ms.NumGC - gc0
	if p.Measured > 0 && p.Seconds > 0 {
		e := float64(p.Measured)
		p.EventsPerSec = e / p.Seconds
		p.CPUMicrosPerEvent = float64((cpu - cpu0).Microseconds()) / e
		p.AllocsPerEvent = float64(ms.Mallocs-mallocs0) / e
		p.AllocBytesPerEvent = float64(ms.TotalAlloc-bytes0) / e
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
	sample()
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
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
