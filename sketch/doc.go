// Package sketch holds reckon's mergeable, serialisable summaries of feature
// values and the drift statistics between two of them.
//
// A Numeric summarises a numeric feature (or the model score) in one window
// pane: a merging t-digest for quantiles and the CDF, an optional histogram
// on fixed edges for PSI and Jensen–Shannon, and exact counts (finite,
// missing, NaN, ±Inf), extremes, mean and variance. Features with at most
// 128 distinct values are held exactly. A Categorical summarises a
// categorical feature: exact counts up to a cap, an "other" count beyond it,
// and a HyperLogLog of the distinct values.
//
// Both are built for a stream processor's hot path and its exactly-once
// checkpoints: Add does not allocate in steady state, Merge combines the
// partial sketches of several partitions or members, and MarshalBinary /
// UnmarshalBinary are lossless, versioned and safe on arbitrary input. The
// state of a sketch is a deterministic function of the calls made on it, so a
// sketch restored from a checkpoint and fed the same records ends up
// identical to one that never stopped.
//
// The statistics compare a reference sketch with a current one: KS (with
// its asymptotic p-value), PSI, the normalised Wasserstein distance and the
// Jensen–Shannon distance for numeric features; CategoricalPSI,
// CategoricalJS and ChiSquare for categorical ones. NumericDrift,
// CategoricalDrift and DatasetDrift turn them into drift decisions with
// Evidently's defaults. sketch/accuracy_test.go measures every statistic
// against exact computations on the raw values and logs the errors as a
// markdown table.
//
// The package has no global mutable state and imports nothing of Kafka or
// Prometheus.
package sketch
