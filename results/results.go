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
