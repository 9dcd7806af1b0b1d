package join_test

import (
	"fmt"
	"time"

	"github.com/reckonhq/reckon/windows/join"
)

// printSink stands in for a partition worker, which would update per-model
// counters and window state instead.
type printSink struct{}

func (printSink) Joined(j join.Joined) {
	fmt.Printf("joined: model %d, label delay %v, score %.2f, predicted %v, label %v\n",
		j.Model, time.Duration(j.OutcomeTimeMs-j.PredTimeMs)*time.Millisecond, j.Score, j.Predicted, j.Label)
}
func (printSink) DuplicatePrediction(model uint16) { fmt.Println("duplicate prediction, model", model) }
func (printSink) DuplicateOutcome(model uint16)    { fmt.Println("duplicate outcome, model", model) }
func (printSink) Expired(model uint16, t int64) {
	fmt.Println("expired unlabelled, model", model, "at", time.UnixMilli(t).UTC().Format(time.TimeOnly))
}
func (printSink) Orphaned(model uint16, t int64) {
	fmt.Println("orphaned outcome, model", model, "at", time.UnixMilli(t).UTC().Format(time.TimeOnly))
}

func Example() {
	const fraud = 0 // model index
	t0 := time.Date(2026, 11, 26, 21, 30, 0, 0, time.UTC).UnixMilli()
	minute := time.Minute.Milliseconds()

	s := join.New(time.Hour) // label_ttl
	var sink printSink

	a := join.KeyOf(fraud, []byte("c1f0b6e2"))
	b := join.KeyOf(fraud, []byte("9d43aa01"))
	s.AddPrediction(join.Prediction{Key: a, Model: fraud, TimeMs: t0, Score: 0.87, Predicted: true}, sink)
	s.AddPrediction(join.Prediction{Key: b, Model: fraud, TimeMs: t0 + minute, Score: 0.12}, sink)
	s.Advance(t0+10*minute, sink)
	fmt.Println("pending:", s.Pending())

	s.AddOutcome(join.Outcome{Key: a, Model: fraud, TimeMs: t0 + 20*minute, Label: true}, sink)
	s.AddOutcome(join.Outcome{Key: a, Model: fraud, TimeMs: t0 + 20*minute, Label: true}, sink) // redelivered
	s.Advance(t0+2*time.Hour.Milliseconds(), sink)
	fmt.Println("pending:", s.Pending())
	// Output:
	// pending: 2
	// joined: model 0, label delay 20m0s, score 0.87, predicted true, label true
	// duplicate outcome, model 0
	// expired unlabelled, model 0 at 21:31:00
	// pending: 0
}
