package windows

import (
	"math"
	"time"
)

// Unset is the watermark before any event has been seen.
const Unset int64 = math.MinInt64

// Source is the event-time progress of one input topic-partition. Observe is
// called per event by the owning partition; Fetched once per batch by the
// runtime that reads the topic.
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
// nothing is left to read (docs/semantics.md: wall clock, nothing new fetched and
// nothing left to read).
func (s *Source) Idle(now time.Time, idleTimeout time.Duration) bool {
	return s.caughtUp && now.Sub(s.lastActive) >= idleTimeout
}

// watermark is the source's own watermark: its highest event time minus the
// allowed lateness, or Unset before its first event.
func (s *Source) watermark(lateness int64) int64 {
	if !s.seen {
		return Unset
	}
	return s.maxMs - lateness
}

// Input is one input of a watermark: a source or, for the group, a
// partition as it last reported itself.
type Input struct {
	Watermark int64 // Unset: no event yet
	Idle      bool
}

// NextWatermark applies the watermark rule of docs/semantics.md to inputs and
// returns the watermark that follows cur. It is the one rule of event time
// in reckon, applied at two levels: a partition over its predictions and
// outcomes topic-partitions, and the group over the partitions. Because
// the minimum over every non-idle input of the group equals the minimum
// over non-idle partitions of each partition's minimum over its non-idle
// sources (and likewise the maximum when all are idle), applying it twice
// is applying it once over every input topic-partition.
//
//   - The watermark is the minimum over the inputs that are not idle.
//   - An input that is not idle and has no watermark yet holds everything:
//     cur is returned.
//   - When every input is idle it is the highest input watermark, so that a
//     finished burst or backfill closes its windows after idle_timeout.
//   - It never goes backwards: the result is at least cur.
func NextWatermark(cur int64, inputs []Input) int64 {
	low, high := int64(math.MaxInt64), Unset
	active := false
	for _, in := range inputs {
		high = max(high, in.Watermark)
		if in.Idle {
			continue
		}
		if in.Watermark == Unset {
			return cur
		}
		active = true
		low = min(low, in.Watermark)
	}
	next := high
	if active {
		next = low
	}
	return max(cur, next)
}
