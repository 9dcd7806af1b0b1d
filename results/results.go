// Package results is the wire format of the results topic (DESIGN.md §3):
// one JSON record per model, window length and window start, written once
// when the window closes, keyed by model.
//
// The fields below are the stable core plus documented additions; consumers
// must ignore fields they do not know, as reckon ignores unknown input
// fields.
package results

import (
	"encoding/json"
	"time"
)

// Record is one closed window of one model.
type Record struct {
	Model  string    `json:"model"`
	Window string    `json:"window"` // the window length as written in the configuration
	Start  time.Time `json:"start"`  // inclusive, UTC
	End    time.Time `json:"end"`    // exclusive, UTC

	// Predictions counts prediction events (ok and error) by prediction
	// time in [Start, End); Errors those with status "error".
	Predictions uint64 `json:"predictions"`
	Errors      uint64 `json:"errors"`
	// Outcomes counts valid outcome events by outcome time in the window.
	Outcomes uint64 `json:"outcomes"`

	// Confusion counts the outcomes joined to their predictions, by
	// outcome time in the window.
	Confusion Confusion `json:"confusion"`
	// Rates are computed over Confusion and the joined scores; a rate
	// whose denominator is zero is absent.
	Rates Rates `json:"rates"`
	// Estimated holds rates estimated from the calibrated scores of the
	// window's ok predictions (by prediction time), before labels.
	Estimated Rates `json:"estimated"`
}

// Confusion is a confusion matrix.
type Confusion struct {
	TP uint64 `json:"tp"`
	FP uint64 `json:"fp"`
	TN uint64 `json:"tn"`
	FN uint64 `json:"fn"`
}

// Rates are per-window performance figures. Nil means not measurable.
type Rates struct {
	FPR       *float64 `json:"fpr,omitempty"`
	TPR       *float64 `json:"tpr,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	AUC       *float64 `json:"auc,omitempty"`
	Brier     *float64 `json:"brier,omitempty"`
	ECE       *float64 `json:"ece,omitempty"`
}

// Opt returns &v when ok, else nil: for optional rates.
func Opt(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// Marshal encodes r with times in RFC 3339, UTC.
func Marshal(r *Record) ([]byte, error) {
	c := *r
	c.Start, c.End = c.Start.UTC(), c.End.UTC()
	return json.Marshal(&c)
}

// Unmarshal decodes a results-topic record.
func Unmarshal(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
