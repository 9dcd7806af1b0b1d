package consumer

import (
	"testing"
	"time"

	"github.com/reckonhq/reckon/windows"
)

func TestPausedTopic(t *testing.T) {
	const slack = 60_000
	src := func(maxMs int64, caughtUp bool) *windows.Source {
		s := windows.NewSource(time.Unix(0, 0))
		if maxMs != windows.Unset {
			s.Observe(maxMs)
		}
		s.Fetched(time.Unix(0, 0), caughtUp)
		return s
	}
	for _, tc := range []struct {
		name      string
		pred, out *windows.Source
		fetched   [2]bool
		paused    int
		want      int
	}{
		{"in step", src(1_000_000, false), src(1_030_000, false), [2]bool{true, true}, -1, -1},
		{"outcomes ahead", src(1_000_000, false), src(1_100_000, false), [2]bool{true, true}, -1, outcomesTopic},
		{"predictions ahead", src(1_100_000, false), src(1_000_000, false), [2]bool{true, true}, -1, predictionsTopic},
		{"ahead, but the other has nothing more to read", src(1_000_000, true), src(1_100_000, false), [2]bool{true, true}, -1, -1},
		{"paused, still more than half the slack ahead", src(1_000_000, false), src(1_040_000, false), [2]bool{true, true}, outcomesTopic, outcomesTopic},
		{"paused, within half the slack: resume", src(1_000_000, false), src(1_020_000, false), [2]bool{true, true}, outcomesTopic, -1},
		{"not paused, within the slack", src(1_000_000, false), src(1_040_000, false), [2]bool{true, true}, -1, -1},
		{"paused, the other caught up: resume", src(1_000_000, true), src(1_100_000, false), [2]bool{true, true}, outcomesTopic, -1},
		{"no event time yet", src(windows.Unset, false), src(1_100_000, false), [2]bool{true, true}, -1, -1},
		{"ahead, but the last poll brought none of the other's records", src(1_000_000, false), src(1_100_000, false), [2]bool{false, true}, -1, -1},
		{"paused, the other's records stopped coming: resume", src(1_000_000, false), src(1_100_000, false), [2]bool{false, false}, outcomesTopic, -1},
		{"the other way round", src(1_100_000, false), src(1_000_000, false), [2]bool{true, true}, outcomesTopic, predictionsTopic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pausedTopic(tc.pred, tc.out, tc.fetched, tc.paused, slack); got != tc.want {
				t.Errorf("pausedTopic = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAlignSlack(t *testing.T) {
	for _, tc := range []struct {
		lateness time.Duration
		want     int64
	}{{0, 60_000}, {30 * time.Second, 60_000}, {5 * time.Minute, 300_000}} {
		if got := alignSlack(tc.lateness); got != tc.want {
			t.Errorf("alignSlack(%s) = %d, want %d", tc.lateness, got, tc.want)
		}
	}
}
