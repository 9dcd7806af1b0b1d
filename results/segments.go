package results

// Segments is one segment feature's split of a window (the model's
// `segments` configuration): each value kept apart, and "other" for the
// rest (values beyond max_values, missing values, and the value "other").
type Segments struct {
	// Overflow counts the predictions under "other" because their value
	// was beyond max_values.
	Overflow uint64 `json:"overflow"`
	// Values holds each segment's figures, by value.
	Values map[string]Segment `json:"values"`
}

// Segment is one value's figures in a window: the record's own figures
// over the predictions with that value (by prediction time) and the
// outcomes joined to them (by outcome time).
type Segment struct {
	Predictions uint64 `json:"predictions"`
	Errors      uint64 `json:"errors"`
	// Outcomes counts the outcomes joined to the segment's predictions, by
	// outcome time (an outcome has a segment only through its prediction).
	Outcomes  uint64    `json:"outcomes"`
	Confusion Confusion `json:"confusion"`
	Rates     Rates     `json:"rates"`
	Estimated Rates     `json:"estimated"`
	// StandardError is as the record's, over the segment.
	StandardError *StandardErrors `json:"standard_error,omitempty"`
	// PredictionDrift compares the segment's scores with the same
	// segment's in a stream reference (absent without one, or when the
	// reference did not keep the value apart).
	PredictionDrift map[string]float64 `json:"prediction_drift,omitempty"`
	// RateRatio is the segment's rate over the model's, for fpr and tpr,
	// where both are defined and the model's is not 0: the equalised-odds
	// view of a binary model.
	RateRatio map[string]float64 `json:"rate_ratio,omitempty"`
}
