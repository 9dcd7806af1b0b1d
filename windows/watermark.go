package windows

import (
	"math"
	"time"
)

// Unset is the watermark before any event has been seen.
const Unset int64 = math.MinInt64

// Source is the event-time progress of one input topic-partition. Observe is
// called per event by the owning worker; Fetched once per batch.
type Source struct {
	maxMs      int64
	seen       bool
	lastActive time.Time
	caughtUp   bool
}

// NewSource returns a source assigned at now. Until a fetch says otherwise
// it is assumed caught up: a partition with records to read is fetched well
// within any sensible idle_timeout.
func NewSource(now time.Time) *Source {
	return &Source{maxMs: Unset, lastActive: now, caughtUp: true}
}

// Observe records an event time. It never moves the source backwards.
func (s *Source) Observe(ms int64) {
	if ms > s.maxMs {
		s.maxMs = ms
	}
	s.seen = true
}

// Fetched records that records were fetched at now, and whether the
// partition's end has been reached.
func (s *Source) Fetched(now time.Time, caughtUp bool) {
	s.lastActive = now
	s.caughtUp = caughtUp
}

// Max is the highest event time seen, or Unset.
func (s *Source) Max() int64 { return s.maxMs }

// CaughtUp reports whether the last fetch reached the partition's end.
func (s *Source) CaughtUp() bool { return s.caughtUp }

// Idle reports whether the source has had nothing new for idleTimeout and
// nothing is left to read.
func (s *Source) Idle(now time.Time, idleTimeout time.Duration) bool {
	return s.caughtUp && now.Sub(s.lastActive) >= idleTimeout
}

// Watermark is the event-time clock that closes windows (DESIGN.md §2): the
// minimum over the sources of (highest event time − allowed lateness),
// skipping sources idle for longer than the idle timeout. It never goes
// backwards; when every source is idle it stays where it is.
type Watermark struct {
	lateness int64
	idle     time.Duration
	current  int64
}

// NewWatermark returns a watermark with the given allowed lateness and idle
// timeout.
func NewWatermark(allowedLateness, idleTimeout time.Duration) *Watermark {
	return &Watermark{lateness: allowedLateness.Milliseconds(), idle: idleTimeout, current: Unset}
}

// Current is the watermark as of the last Advance.
func (w *Watermark) Current() int64 { return w.current }

// Advance recomputes the watermark from the sources at wall-clock time now
// and returns it.
func (w *Watermark) Advance(now time.Time, sources []*Source) int64 {
	low := int64(math.MaxInt64)
	active := false
	for _, s := range sources {
		if s.Idle(now, w.idle) {
			continue
		}
		active = true
		if !s.seen {
			return w.current // an active source with no events yet holds everything
		}
		low = min(low, s.maxMs-w.lateness)
	}
	if active && low > w.current {
		w.current = low
	}
	return w.current
}
