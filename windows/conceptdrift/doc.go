// Package conceptdrift detects changes in a model's error rate, one
// observation at a time, on the joined error stream: 1 when a labelled
// prediction was misclassified, 0 when it was right.
//
// Three detectors are provided, each a faithful port of River's (River 0.26,
// the Python online-learning library) with River's defaults, and each
// documented with where and why it departs from River:
//
//   - [ADWIN]: adaptive windowing (Bifet & Gavaldà 2007) with the
//     exponential-histogram bucket compression of ADWIN2;
//   - [DDM]: the Drift Detection Method (Gama et al. 2004);
//   - [PageHinkley]: the Page-Hinkley test (Page 1954), two-sided by default.
//
// All three implement [Detector]. Their Name is the value of the Prometheus
// label `detector` on reckon_concept_drift_active and
// reckon_concept_drift_total. [New] builds one by name with defaults;
// NewADWIN, NewDDM and NewPageHinkley take functional options.
//
// # Drift, and "in drift"
//
// Update returns true exactly at the observation where a change is detected;
// that is what reckon_concept_drift_total counts. Like River, every detector
// then starts afresh: the next Update first discards the old statistics, so
// one change is reported once rather than again and again while old data
// drains out.
//
// InDrift backs the reckon_concept_drift_active gauge. A detector is in
// drift from the observation at which it detected a change through the
// next Hold−1 observations, that is for Hold observations in all ([Hold],
// default [DefaultHold] = 1000); a further detection inside that span starts
// it again. The span is counted in observations, not in time, so that it is
// part of the checkpointed state and a restored detector answers exactly as
// an uninterrupted one would; at a model's outcome rate it corresponds to a
// time (1000 outcomes is 10 s at 100/s, or 10 h at 100/h), so pick Hold per
// model if the gauge must stay up for a given time.
//
// # Order, determinism, checkpoints
//
// Detectors are sequential: unlike the sketches elsewhere in reckon they
// cannot be merged, and their answer depends on the order of observations.
// For results to be identical however many members share the work
// (docs/semantics.md), feed one model's detector from one place, in a deterministic order
// (for instance by outcome time, then prediction_id).
//
// Each detector serialises its parameters and complete state with
// MarshalBinary (a four-byte magic, a detector kind byte and a version byte,
// then the fields) for checkpointing to Kafka. UnmarshalBinary restores both
// parameters and state into a detector of the same kind; [Unmarshal] builds
// the right kind from the bytes. A restored detector continues bit for bit
// as the original would. The arithmetic is written so that no fused
// multiply-add can form (explicit float64 conversions), so it gives the same
// bits on every platform Go supports.
//
// Non-finite observations (NaN, ±Inf) are ignored: Update returns false and
// changes nothing, not even the InDrift span. River would let them poison
// its statistics.
//
// # Concurrency and allocation
//
// A detector is not safe for concurrent use: it is owned by one goroutine.
// There are no locks and no package-level mutable state. Update does not
// allocate in steady state (ADWIN's bucket rows are preallocated and reused;
// they grow, rarely, only when the window doubles past what was reserved).
package conceptdrift
